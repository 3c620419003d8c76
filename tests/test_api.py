"""The Python API (sarcgen.api, re-exported by `import sarcgen`): the stages as functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sarcgen
from sarcgen.backends.fake import FakeBackend
from sarcgen.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def test_import_is_light_and_names_are_exported() -> None:
    code = "import sys, sarcgen; print([m for m in ('torch', 'transformers', 'datasets', 'llama_cpp') if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    assert set(sarcgen.__all__) >= {"load_recipe", "generate_run", "filter_run", "publish_run", "load_dataset", "compare",
                                    "load_results", "run_study"}
    with pytest.raises(AttributeError):
        sarcgen.no_such_thing  # noqa: B018


def test_generate_filter_publish_load(tmp_path: Path) -> None:
    recipe = sarcgen.load_recipe(REPO / "recipes" / "smoke.yaml", {"generate.n": 6, "publish.train": 0.5,
                                                                   "publish.validation": 0.25, "publish.test": 0.25,
                                                                   "publish.allow_missing_class": True})
    def reply(req) -> str:
        user = req.messages[-1]["content"]
        cue = user.split('Use the word "')[1].split('"')[0]
        if user.startswith("Write a sarcastic"):
            return f"Oh, {cue} work, if you enjoy watching paint dry for two hours; seed {req.seed} of my patience is gone."
        return f"The cast was {cue} and every scene earned its place; I would happily watch it again, take {req.seed}."

    summary = sarcgen.generate_run(recipe, tmp_path / "run", backend=FakeBackend(reply), progress=False)
    assert summary.accepted == 6
    report = sarcgen.filter_run(tmp_path / "run", progress=False)
    assert report.total == 6 and (tmp_path / "run" / "filtered.jsonl").is_file()
    dd = sarcgen.load_dataset(tmp_path / "run")
    assert sum(len(s) for s in dd.values()) == report.kept
    with pytest.raises(InputError, match="results.json"):
        sarcgen.load_results(tmp_path)
