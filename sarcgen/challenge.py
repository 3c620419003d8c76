"""The built-in sarcasm challenge set: the seed's three failures, more like them, and sincere controls.

Sarcastic items praise on the surface and mean the opposite (label 0). Sincere controls use the
same surface cues honestly (label 1) and must *stay* positive: a model that merely learned
"Great" => negative fails them. Used to evaluate (finetune-compare) and to decontaminate (filter).

The contrast-pair set (`load_challenge_pairs`, package data `sarcgen/data/challenge_pairs.jsonl`)
is a larger test set written by hand for this purpose: 114 matched pairs (228 short sentences),
each a sarcastic negative (label 0) and a sincere positive (label 1) that use the same praise word
about the same aspect of a film, across the recipe's sarcasm devices and many aspects and genres.
50 pairs use one of the recipe's 12 default cue words (`seen_cue` true); 64 use other praise
("superb", "gripping", "a triumph", ...) and neither sentence of such a pair contains any default
cue or its inflections (`seen_cue` false), so a model that only learned the recipe's cues is
exposed. It is kept apart from the 25 items above (which `CHALLENGE_SET` and `challenge_texts`
still return unchanged), from the judge's calibration set and from the prompts' few-shot examples
(tests/test_challenge_pairs.py checks this). Its columns (text, label, kind, cue, pair_id, aspect,
device) also make it a ready `finetune-compare --challenge` file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class ChallengeItem:
    text: str
    label: int  # 0 = negative, 1 = positive (intended sentiment)
    kind: str  # "sarcastic" or "sincere"
    cue: str
    pair_id: str | None = None  # contrast pairs only: the id both sides of a pair share
    seen_cue: bool | None = None  # contrast pairs only: whether the cue is one of the recipe's default cues


SEED_EXAMPLES: tuple[ChallengeItem, ...] = (
    ChallengeItem("Great movie, if you enjoy watching paint dry for two hours.", 0, "sarcastic", "great"),
    ChallengeItem("The visual effects were stunning, but the plot made zero sense.", 0, "sarcastic", "stunning"),
    ChallengeItem("I wish I knew what beautiful movie I just watched.", 0, "sarcastic", "beautiful"),
)

MORE_SARCASTIC: tuple[ChallengeItem, ...] = (
    ChallengeItem("What a masterpiece. I only checked my watch eleven times.", 0, "sarcastic", "masterpiece"),
    ChallengeItem("Brilliant acting, assuming the goal was to convince us the cast had never met a human being.", 0, "sarcastic", "brilliant"),
    ChallengeItem("Oh sure, the best two hours of my life, right after my root canal.", 0, "sarcastic", "best"),
    ChallengeItem("Thank you, director, for teaching me that a plot is entirely optional.", 0, "sarcastic", "thank you"),
    ChallengeItem("Absolutely perfect, if your idea of perfect is a dialogue written by a fortune cookie.", 0, "sarcastic", "perfect"),
    ChallengeItem("I loved how the ending arrived, because it meant I could finally leave.", 0, "sarcastic", "loved"),
    ChallengeItem("Unforgettable. I have tried very hard to forget it and failed.", 0, "sarcastic", "unforgettable"),
    ChallengeItem("A wonderful film for anyone who finds beige wallpaper too thrilling.", 0, "sarcastic", "wonderful"),
    ChallengeItem("Fantastic pacing: the first act alone lasted about a geological era.", 0, "sarcastic", "fantastic"),
    ChallengeItem("Amazing how they spent that much money and still made the explosions look like clip art.", 0, "sarcastic", "amazing"),
    ChallengeItem("Could the soundtrack have been any louder? I doubt my ears will ever recover, so thanks for that.", 0, "sarcastic", "thanks"),
    ChallengeItem("Truly stunning work. I was stunned anyone approved this script.", 0, "sarcastic", "stunning"),
)

SINCERE_CONTROLS: tuple[ChallengeItem, ...] = (
    ChallengeItem("Great movie: the two hours flew by and I want to watch it again.", 1, "sincere", "great"),
    ChallengeItem("The visual effects were stunning, and the plot held together beautifully.", 1, "sincere", "stunning"),
    ChallengeItem("What a beautiful movie; I was moved from the first scene to the last.", 1, "sincere", "beautiful"),
    ChallengeItem("A masterpiece. I never once looked at my watch.", 1, "sincere", "masterpiece"),
    ChallengeItem("Brilliant acting from the whole cast, especially the lead.", 1, "sincere", "brilliant"),
    ChallengeItem("Honestly the best film I have seen this year.", 1, "sincere", "best"),
    ChallengeItem("I loved the ending; it tied every thread together.", 1, "sincere", "loved"),
    ChallengeItem("Unforgettable performances and a script full of heart.", 1, "sincere", "unforgettable"),
    ChallengeItem("Fantastic pacing that never lets the tension drop.", 1, "sincere", "fantastic"),
    ChallengeItem("Amazing effects that actually serve the story.", 1, "sincere", "amazing"),
)

CHALLENGE_SET: tuple[ChallengeItem, ...] = SEED_EXAMPLES + MORE_SARCASTIC + SINCERE_CONTROLS


def challenge_texts() -> list[str]:
    """All challenge texts, the 25 items and the pairs (the filter decontaminates against them)."""
    return [item.text for item in CHALLENGE_SET] + [item.text for item in load_challenge_pairs()]


PAIRS_FILE = "challenge_pairs.jsonl"
"""The contrast-pair set, in the package's `data` folder (one JSON object per line)."""


@lru_cache(maxsize=1)
def load_challenge_pairs() -> tuple[ChallengeItem, ...]:
    """The hand-written contrast pairs, in file order (each pair's sarcastic item, then its sincere
    one). `ValueError` naming the line when a record is malformed."""
    text = resources.files("sarcgen").joinpath("data").joinpath(PAIRS_FILE).read_text(encoding="utf-8")
    items: list[ChallengeItem] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            items.append(_pair_item(json.loads(line), n))
    return tuple(items)


def _pair_item(row: object, line: int) -> ChallengeItem:
    where = f"{PAIRS_FILE} line {line}"
    if not isinstance(row, dict):
        raise ValueError(f"{where}: not a JSON object")
    for key, kind in (("pair_id", str), ("text", str), ("kind", str), ("cue", str), ("seen_cue", bool)):
        if not isinstance(row.get(key), kind):
            raise ValueError(f"{where}: {key!r} must be a {kind.__name__}")
    label = row.get("label")
    expected = {"sarcastic": 0, "sincere": 1}.get(row["kind"])
    if expected is None or type(label) is not int or label != expected:
        raise ValueError(f"{where}: kind {row['kind']!r} with label {label!r} (sarcastic is 0, sincere is 1)")
    return ChallengeItem(row["text"], label, row["kind"], row["cue"], pair_id=row["pair_id"], seen_cue=row["seen_cue"])
