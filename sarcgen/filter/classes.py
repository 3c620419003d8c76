"""Whether a class of reviews (sarcastic negatives, sincere positives) vanished in the filter.

A weak judge, a strict validator or a model that cannot write one kind of review can remove a
whole class; the dataset left then teaches the opposite of what the study wants (only sincere
positives: "Great" => positive again). The filter says so in the first lines of its output and
report, naming the stages that removed the class; publish refuses such a dataset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TypedDict

from sarcgen.jsonl import json_object
from sarcgen.records import CLASSES, Rejection, Review, review_class


def class_counts(reviews: Sequence[Review]) -> dict[str, int]:
    """Rows per class (every class present as a key)."""
    c = Counter(review_class(r.label, r.sarcastic) for r in reviews)
    return {name: c.get(name, 0) for name in CLASSES}


def vanished(read: int, left: int, min_share: float) -> bool:
    """A class vanished when rows of it were read and fewer than `min_share` of them (and at least one) are left."""
    return read > 0 and left < max(1, min_share * read)


def vanished_warnings(before: Sequence[Review], kept: Sequence[Review], rejected: Sequence[Rejection],
                      min_share: float) -> list[str]:
    """One line per class of which fewer than `min_share` of the rows read survived (or none)."""
    read, left = class_counts(before), class_counts(kept)
    by_stage: dict[str, Counter] = {name: Counter() for name in CLASSES}
    for rj in rejected:
        rec = rj.record or {}
        label = rec.get("label", -1)
        name = review_class(label, bool(rec.get("sarcastic"))) if isinstance(label, int) else None
        if name is not None:
            by_stage[name][f"{rj.stage}/{rj.reason}"] += 1
    out = []
    for name in CLASSES:
        if not vanished(read[name], left[name], min_share):
            continue
        causes = ", ".join(f"{k} {n}" for k, n in by_stage[name].most_common(4))
        what = "ALL" if left[name] == 0 else f"all but {left[name]}"
        out.append(f"CLASS VANISHED: the filter removed {what} of the {read[name]} {name} ({causes}); the dataset "
                   f"left cannot teach what the study needs, and publish refuses it")
    return out


UNVERIFIED = "LABELS NOT VERIFIED"


class LabelCheck(TypedDict):
    """How the kept records' labels were confirmed (filter_report.json "labels")."""

    verified: bool
    by: str | None


def calibration_gate(cal: Mapping[str, object]) -> str:
    """The gate a report's judge calibration was scored as; reports from before gates existed
    compared both the label and the sarcasm flag."""
    return str(cal.get("gate", "sentiment_and_sarcasm"))


def label_gate(judge: Mapping[str, object] | None) -> tuple[LabelCheck, str | None]:
    """How the kept records' labels were confirmed, from the report's judge section, and the loud
    warning to print first when nothing but the request that asked for them stands behind them.

    Measured on real output (../shared/data/labelled): a writer asked for sarcastic negatives
    wrote sincere praise for 43 of 80 (Qwen2.5-1.5B) and 49 of 60 (SmolLM2-135M); the rule checks
    keep most of them. Only a judge that passed its calibration as a gate, in enforce mode, counts."""
    if not judge or not judge.get("judged"):
        return ({"verified": False, "by": None},
                f"{UNVERIFIED}: no signal but the request confirms the labels (no judge ran); a writer asked for sarcasm "
                "often writes sincere praise. Run the filter with --judge (a judge that passes its calibration), or audit a "
                "labelled sample with --audit")
    cal = json_object(judge.get("calibration"))
    by = f"{judge.get('model_file')} ({calibration_gate(cal)} gate)"
    if judge.get("mode") == "enforce" and cal.get("passed"):
        return {"verified": True, "by": by}, None
    why = "failed its calibration" if not cal.get("passed") else "ran in advisory mode"
    return ({"verified": False, "by": by},
            f"{UNVERIFIED}: the judge {by} {why}, so it dropped nothing; the labels rest on the request alone")
