"""`sarcgen review`: registered, out of `--help`'s import path, and one-line errors for bad input."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_review_without_importing_the_web_stack() -> None:
    code = ("import sys; from sarcgen.cli import _register, cli; _register(); "
            "print([m for m in ('fastapi', 'uvicorn', 'starlette', 'sarcgen.review', 'sarcgen.review.app') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]", f"importing the CLI pulled in {out}"
    help_out = subprocess.run([sys.executable, "-m", "sarcgen.cli", "review", "--help"], capture_output=True, text=True,
                              check=True, cwd=REPO).stdout
    for flag in ("--host", "--port", "--no-browser", "--reviewer"):
        assert flag in help_out


def test_a_missing_run_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["review", str(tmp_path / "nope"), "--no-browser"], capsys)
    assert code == 2 and "no such run folder" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _out, err = run_cli(["review", str(tmp_path / "empty"), "--no-browser"], capsys)
    assert code == 2 and "no records to review" in err


def test_a_taken_port_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.factories import make_run

    run = make_run(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _out, err = run_cli(["review", str(run), "--port", str(port), "--no-browser"], capsys)
    assert code == 2 and f"--port {port}: cannot listen there" in err and "--port 0" in err
