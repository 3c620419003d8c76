"""Whether a class of reviews (sarcastic negatives, sincere positives) vanished in the filter.

A weak judge, a strict validator or a model that cannot write one kind of review can remove a
whole class; the dataset left then teaches the opposite of what the study wants (only sincere
positives: "Great" => positive again). The filter says so in the first lines of its output and
report, naming the stages that removed the class; publish refuses such a dataset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sarcgen.records import CLASSES, Rejection, Review, review_class


def class_counts(reviews: Sequence[Review]) -> dict[str, int]:
    """Rows per class (every class present as a key)."""
    c = Counter(review_class(r.label, r.sarcastic) for r in reviews)
    return {name: c.get(name, 0) for name in CLASSES}


def vanished_warnings(before: Sequence[Review], kept: Sequence[Review], rejected: Sequence[Rejection],
                      min_share: float) -> list[str]:
    """One line per class of which fewer than `min_share` of the rows read survived (or none)."""
    read, left = class_counts(before), class_counts(kept)
    by_stage: dict[str, Counter] = {name: Counter() for name in CLASSES}
    for rj in rejected:
        rec: dict[str, Any] = rj.record or {}
        name = review_class(rec.get("label", -1), bool(rec.get("sarcastic")))
        if name is not None:
            by_stage[name][f"{rj.stage}/{rj.reason}"] += 1
    out = []
    for name in CLASSES:
        if read[name] == 0 or left[name] >= max(1, min_share * read[name]):
            continue
        causes = ", ".join(f"{k} {n}" for k, n in by_stage[name].most_common(4))
        what = "ALL" if left[name] == 0 else f"all but {left[name]}"
        out.append(f"CLASS VANISHED: the filter removed {what} of the {read[name]} {name} ({causes}); the dataset "
                   f"left cannot teach what the study needs, and publish refuses it")
    return out
