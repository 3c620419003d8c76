"""`sarcgen generate` end to end: the real llama-cpp-python on the tiny GGUF, through the CLI.

Random weights write gibberish, so these tests check structure, provenance, counts and resume. The
tiny model ends its replies by itself (see devtools.tiny_gguf), so the real parser is used as is.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sarcgen.jsonl import read_jsonl
from sarcgen.records import Rejection, Review
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "recipes" / "smoke.yaml")


def sub_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra}
    return env


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# -- fast, no model ------------------------------------------------------------------------------


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys, time; t = time.perf_counter(); from sarcgen.cli import _register, cli; _register(); "
            "print(round(time.perf_counter() - t, 3)); "
            "print([m for m in ('torch', 'transformers', 'datasets', 'llama_cpp', 'gguf', 'huggingface_hub') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=sub_env(), check=True).stdout
    seconds, heavy = out.splitlines()
    assert heavy == "[]", f"importing the CLI pulled in {heavy}"
    # Speed itself is a benchmark's business: what keeps --help fast is that nothing heavy is imported.
    help_out = subprocess.run([sys.executable, "-m", "sarcgen.cli", "generate", "--help"], capture_output=True,
                              text=True, env=sub_env(), check=True).stdout
    for flag in ("--recipe", "--n", "--model", "--seed", "--out", "--dry-run", "--threads", "--template",
                 "--temperature", "--max-tokens", "--twin-ratio", "--backend", "--base-url", "--parallel", "--shard"):
        assert flag in help_out


def test_dry_run_prints_prompts_without_a_model(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["generate", "-r", SMOKE, "--model", str(tmp_path / "absent.gguf"), "--dry-run",
                              "--dry-run-items", "2", "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert out.count("=====") == 2 and "--- system" in out and "no model loaded" in out
    assert not (tmp_path / "run").exists()


def test_fake_backend_through_cli(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(["generate", "-r", SMOKE, "--backend", "fake", "--n", "4", "--out", str(tmp_path / "r"), "-q"], capsys)
    assert code == 0, err
    assert "4/4 accepted" in out and len(lines(tmp_path / "r" / "generated.jsonl")) == 4


def test_bad_flags_and_recipe(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("generate:\n  sampling:\n    temprature: 0.5\n")
    code, _, err = run_cli(["generate", "-r", str(bad), "--dry-run"], capsys)
    assert code == 2 and "temprature" in err and "bad.yaml:3" in err
    code, _, err = run_cli(["generate", "-r", SMOKE, "--dry-run", "--shard", "3/2"], capsys)
    assert code == 2 and "shard" in err


def test_not_a_gguf_and_truncated(tmp_path: Path, tiny_gguf: Path, capsys) -> None:
    html = tmp_path / "model.gguf"
    html.write_text("<html>rate limited</html>")
    code, out, err = run_cli(["generate", "-r", SMOKE, "--model", str(html), "--out", str(tmp_path / "a"), "-q"], capsys)
    assert code == 3 and "is not a GGUF file" in err and "Traceback" not in err
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    code, out, err = run_cli(["generate", "-r", SMOKE, "--model", str(cut), "--out", str(tmp_path / "b"), "-q"], capsys)
    assert code == 3 and "truncated" in err and "Traceback" not in err


def test_offline_hub_model_is_one_clear_line(tmp_path: Path) -> None:
    env = sub_env(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), SARCGEN_CACHE_DIR=str(tmp_path / "c"))
    env.pop("HF_HUB_CACHE", None)
    for model_args in (["--model", "someone/absent-GGUF:absent-Q4_K_M.gguf"], []):
        p = subprocess.run([sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, *model_args, "--n", "1",
                            "--out", str(tmp_path / "run"), "-q"], capture_output=True, text=True, env=env, timeout=120)
        assert p.returncode == 3, p.stderr
        err_lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(err_lines) == 1 and err_lines[0].startswith("Error: model "), p.stderr
        assert "Traceback" not in p.stderr and "--model PATH.gguf" in p.stderr
    assert "unsloth/Qwen3-4B-Instruct-2507-GGUF:Qwen3-4B-Instruct-2507-Q4_K_M.gguf" in p.stderr  # the default


# -- the real llama-cpp-python path on the tiny GGUF ------------------------------------------------


@pytest.mark.llama
def test_real_llama_end_to_end_and_resume(tmp_path: Path, tiny_gguf: Path, llama_cpp, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SARCGEN_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "run"
    args = ["generate", "-r", SMOKE, "--model", str(tiny_gguf), "--out", str(out), "--threads", "2", "-q"]
    code, stdout, err = run_cli(args + ["--n", "6"], capsys)
    assert code == 0, err
    assert "6/6 accepted" in stdout and "tok/s" in stdout
    recs = [Review.model_validate(r) for r in read_jsonl(out / "generated.jsonl")]
    rejs = [Rejection.model_validate(r) for r in read_jsonl(out / "rejected.jsonl")]
    m = json.loads((out / "manifest.json").read_text())
    sha = hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()
    assert len(recs) == 6 == m["accepted"] and len({r.id for r in recs}) == 6
    assert m["status"] == "complete" and m["rejected"] == len(rejs) == sum(m["counts"]["reasons"].values())
    assert m["model"]["sha256"] == sha and m["model"]["quantization"] == "F16" and m["model"]["chat_template"] == "gguf"
    assert m["tokens"]["completion"] > 0 and m["tokens"]["tokens_per_s"] > 0
    for r in recs:
        p = r.provenance
        assert (p.model_file, p.model_sha256, p.quantization) == (tiny_gguf.name, sha, "F16")
        assert p.backend == "llamacpp" and p.backend_version == llama_cpp.__version__
        assert p.recipe_hash == m["recipe_hash"] and p.template_hash == m["template"]["sha256"]
        assert p.sampling["max_tokens"] == 120 and r.text.strip() == r.text and r.text
    assert (out / "recipe.yaml").read_text().count("path: " + str(tiny_gguf)) == 1
    before = (out / "generated.jsonl").read_text()
    code, stdout, err = run_cli(args + ["--n", "9"], capsys)
    assert code == 0 and "Resumed: 9/9 accepted (3 new)" in stdout
    after = (out / "generated.jsonl").read_text()
    assert after.startswith(before) and len({json.loads(x)["id"] for x in after.splitlines()}) == 9
    # a different seed into the same folder is refused
    code, _, err = run_cli(args + ["--n", "9", "--seed", "99"], capsys)
    assert code == 2 and "another recipe" in err


@pytest.mark.llama
def test_real_llama_same_seed_same_texts(tmp_path: Path, tiny_gguf: Path, llama_cpp, capsys) -> None:
    texts = []
    for name in ("a", "b"):
        code, _, err = run_cli(["generate", "-r", SMOKE, "--model", str(tiny_gguf), "--n", "4", "--seed", "3",
                                "--out", str(tmp_path / name), "--threads", "2", "-q"], capsys)
        assert code == 0, err
        texts.append([(r["id"], r["text"]) for r in read_jsonl(tmp_path / name / "generated.jsonl")])
    assert texts[0] == texts[1]


@pytest.mark.llama
def test_hub_cached_model_offline(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    from tests.factories import fake_hub_cache

    fake_hub_cache(tmp_path / "hf", "someone/tiny-GGUF", "tiny.gguf", tiny_gguf)
    env = sub_env(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), SARCGEN_CACHE_DIR=str(tmp_path / "c"))
    env.pop("HF_HUB_CACHE", None)
    p = subprocess.run([sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, "--model", "someone/tiny-GGUF:tiny.gguf",
                        "--n", "2", "--out", str(tmp_path / "run"), "--threads", "2", "-q"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["model"]["source"] == "hub:someone/tiny-GGUF:tiny.gguf" and m["accepted"] == 2


def _start(tmp_path: Path, tiny_gguf: Path, out: Path, n: int) -> subprocess.Popen:
    env = sub_env(SARCGEN_CACHE_DIR=str(tmp_path / "c"))
    # One llama.cpp thread: its spinning workers must not starve this test process on 2 cores.
    return subprocess.Popen([sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, "--model", str(tiny_gguf),
                             "--n", str(n), "--out", str(out), "--threads", "1", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            # A suite started in the background inherits SIGINT ignored, and Python
                            # then installs no KeyboardInterrupt handler: give the child the default.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_lines(path: Path, proc: subprocess.Popen, k: int, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while len(lines(path)) < k:
        assert proc.poll() is None, f"finished before it could be stopped: {proc.stderr.read()}"
        assert time.monotonic() < end, "no progress"
        time.sleep(0.05)


@pytest.mark.llama
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path: Path, tiny_gguf: Path, llama_cpp, sig) -> None:
    out, n = tmp_path / "run", 300
    gen = out / "generated.jsonl"
    proc = _start(tmp_path, tiny_gguf, out, n)
    _wait_for_lines(gen, proc, 12)
    assert proc.poll() is None
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    raw = gen.read_bytes()
    durable = raw[: raw.rfind(b"\n") + 1]  # a partial last line was never acknowledged
    saved = [json.loads(x)["id"] for x in durable.decode().splitlines()]
    assert 12 <= len(saved) < n
    if sig in (signal.SIGINT, signal.SIGTERM):  # SIGTERM (a scheduler's stop) is handled like Ctrl-C
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
        assert "re-run the same command to resume" in err and "Traceback" not in err
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    else:
        assert proc.returncode == -signal.SIGKILL
    proc = _start(tmp_path, tiny_gguf, out, n)
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    final = gen.read_bytes()
    assert final.startswith(durable)  # nothing accepted before the kill was lost or rewritten
    ids = [json.loads(x)["id"] for x in final.decode().splitlines()]
    assert len(ids) == n == len(set(ids))
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["accepted"] == n
