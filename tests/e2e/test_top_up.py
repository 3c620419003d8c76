"""`sarcgen run`: generate.n means kept. The run tops itself up with new plan items until the filter
has kept n, or the stated limits stop it, and says how far it got."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS
from sarcgen.backends.base import GenerationRequest
from sarcgen.backends.fake import FakeBackend
from tests.cli_helpers import run_cli as run

WORDS = ("popcorn theater cousin weekend critics director sequel trailer villain hero score ending camera script cast "
         "evening audience sister neighbour ticket seat screen credits studio budget premiere festival poster").split()
GOOD = ["if you enjoy watching paint dry for two hours", "assuming you like staring at a wall for the whole evening",
        "for anyone who finds tax forms thrilling and long queues exciting"]


def reply(req: GenerationRequest) -> str:
    """Every third item (by seed) gets a reply the filter drops (too short); the rest are fine."""
    rng = random.Random(req.seed)
    if rng.random() < 0.34:
        return "Nice film."
    user = req.messages[-1]["content"]
    cue = user.split('Use the word "')[1].split('"')[0]
    sincere = "sarcastic" not in user.split("review")[0]
    tail = "and every scene earned its place in the story" if sincere else rng.choice(GOOD)
    return f"The plot was {cue} {tail}, said my {' and the '.join(rng.sample(WORDS, 4))} after the movie."


@pytest.fixture()
def lossy_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "fake", lambda recipe, spec=None: FakeBackend(reply))


def _recipe(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(f"name: study\noutput_dir: {tmp_path / 'out'}\ngenerate: {{n: 24, backend: fake, seed: 5, max_retries: 0{extra}}}\n")
    return p


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_run_tops_up_until_the_filter_keeps_n(lossy_fake: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["run", str(_recipe(tmp_path)), "-q", "--skip", "publish", "--skip", "finetune"], capsys)
    assert code == 0, err
    folder = tmp_path / "out" / "study-seed5"
    kept = _lines(folder / "filtered.jsonl")
    made = _lines(folder / "generated.jsonl")
    assert len(kept) >= 24 and len(made) > 24  # more generated than asked, so that 24 are kept
    assert len({r["id"] for r in made}) == len(made)  # nothing generated twice
    assert "[top-up 1] the filter kept" in out and f"[top-up] kept {len(kept)} of 24" in out
    # a second run has nothing to do
    code, out, err = run(["run", str(_recipe(tmp_path)), "-q", "--skip", "publish", "--skip", "finetune"], capsys)
    assert code == 0 and "top-up" not in out and len(_lines(folder / "generated.jsonl")) == len(made)


def test_the_limits_stop_it_and_it_says_so(lossy_fake: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = _recipe(tmp_path, ", top_up_rounds: 1, max_generated: 1.1")
    code, out, err = run(["run", str(recipe), "-q", "--skip", "publish", "--skip", "finetune"], capsys)
    assert code == 0, err
    made = _lines(tmp_path / "out" / "study-seed5" / "generated.jsonl")
    assert len(made) == 27  # ceil(1.1 x 24)
    assert "stopped short (limit: 1 rounds, 27 records = generate.max_generated x n)" in out


def test_no_top_up_when_rounds_are_zero(lossy_fake: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["run", str(_recipe(tmp_path, ", top_up_rounds: 0")), "-q", "--skip", "publish", "--skip", "finetune"],
                         capsys)
    assert code == 0, err
    assert len(_lines(tmp_path / "out" / "study-seed5" / "generated.jsonl")) == 24
    assert "stopped short (limit: 0 rounds" in out
