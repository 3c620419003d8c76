"""Shared by the tests that run a whole small study: a fake writer's varied, valid replies and the
recipe of a study on a tiny BERT and toy IMDB files (imported as a plain module, like cli_helpers)."""

from __future__ import annotations

import random
import re
from pathlib import Path

from sarcgen.backends.base import GenerationRequest
from sarcgen.devtools.tiny_bert import write_tiny_bert, write_toy_imdb

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


def write_study(tmp_path: Path, generate: str, *, finetune: str = "", extra: str = "") -> Path:
    """study.yaml in `tmp_path`: `generate` (a YAML flow mapping), `extra` lines, and a finetune section on
    a tiny BERT and toy IMDB files written beside it (`finetune` adds keys, e.g. ", freeze_encoder: true")."""
    model = write_tiny_bert(tmp_path / "tiny-bert")
    imdb = write_toy_imdb(tmp_path / "imdb", 80, 30)
    recipe = tmp_path / "study.yaml"
    recipe.write_text(
        "name: study\n"
        f"output_dir: {tmp_path / 'outputs'}\n"
        f"generate: {generate}\n" + extra +
        f"finetune: {{base_model: {model}, base_data: {imdb}, n_train: 40, n_validation: 16, n_test: 16,"
        f" epochs: 1, batch_size: 8, max_length: 48, learning_rate: 0.002{finetune}}}\n"
    )
    return recipe
