"""The one shape every filter check has: keep, or drop with a named reason (datatrove's
`filter() -> bool | (False, reason)`, for a batch, since dedupe and decontamination compare rows).

A check has `apply(reviews, report) -> one KeepOrDrop per review, in order`; it adds its own
section to the report (duplicate clusters, decontamination matches, judge agreement). Its stage
name (written into filter_rejected.jsonl and counted in the report) is the name it is registered
under in `sarcgen.filter.registry`, the one list of checks. `run_filter` is a loop over them: what
a check drops is kept as a `Rejection` with its reason, the rest goes on.

Validate's record checks have the same shape for one record: `RecordCheck(review) -> KeepOrDrop`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sarcgen.filter.report import FilterReport
    from sarcgen.records import Review


@dataclass(frozen=True)
class Drop:
    """Why a check drops a row: `reason` is a short snake_case name (a `Rejection`'s reason, a row
    of the report), `detail` says which words, which duplicate or which evaluation text."""

    reason: str
    detail: str = ""


KeepOrDrop = Drop | None
"""None keeps the row; a `Drop` removes it."""

RecordCheck = Callable[["Review"], KeepOrDrop]
"""One rule over one record (validate's checks, `sarcgen.filter.request`'s checks)."""


class Check(Protocol):
    """One filter stage over the reviews that are still in."""

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """One verdict per review, in order; may fill this stage's part of `report`."""
        ...


@runtime_checkable
class EachAlone(Protocol):
    """A check made of several rules (validate) that the gate audit measures rule by rule."""

    def each_alone(self, reviews: Sequence[Review], report: FilterReport) -> list[tuple[str, str]]:
        """Every (reason, review id) each rule gives on its own over all `reviews`."""
        ...
