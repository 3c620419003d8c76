"""The judge's calibration set: labelled short reviews the judge must get right before its verdicts count.

Before `filter --judge` judges a run, the judge answers these 45 reviews (15 sarcastic negatives,
15 sincere positives that use the same kind of praise, 15 plain negatives), written for this
purpose and kept disjoint from the challenge set (`sarcgen.challenge`), the review prompt's
few-shot examples and the judge prompt's own examples (a test checks this). What is scored is the
judge *as a gate* (`Calibration`): per class, the precision of what it lets through and the share
it keeps. Below `filter.judge_min_precision` or `filter.judge_min_recall` the filter stops
(`sarcgen.errors.QualityError`) unless `filter.judge_mode` is `advisory`, which records the verdicts and
drops nothing. A judge that cannot tell "Stunning, truly: I have never seen a plot fall apart so
fast" from honest praise would otherwise silently delete a whole class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict


class VerdictLike(Protocol):
    """What the calibration reads of a judge's answer (`sarcgen.filter.judge.Verdict`, whose module
    imports this one): the label (0/1) and sarcastic, each None when unreadable, and the raw answer."""

    @property
    def label(self) -> int | None: ...
    @property
    def sarcastic(self) -> bool | None: ...
    @property
    def raw(self) -> str: ...


@dataclass(frozen=True)
class CalibrationItem:
    text: str
    label: int  # intended sentiment: 0 = negative, 1 = positive
    sarcastic: bool

    @property
    def kind(self) -> str:
        return "sarcastic" if self.sarcastic else ("sincere" if self.label == 1 else "plain_negative")


def _items(label: int, sarcastic: bool, texts: Sequence[str]) -> tuple[CalibrationItem, ...]:
    return tuple(CalibrationItem(t, label, sarcastic) for t in texts)


SARCASTIC = _items(0, True, (
    "Stunning, truly: I have never seen a plot fall apart so fast.",
    "Oh, a brilliant idea, casting a lead who reads every line like a grocery list.",
    "What a treat, two and a half hours of people whispering in the dark about nothing.",
    "I am so grateful to the editor for leaving in every single scene of the hero parking his car.",
    "Perfect casting, if the part called for a wooden plank with a haircut.",
    "A real masterpiece of sound design: I could hear every chew of the popcorn behind me over the dialogue.",
    "Wonderful, another sequel that answers questions nobody asked.",
    "Loved the twist. I guessed it from the poster, but sure, act surprised.",
    "Truly the greatest horror film ever made, if you are frightened by bad wigs.",
    "Bravo to the writers for proving a romance can have zero chemistry and still run two hours.",
    "The special effects were amazing, for a school play in 1985.",
    "Fantastic, the villain explains his whole plan twice, in case we dozed off the first time.",
    "Such gripping suspense: I fell asleep twice and missed nothing.",
    "Beautiful cinematography, assuming you enjoy squinting at a screen that is ninety percent shadow.",
    "What a joy to pay full price to watch a trailer stretched into a feature.",
))

SINCERE = _items(1, False, (
    "Stunning, truly: every frame looks like a painting and the story earns its emotion.",
    "A brilliant idea, brilliantly carried out; the lead makes every line sound new.",
    "What a treat: smart, funny and over far too soon.",
    "I am grateful this film exists; it handles grief with real tenderness.",
    "Perfect casting all around, and the two sisters feel like a real family.",
    "A real masterpiece of sound design: the score and the silence both do the storytelling.",
    "Wonderful from start to finish, a sequel that actually improves on the original.",
    "Loved the twist, and on a second viewing every clue was there all along.",
    "Truly one of the greatest horror films of the decade; I slept with the lights on.",
    "Bravo to the writers: the romance is warm, witty and completely believable.",
    "The special effects were amazing and never got in the way of the characters.",
    "Fantastic villain, menacing and oddly sympathetic, played with real wit.",
    "Such gripping suspense that the whole audience held its breath in the final act.",
    "Beautiful cinematography and a gentle, patient story that stayed with me for days.",
    "What a joy this was; I laughed, I cried and I will happily watch it again.",
))

PLAIN_NEGATIVE = _items(0, False, (
    "The plot makes no sense and the acting is flat from start to finish.",
    "Boring, slow and far too long. I would not recommend it.",
    "The jokes fall flat and the editing is a mess.",
    "I turned it off after forty minutes because nothing was happening.",
    "Weak script, lazy direction and a soundtrack that never stops.",
    "The lead is miscast and the story drags badly in the middle.",
    "A dull, predictable thriller with no tension at all.",
    "The dialogue is clumsy and the characters are hard to care about.",
    "Poorly shot, poorly acted and instantly forgettable.",
    "The effects look cheap and the ending is a letdown.",
    "Too many subplots and none of them go anywhere.",
    "I was disappointed; the trailer promised far more than the film delivers.",
    "The pacing is painful and the twist is obvious from the first scene.",
    "Nothing about this remake improves on the original.",
    "The humour is crude and the romance feels forced.",
))

CALIBRATION_SET: tuple[CalibrationItem, ...] = SARCASTIC + SINCERE + PLAIN_NEGATIVE


def passes(gate: str, label: int, sarcastic: bool, judge_label: int | None, judge_sarcastic: bool | None) -> bool:
    """Whether the judge's answer lets a record with this label (and sarcasm) through the gate."""
    if judge_label != label:
        return False
    return gate == "sentiment" or judge_sarcastic == sarcastic


class Answer(TypedDict):
    """The judge's answer to one calibration review, scored (judge_calibration.json "answers")."""

    text: str
    kind: str
    label: int
    sarcastic: bool
    judge_label: int | None
    judge_sarcastic: bool | None
    answer: str
    sentiment_ok: bool
    sarcasm_ok: bool


class ClassScore(TypedDict):
    """The judge as a gate for one class of the dataset (see `gate_classes`)."""

    n: int
    kept: int
    recall: float
    impostors: str
    let_through: int
    wrong_label: int
    precision: float | None


@dataclass(frozen=True)
class Calibration:
    """How the judge does *as a gate* on the calibration set, per class of the dataset.

    For a class (sarcastic negatives, sincere positives), `recall` is the share of its calibration
    reviews the judge lets through, and `precision` is the share of right labels among what it lets
    through when the class holds as many wrong records, of the kind it really receives
    (`IMPOSTORS`), as right ones: a judge that calls sincere praise "negative" lets wrong labels
    into the sarcastic class. The gate passes when every class
    reaches `min_precision` and `min_recall` (a judge that lets almost nothing of a class through
    would empty it). Overall accuracies are reported beside, not used."""

    n: int
    gate: str
    sentiment_accuracy: float
    sarcasm_accuracy: float
    unparseable: int
    per_kind: dict[str, dict[str, float]]
    per_class: dict[str, ClassScore]
    min_precision: float
    min_recall: float
    answers: list[Answer]

    @property
    def passed(self) -> bool:
        return all((c["precision"] or 0.0) >= self.min_precision and c["recall"] >= self.min_recall
                   for c in self.per_class.values())

    def summary(self) -> str:
        parts = [f"{name} precision {_fmt(c['precision'])} recall {c['recall']:.2f}" for name, c in self.per_class.items()]
        return (f"as a {self.gate} gate on {self.n} calibration reviews: {'; '.join(parts)} (need precision "
                f">= {self.min_precision:.2f} and recall >= {self.min_recall:.2f}; sentiment accuracy "
                f"{self.sentiment_accuracy:.2f}, sarcasm accuracy {self.sarcasm_accuracy:.2f})")

    def to_json(self) -> dict[str, object]:
        """Every field, answers included, and whether it passed (judge_calibration.json)."""
        d: dict[str, object] = dict(self.__dict__)
        d["passed"] = self.passed
        return d


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


# The wrong records each class really receives: a writer asked for a sarcastic negative writes
# sincere praise (Qwen2.5-1.5B: 43 of 80, ../shared/data/labelled), one asked for a sincere twin
# writes a plain complaint (SmolLM2-135M). The calibration reviews of that kind stand in for them.
IMPOSTORS = {"sarcastic negatives": "sincere", "sincere positives": "plain_negative"}


def gate_classes(rows: Sequence[Answer], gate: str) -> dict[str, ClassScore]:
    """Per dataset class: its calibration reviews the gate lets through (recall), and the impostor
    reviews (`IMPOSTORS`: another label, as many) it would let through with the class's label; the
    precision is for a class that holds as many wrong records as right ones."""
    from sarcgen.records import SARCASTIC_NEGATIVE, SINCERE_POSITIVE

    out: dict[str, ClassScore] = {}
    for name, (label, sarcastic) in ((SARCASTIC_NEGATIVE, (0, True)), (SINCERE_POSITIVE, (1, False))):
        mine = [x for x in rows if x["label"] == label and x["sarcastic"] == sarcastic]
        impostors = [x for x in rows if x["kind"] == IMPOSTORS[name]]
        kept = sum(passes(gate, label, sarcastic, x["judge_label"], x["judge_sarcastic"]) for x in mine)
        wrong = sum(passes(gate, label, sarcastic, x["judge_label"], x["judge_sarcastic"]) for x in impostors)
        out[name] = {"n": len(mine), "kept": kept, "recall": round(kept / len(mine), 4) if mine else 0.0,
                     "impostors": IMPOSTORS[name], "let_through": kept + wrong, "wrong_label": wrong,
                     "precision": round(kept / (kept + wrong), 4) if kept + wrong else None}
    return out


def score(verdicts: Sequence[VerdictLike], min_precision: float, min_recall: float = 0.1,
          gate: str = "sentiment_and_sarcasm") -> Calibration:
    """Score the judge's verdicts on `CALIBRATION_SET` (one per item, in order; asked by
    `sarcgen.filter.judge.calibrate`)."""
    rows: list[Answer] = []
    per_kind: dict[str, dict[str, float]] = {}
    for v, item in zip(verdicts, CALIBRATION_SET):
        rows.append({"text": item.text, "kind": item.kind, "label": item.label, "sarcastic": item.sarcastic,
                     "judge_label": v.label, "judge_sarcastic": v.sarcastic, "answer": v.raw.strip()[:120],
                     "sentiment_ok": v.label == item.label, "sarcasm_ok": v.sarcastic == item.sarcastic})
    for kind in ("sarcastic", "sincere", "plain_negative"):
        mine = [x for x in rows if x["kind"] == kind]
        per_kind[kind] = {"n": len(mine), "sentiment_accuracy": _rate(mine, "sentiment_ok"),
                          "sarcasm_accuracy": _rate(mine, "sarcasm_ok")}
    unparseable = sum(x["judge_label"] is None or x["judge_sarcastic"] is None for x in rows)
    return Calibration(len(rows), gate, _rate(rows, "sentiment_ok"), _rate(rows, "sarcasm_ok"), unparseable, per_kind,
                       gate_classes(rows, gate), min_precision, min_recall, rows)


def _rate(rows: list[Answer], key: Literal["sentiment_ok", "sarcasm_ok"]) -> float:
    return round(sum(bool(x[key]) for x in rows) / len(rows), 4) if rows else 0.0
