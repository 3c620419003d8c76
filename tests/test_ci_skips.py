"""Under CI=true a skipped test fails (tests/conftest.py), so CI cannot pass without showing a behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("ci", "expect"), [("true", "1 failed"), ("", "1 skipped")])
def test_a_skip_is_a_failure_under_ci(tmp_path: Path, ci: str, expect: str) -> None:
    probe = REPO / "tests" / f"test_zz_probe_{tmp_path.name}.py"
    probe.write_text("import pytest\n\ndef test_probe():\n    pytest.skip('needs a thing this machine lacks')\n")
    try:
        env = {"PATH": "/usr/bin:/bin", "CI": ci, "HOME": str(tmp_path)}
        proc = subprocess.run([sys.executable, "-m", "pytest", str(probe), "-q", "-p", "no:cacheprovider"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        probe.unlink()
    assert expect in proc.stdout, proc.stdout
    if ci:
        assert "skipped under CI=true, so its behaviour was not shown: Skipped: needs a thing" in proc.stdout
