"""sarcgen.backends.llamacpp_log: llama.cpp's log lines go to the run folder's generate.log, not the
terminal (`sarcgen -v` shows them again), and a failed load says what llama.cpp said.

The GGUF is the tiny Qwen3 with its specials typed NORMAL, as some converted models ship: llama.cpp
then warns "control-looking token ... was not control-type" on every load (the tiny test GGUF,
SmolLM2-135M and the Qwen3-0.6B bench model type them CONTROL and never trigger it)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sarcgen.backends.llamacpp_log import LogRouter, route_llama_logs
from sarcgen.backends.llamacpp_lowlevel import load_model
from sarcgen.errors import ModelError
from sarcgen.quiet import HUB_ENV, QUIET_ENV, VERBOSE_ENV
from tests.cli_helpers import LIBRARY_MARKERS

REPO = Path(__file__).resolve().parents[2]
CONTROL = "control-looking token"


@pytest.fixture(scope="module")
def mistyped_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sarcgen.devtools.tiny_gguf import write_tiny_qwen3_gguf

    return write_tiny_qwen3_gguf(tmp_path_factory.mktemp("gguf") / "mistyped.gguf", specials_normal=True)


def test_router_assembles_lines_and_maps_levels(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    router = LogRouter()
    pieces = [(2, "llama_model_loader: loaded meta data\n"), (3, "load: control-looking token: 12 '<|im_end|>'\n"),
              (2, "load_tensors: "), (5, "."), (5, "..done\n"), (4, "llama_model_load: error loading model\n"),
              (2, "two\nlines\n")]
    with caplog.at_level(logging.DEBUG, logger="sarcgen.backends.llamacpp"):
        for level, text in pieces:
            router(level, text.encode())
    got = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert got == [(logging.DEBUG, "llama.cpp: llama_model_loader: loaded meta data"),
                   (logging.WARNING, "llama.cpp: load: control-looking token: 12 '<|im_end|>'"),
                   (logging.DEBUG, "llama.cpp: load_tensors: ...done"),
                   (logging.ERROR, "llama.cpp: llama_model_load: error loading model"),
                   (logging.DEBUG, "llama.cpp: two"), (logging.DEBUG, "llama.cpp: lines")]
    assert router.failure_detail() == ("; llama.cpp said: load: control-looking token: 12 '<|im_end|>' | "
                                       "llama_model_load: error loading model")
    assert capsys.readouterr().err == ""
    router.echo = True
    router(2, b"shown\n")
    assert capsys.readouterr().err == "shown\n"
    router.clear()
    assert router.failure_detail() == ""


def test_failed_load_says_what_llama_cpp_said(tmp_path: Path, llama_cpp) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)  # a GGUF magic, then nonsense counts
    router = route_llama_logs(llama_cpp)
    with pytest.raises(ModelError) as err:
        load_model(llama_cpp, bad, 0, router.failure_detail)
    assert f"llama.cpp could not load {bad}; llama.cpp said: " in err.value.message


def _env(tmp_path: Path) -> dict[str, str]:
    """This environment without what an in-process CLI test may have set (quiet variables, -v)."""
    drop = {*QUIET_ENV, HUB_ENV, VERBOSE_ENV}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "SARCGEN_CACHE_DIR": str(tmp_path / "cache")}


def _generate(tmp_path: Path, gguf: Path, parallel: int, *flags: str) -> tuple[str, Path]:
    out = tmp_path / f"run{parallel}{''.join(flags)}"
    done = subprocess.run([sys.executable, "-m", "sarcgen.cli", *flags, "generate", "-r", str(REPO / "recipes" / "smoke.yaml"),
                           "--model", str(gguf), "--n", "2", "--parallel", str(parallel), "--threads", "1", "--out", str(out)],
                          capture_output=True, text=True, env=_env(tmp_path), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2/2 accepted" in done.stdout
    return done.stdout + done.stderr, out / "generate.log"


@pytest.mark.llama
@pytest.mark.parametrize("parallel", [1, 2], ids=["sequential", "batched"])
def test_generate_keeps_llama_cpp_lines_in_the_run_log(tmp_path: Path, mistyped_gguf: Path, parallel: int) -> None:
    terminal, log = _generate(tmp_path, mistyped_gguf, parallel)
    assert [m for m in LIBRARY_MARKERS if m in terminal] == []
    assert f"WARNING llama.cpp: load: {CONTROL}:" in log.read_text()


@pytest.mark.llama
def test_verbose_shows_llama_cpp_lines_again(tmp_path: Path, mistyped_gguf: Path) -> None:
    terminal, log = _generate(tmp_path, mistyped_gguf, 2, "-v")
    assert CONTROL in terminal and "llama_model_loader" in terminal
    assert CONTROL in log.read_text()
