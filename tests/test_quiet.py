"""sarcgen.quiet: real stages print sarcgen's lines, not the libraries' bars (unless -v); the
switches themselves, on stand-in modules so this test process keeps its own settings."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from sarcgen import quiet
from tests.cli_helpers import LIBRARY_MARKERS as MARKERS
from tests.factories import make_run

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    """This environment without the variables an in-process CLI test may have set, plus a private cache."""
    env = {k: v for k, v in os.environ.items() if k not in quiet.QUIET_ENV and k not in (quiet.HUB_ENV, quiet.VERBOSE_ENV)}
    return {**env, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")}


def _sarcgen(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "sarcgen.cli", *argv], capture_output=True, text=True,
                          env=_env(tmp_path), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_publish_prints_no_dataset_bars_unless_verbose(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    done = _sarcgen(["publish", str(run), "--out", str(tmp_path / "quiet")], tmp_path)
    assert "published 64 reviews" in done.stdout
    assert [m for m in MARKERS if m in done.stdout + done.stderr] == []
    loud = _sarcgen(["-v", "publish", str(run), "--out", str(tmp_path / "loud")], tmp_path)
    assert "Creating parquet" in loud.stderr and "Saving the dataset" in loud.stderr


# What the CLI group does, then a stage's transformers calls: save_pretrained (write_tiny_bert)
# and from_pretrained (`sarcgen predict`); last, the hub's switches as the stage left them.
TRANSFORMERS_STAGE = """
import sys
from sarcgen.cli import main
from sarcgen.devtools.tiny_bert import write_tiny_bert
from sarcgen.quiet import quiet_libraries

verbose = sys.argv[1] == "verbose"
quiet_libraries(verbose)
write_tiny_bert(sys.argv[2])
main((["-v"] if verbose else []) + ["predict", "-m", sys.argv[2], "Great film, if you like naps."])
from huggingface_hub.utils import are_progress_bars_disabled
print("hub bars off:", are_progress_bars_disabled(), "downloads off:", are_progress_bars_disabled("huggingface_hub.http_get"))
"""


@pytest.mark.parametrize("mode", ["quiet", "verbose"])
def test_transformers_bars_follow_the_flag(tmp_path: Path, mode: str) -> None:
    done = subprocess.run([sys.executable, "-c", TRANSFORMERS_STAGE, mode, str(tmp_path / "bert")], capture_output=True,
                          text=True, env=_env(tmp_path), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "P(neg)=" in done.stdout
    shown = [m for m in MARKERS if m in done.stderr]
    if mode == "quiet":
        assert shown == []
        assert "hub bars off: True downloads off: False" in done.stdout  # a big download still shows its bar
    else:
        assert shown == ["Loading weights", "Writing model shards"]
        assert "hub bars off: False downloads off: False" in done.stdout


def test_quiet_imports_no_heavy_library(tmp_path: Path) -> None:
    code = ("from sarcgen.quiet import quiet_libraries; quiet_libraries(False); import sys; "
            "print([m for m in ('datasets', 'transformers', 'torch', 'llama_cpp') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path), cwd=REPO,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """No quiet variables set, no switches flipped yet, and stand-ins for loaded libraries that
    record which switch was called."""
    for name in [*quiet.QUIET_ENV, quiet.HUB_ENV, quiet.VERBOSE_ENV]:
        monkeypatch.setenv(name, "")  # recorded, so what a test sets is undone after it
        monkeypatch.delenv(name)
    monkeypatch.setattr(quiet, "_set_here", set())
    hub: list[str] = []
    monkeypatch.setattr(quiet, "_hub_bars", lambda *, quiet: hub.append("off" if quiet else "on"))
    calls: dict[str, list[str]] = {"hub": hub}
    stand_ins: dict[str, types.SimpleNamespace] = {}
    for module, quiet_fn, verbose_fn, _ in quiet._SWITCHES:
        calls.setdefault(module, [])
        stand_in = stand_ins.setdefault(module, types.SimpleNamespace())
        for fn in (quiet_fn, verbose_fn):
            setattr(stand_in, fn, lambda fn=fn, module=module: calls[module].append(fn))
        monkeypatch.setitem(sys.modules, module, stand_in)
    return calls


def test_quiet_sets_variables_and_flips_loaded_switches(clean: dict[str, list[str]]) -> None:
    quiet.quiet_libraries(verbose=False)
    assert {k: os.environ[k] for k in quiet.QUIET_ENV} == quiet.QUIET_ENV
    assert quiet.HUB_ENV not in os.environ  # it would hide download bars too
    assert clean["datasets.utils.tqdm"] == ["disable_progress_bars"]
    assert clean["transformers.utils.logging"] == ["set_verbosity_error", "disable_progress_bar"]
    assert clean["hub"] == ["off"]
    quiet.quiet_libraries(verbose=True)  # undoes it, in this process
    assert not any(k in os.environ for k in quiet.QUIET_ENV)
    assert clean["datasets.utils.tqdm"][-1] == "enable_progress_bars" and clean["hub"][-1] == "on"


def test_the_users_settings_win(clean: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "0")
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    monkeypatch.setenv(quiet.HUB_ENV, "0")
    quiet.quiet_libraries(verbose=False)
    assert os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] == "0" and os.environ["TRANSFORMERS_VERBOSITY"] == "info"
    assert clean["datasets.utils.tqdm"] == [] and clean["transformers.utils.logging"] == [] and clean["hub"] == []
    assert clean["datasets.utils.logging"] == ["set_verbosity_error"]
    quiet.quiet_libraries(verbose=True)
    assert os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] == "0"  # not ours to remove


def test_verbose_alone_changes_nothing(clean: dict[str, list[str]]) -> None:
    quiet.quiet_libraries(verbose=True)
    assert not any(k in os.environ for k in quiet.QUIET_ENV)
    assert all(calls == [] for calls in clean.values())


def test_verbose_is_passed_on_to_llama_cpp_and_child_processes(clean: dict[str, list[str]],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    quiet.quiet_libraries(verbose=True)
    assert os.environ[quiet.VERBOSE_ENV] == "1" and quiet.verbose_requested()
    quiet.quiet_libraries(verbose=False)  # the next in-process command, without -v
    assert quiet.VERBOSE_ENV not in os.environ and not quiet.verbose_requested()
    monkeypatch.setenv(quiet.VERBOSE_ENV, "1")  # the user's own: kept
    quiet.quiet_libraries(verbose=False)
    assert quiet.verbose_requested()
