"""Helpers shared by the CLI tests (imported as a plain module: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import pytest

from sarcgen.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `sarcgen ARGV` in-process the way the console script does: (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# What the libraries print when sarcgen does not silence them (datasets, transformers, llama.cpp):
# a stage's terminal output must hold none of these unless `sarcgen -v` (tests/test_quiet.py).
LIBRARY_MARKERS = ("Creating parquet from Arrow format", "Saving the dataset", "Loading weights", "Writing model shards",
                   "control-looking token", "llama_model_loader", "load_tensors")
