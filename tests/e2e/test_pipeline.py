"""`sarcgen run`: every stage into one run folder, then a re-run that skips what is complete.

Generation uses a fake backend that writes varied, valid reviews (so the filter keeps most of them);
filter, publish and finetune-compare run for real, the last on a tiny BERT and toy IMDB files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS
from sarcgen.backends.fake import FakeBackend
from tests.cli_helpers import run_cli as run
from tests.study_helpers import varied_reply, write_study


@pytest.fixture()
def varied_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "fake", lambda recipe, spec=None: FakeBackend(varied_reply))


def test_run_chains_every_stage_then_skips_them(varied_fake: None, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # top-up has its own tests (tests/e2e/test_top_up.py)
    recipe = write_study(tmp_path, "{n: 30, backend: fake, seed: 7, top_up_rounds: 0}",
                         extra="publish: {train: 0.6, validation: 0.2, test: 0.2}\n")
    code, out, err = run(["run", str(recipe), "-q"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "outputs" / "study-seed7"
    stages = [line for line in out.splitlines() if line.startswith("[") and not line.startswith("[top-up")]
    assert [line.split("]")[0] + "]" for line in stages] == ["[generate]", "[filter]", "[publish]", "[finetune]"]
    assert all(" ran" in line for line in stages)
    assert len((run_dir / "generated.jsonl").read_text().splitlines()) == 30
    assert (run_dir / "filtered.jsonl").is_file() and (run_dir / "filter_report.json").is_file()
    pub = json.loads((run_dir / "dataset" / "publish.json").read_text())
    assert sum(pub["split_sizes"].values()) > 0
    results = json.loads((run_dir / "finetune" / "results.json").read_text())
    assert {"A", "B"} <= set(results["aggregate"])
    assert (run_dir / "finetune" / "report.md").is_file()

    # A second run finds every stage complete and redoes nothing.
    code, out, err = run(["run", str(recipe), "-q"], capsys)
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("[")] and all(
        "skipped" in line for line in out.splitlines() if line.startswith("["))

    # --force publish redoes publish and the comparison after it, not generate or filter.
    code, out, err = run(["run", str(recipe), "-q", "--force", "publish", "--skip", "finetune"], capsys)
    assert code == 0, err
    status = {line[1:].split("]")[0]: line for line in out.splitlines() if line.startswith("[")}
    assert "skipped" in status["generate"] and "skipped" in status["filter"]
    assert " ran" in status["publish"] and "--skip" in status["finetune"]


def test_run_bad_recipe_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("generate:\n  nn: 3\n")
    code, _, err = run(["run", str(bad)], capsys)
    assert code == 2 and "bad.yaml:2: generate.nn: unknown key" in err and "Traceback" not in err


def test_skip_decision_survives_a_copy_and_a_touch(varied_fake: None, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Completion is recorded (content fingerprints in the manifest), not inferred from file times:
    a `cp -r` (new mtimes) and a `touch` of the inputs leave every stage complete; new settings do not."""
    import os
    import shutil

    recipe = tmp_path / "study.yaml"
    recipe.write_text(f"name: study\noutput_dir: {tmp_path / 'outputs'}\ngenerate: {{n: 12, backend: fake, seed: 3}}\n"
                      "publish: {train: 0.6, validation: 0.2, test: 0.2}\n")
    code, out, err = run(["run", str(recipe), "-q", "--skip", "finetune"], capsys)
    assert code == 0, err
    original = tmp_path / "outputs" / "study-seed3"
    stages = json.loads((original / "manifest.json").read_text())["stages"]
    assert {s: stages[s]["status"] for s in stages} == {"generate": "complete", "filter": "complete", "publish": "complete"}

    copy = tmp_path / "copied"
    shutil.copytree(original, copy, copy_function=shutil.copy)  # like `cp -r`: every file newer than before
    future = os.stat(copy / "filtered.jsonl").st_mtime + 3600
    os.utime(copy / "generated.jsonl", (future, future))  # the input now looks newer than every output
    code, out, err = run(["run", str(recipe), "-q", "--out", str(copy), "--skip", "finetune"], capsys)
    assert code == 0, err
    status = {line[1:].split("]")[0]: line for line in out.splitlines() if line.startswith("[")}
    assert all("skipped" in status[s] for s in ("generate", "filter", "publish")), out

    recipe.write_text(recipe.read_text() + "filter: {min_words: 9}\n")  # filter settings changed
    code, out, err = run(["run", str(recipe), "-q", "--out", str(copy), "--skip", "finetune"], capsys)
    status = {line[1:].split("]")[0]: line for line in out.splitlines() if line.startswith("[")}
    assert code == 0 and "skipped" in status["generate"] and " ran" in status["filter"], out
