"""The built wheel works on its own: templates ship as package data, scipy is declared.

The wheel is built from a copy of the source tree and installed with `pip --no-deps` into a fresh
virtual environment that sees this environment's third-party packages through a .pth file (so
nothing is downloaded, torch least of all) but not the source tree: no PYTHONPATH, another cwd,
and the editable install's finder is not run (a .pth-listed folder's own .pth files are not read).
From there, through the installed `sarcgen` script: generate --dry-run (the review template),
generate with the fake backend, filter (scipy, the judge template with --judge) and publish (the
dataset card template).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.factories import GOOD_SARCASTIC, GOOD_SINCERE

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a wheel build, a venv and six CLI runs: about a minute on 2 busy cores

# Generation goes through the installed package with a fake backend that cycles real-looking reviews.
DRIVER = """
import json, sys
from sarcgen.backends import BACKENDS
from sarcgen.backends.fake import FakeBackend
from sarcgen.cli import main

replies = json.loads(sys.argv[1])
BACKENDS["fake"] = lambda recipe, spec=None: FakeBackend(replies)
main(sys.argv[2:])
"""


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(ROOT / "sarcgen", src / "sarcgen", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
                   check=True, cwd=tmp, env=_clean_env())
    (wheel,) = dist.glob("sarcgen-*.whl")
    return wheel


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_NO_INDEX"] = "1"  # nothing from the network, whatever pip is asked
    return env


def _venv_with_wheel(tmp: Path, wheel: Path) -> Path:
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, env=_clean_env()).stdout.strip()
    # The dependencies (and only the dependencies: sarcgen's editable finder is a .pth that this does not run).
    Path(site, "_sarcgen_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, cwd=tmp, env=_clean_env())
    return env_dir


def _run(cmd: list[str], cwd: Path) -> str:
    out = subprocess.run(cmd, cwd=cwd, env={**_clean_env(), "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{cmd[1:3]} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def test_wheel_installs_and_runs_every_stage_without_the_source_tree(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    env_dir = _venv_with_wheel(tmp_path, wheel)
    python, sarcgen = str(env_dir / "bin" / "python"), str(env_dir / "bin" / "sarcgen")
    work = tmp_path / "work"
    work.mkdir()

    probe = _run([python, "-c", "import importlib.metadata as m, importlib.resources as r, json, sarcgen; print(json.dumps("
                  "{'file': sarcgen.__file__, 'requires': m.requires('sarcgen'), "
                  "'templates': sorted(p.name for p in r.files('sarcgen').joinpath('templates').iterdir())}))"], work)
    info = json.loads(probe.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(env_dir), info["file"]  # the wheel's copy, not /work/... sources
    assert any(req.startswith("scipy") and "extra ==" not in req for req in info["requires"]), info["requires"]
    assert {"review.j2", "judge.j2", "dataset_card.md.j2"} <= set(info["templates"])

    recipe = work / "smoke.yaml"
    shutil.copy(ROOT / "recipes" / "smoke.yaml", recipe)
    dry = _run([sarcgen, "generate", "-r", str(recipe), "--dry-run", "--n", "2"], work)
    assert "review" in dry.lower() and "Traceback" not in dry

    replies = [t for *_, t in GOOD_SARCASTIC] + [t for *_, t in GOOD_SINCERE]
    (work / "driver.py").write_text(DRIVER, encoding="utf-8")
    run_dir = work / "run"
    _run([python, "driver.py", json.dumps(replies), "generate", "-r", str(recipe), "--backend", "fake", "--n", "16",
          "--out", str(run_dir), "-q"], work)
    _run([sarcgen, "filter", str(run_dir), "-q"], work)
    kept = (run_dir / "filtered.jsonl").read_text(encoding="utf-8").splitlines()
    assert kept, "the filter kept nothing"
    # advisory: the fake judge fails its calibration; its verdicts are recorded, nothing is dropped
    _run([python, "driver.py", json.dumps(replies), "filter", str(run_dir), "--judge", "--judge-mode", "advisory",
          "--out", str(work / "judged"), "-q"], work)
    assert (work / "judged" / "judge_disagreements.jsonl").is_file()

    _run([sarcgen, "publish", str(run_dir)], work)
    cards = list(run_dir.rglob("README.md"))
    assert cards and "sarc" in cards[0].read_text(encoding="utf-8").lower()
