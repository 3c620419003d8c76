"""`sarcgen run`: every stage into one run folder, then a re-run that skips what is complete.

Generation uses a fake backend that writes varied, valid reviews (so the filter keeps most of them);
filter, publish and finetune-compare run for real, the last on a tiny BERT and toy IMDB files.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS
from sarcgen.backends.base import GenerationRequest
from sarcgen.backends.fake import FakeBackend
from sarcgen.devtools.tiny_bert import write_tiny_bert, write_toy_imdb
from tests.cli_helpers import run_cli as run

OPENERS = ["Honestly", "Well", "So", "Frankly", "Truly", "Look", "Admittedly", "Apparently", "Clearly", "Somehow"]
SARC = ["if you enjoy watching paint dry for two hours", "assuming you like staring at a wall",
        "provided your idea of fun is a dentist's waiting room", "for anyone who finds tax forms thrilling",
        "as long as you bring a pillow and low expectations", "if sitting through a slow queue sounds appealing"]
SINC = ["and every scene earned its place", "and the cast clearly cared about the story",
        "and I would happily watch it again tomorrow", "and the ending tied every thread together",
        "and the music lifted every moment", "and my friends loved it as much as I did"]
NOUNS = ["plot", "acting", "pacing", "dialogue", "soundtrack", "camera work", "ending", "script", "cast", "finale"]
FILLER = ["the whole evening", "my weekend", "the popcorn", "the theater crowd", "my little cousin", "the critics",
          "our group chat", "the late show", "the director's vision", "the second act"]


def varied_reply(req: GenerationRequest) -> str:
    """A plausible review honouring the prompt's cue and kind, different for every seed."""
    user = req.messages[-1]["content"]
    cue = re.search(r'Use the word "([^"]+)"', user).group(1)  # type: ignore[union-attr]
    rng = random.Random(req.seed)
    tail = rng.choice(SARC if "sarcastic" in user.split("review")[0] else SINC)
    return (f"{rng.choice(OPENERS)}, the {rng.choice(NOUNS)} was {cue} {tail}, said {rng.choice(FILLER)} "
            f"about {rng.choice(FILLER)} after seeing {rng.choice(FILLER)} number {rng.randint(1, 10**6)}.")


@pytest.fixture()
def varied_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "fake", lambda recipe, spec=None: FakeBackend(varied_reply))


def test_run_chains_every_stage_then_skips_them(varied_fake: None, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    model = write_tiny_bert(tmp_path / "tiny-bert")
    imdb = write_toy_imdb(tmp_path / "imdb", 80, 30)
    recipe = tmp_path / "study.yaml"
    recipe.write_text(
        "name: study\n"
        f"output_dir: {tmp_path / 'outputs'}\n"
        "generate: {n: 30, backend: fake, seed: 7, top_up_rounds: 0}\n"  # top-up has its own tests (tests/test_top_up.py)
        "publish: {train: 0.6, validation: 0.2, test: 0.2}\n"
        f"finetune: {{base_model: {model}, base_data: {imdb}, n_train: 40, n_validation: 16, n_test: 16,"
        " epochs: 1, batch_size: 8, max_length: 48, learning_rate: 0.002}\n"
    )
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
