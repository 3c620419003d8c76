"""The one shape every filter check has: keep, or drop with a named reason (datatrove's
`filter() -> bool | (False, reason)`, for a batch, since dedupe and decontamination compare rows).

A check has a `stage` name (written into filter_rejected.jsonl and counted in the report) and
`apply(reviews, report) -> one KeepOrDrop per review, in order`; it adds its own section to the
report (duplicate clusters, decontamination matches, judge agreement). `run_filter` is a loop
over checks: what a check drops is kept as a `Rejection` with its reason, the rest goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from sarcgen.filter.report import FilterReport
    from sarcgen.records import Review


class Drop(NamedTuple):
    """Why a check drops a row: `reason` is a short snake_case name, `detail` says which words,
    which duplicate or which evaluation text."""

    reason: str
    detail: str = ""


KeepOrDrop = Drop | None
"""None keeps the row; a `Drop` removes it."""


class Check(Protocol):
    """One filter stage over the reviews that are still in."""

    stage: str

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """One verdict per review, in order; may fill this stage's part of `report`."""
        ...
