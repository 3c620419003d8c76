"""`sarcgen run` is a loop over the stages' `Stage` objects: it asks each one whether its recorded
completion still holds and runs it otherwise, and it knows nothing else about a stage."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from sarcgen import pipeline
from sarcgen import runfolder as rf
from sarcgen.recipe import Recipe
from sarcgen.stage import Inputs, NotReady, Stage
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[1]
STAGE_PACKAGES = ("generate", "filter", "publish", "finetune")
WHY_CURRENT = "complete, inputs unchanged"  # what `rf.stage_is_current` says of a stage it skips


def fake_stage(name: str, calls: list[str], ready: bool = True) -> Stage:
    """A stage that records every question asked of it and, when run, its completion (as real ones do)."""

    def preflight(recipe: Recipe) -> None:
        calls.append(f"preflight {name}")

    def inputs(recipe: Recipe, run: Path) -> Inputs | NotReady:
        calls.append(f"inputs {name}")
        return {"upstream": "abc"} if ready else NotReady("nothing to read yet")

    def settings_hash(recipe: Recipe, run: Path) -> str:
        calls.append(f"settings {name}")
        return "s1"

    def run(recipe: Recipe, folder: Path, progress: bool) -> tuple[str, str]:
        calls.append(f"run {name}")
        found = inputs(recipe, folder)
        if not isinstance(found, NotReady):
            folder.mkdir(parents=True, exist_ok=True)
            rf.record_stage(folder, name, inputs=found, settings=settings_hash(recipe, folder), outputs=[])
        return "ran", f"{name} done"

    return Stage(name, preflight, inputs, settings_hash, run)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The four stages replaced by fakes that share one call log."""
    calls: list[str] = []
    monkeypatch.setattr(pipeline, "PIPELINE", tuple(fake_stage(name, calls) for name in pipeline.STAGES))
    return calls


def test_sarcgen_run_asks_each_stage_then_skips_what_is_current(fakes: list[str], tmp_path: Path, capsys) -> None:
    recipe = tmp_path / "study.yaml"
    recipe.write_text("name: study\n")
    argv = ["run", str(recipe), "--out", str(tmp_path / "run"), "-q"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert fakes[:4] == [f"preflight {n}" for n in pipeline.STAGES]  # every preflight before the first stage
    assert [c for c in fakes if c.startswith("run")] == [f"run {n}" for n in pipeline.STAGES]
    assert [line for line in out.splitlines() if line.startswith("[")] == [f"[{n}] ran: {n} done" for n in pipeline.STAGES]
    fakes.clear()
    code, out, err = run_cli(argv + ["--skip", "finetune"], capsys)
    assert code == 0, err
    assert not [c for c in fakes if c.startswith("run")] and "preflight finetune" not in fakes
    assert [c for c in fakes if not c.startswith("preflight")] == [  # each asked whether its record holds
        f"{q} {n}" for n in pipeline.STAGES[:3] for q in ("inputs", "settings")]
    assert [line for line in out.splitlines() if line.startswith("[")] == [
        *(f"[{n}] skipped: {WHY_CURRENT} ({rf.MANIFEST})" for n in pipeline.STAGES[:3]), "[finetune] skipped: --skip"]
    fakes.clear()
    code, out, err = run_cli(argv + ["--force", "publish"], capsys)  # and every stage after it
    assert code == 0, err
    assert [c for c in fakes if c.startswith("run")] == ["run publish", "run finetune"]


def test_a_stage_that_is_not_ready_runs(tmp_path: Path) -> None:
    calls: list[str] = []
    stage = fake_stage("publish", calls, ready=False)
    assert stage.current(Recipe(), tmp_path) == (False, "nothing to read yet")
    lines: list[str] = []
    res = pipeline.run_pipeline(Recipe(), run_dir=tmp_path, stages=[fake_stage("generate", calls), stage], echo=lines.append)
    assert [(o.stage, o.status) for o in res.stages] == [("generate", "ran"), ("publish", "ran")]


def test_each_stage_package_exports_its_stage() -> None:
    import sarcgen.cli.run as cli_run

    stages = [importlib.import_module(f"sarcgen.{name}").STAGE for name in STAGE_PACKAGES]
    assert all(isinstance(s, Stage) for s in stages)
    assert tuple(s.name for s in stages) == pipeline.STAGES == tuple(rf.RUN_RECIPE_SECTIONS)
    assert tuple(pipeline.PIPELINE) == tuple(stages)
    assert tuple(cli_run.STAGE_CHOICE.choices) == pipeline.STAGES


def test_pipeline_imports_only_the_stage_objects() -> None:
    """pipeline.py takes nothing from inside a stage: only each package's `STAGE`."""
    def in_a_stage(module: str) -> bool:
        parts = module.split(".")
        return parts[0] == "sarcgen" and len(parts) > 1 and parts[1] in STAGE_PACKAGES

    tree = ast.parse((REPO / "sarcgen" / "pipeline.py").read_text(encoding="utf-8"))
    taken = []
    for node in ast.walk(tree):  # lazy imports inside functions too
        if isinstance(node, ast.ImportFrom) and node.module and in_a_stage(node.module):
            taken += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            taken += [(alias.name, "") for alias in node.names if in_a_stage(alias.name)]
    assert sorted(taken) == sorted((f"sarcgen.{name}", "STAGE") for name in STAGE_PACKAGES)


def test_the_stage_objects_load_no_heavy_library() -> None:
    """`sarcgen run --help` builds its --force/--skip choices from the stages: it must stay instant."""
    code = ("import sys, sarcgen.pipeline; print([m for m in ('pydantic', 'numpy', 'torch', 'transformers', 'datasets', "
            "'llama_cpp') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
