"""Human review decisions: `review.jsonl` in the run folder, one appended, fsynced line per decision.

A decision names a record id, what the reviewer decided (`accept`, `reject`, `flip` the label, or
`clear` an earlier decision), the label a flip sets, who decided and when. The file is a log: the
last line per id wins, so undo is just another line, and nothing is ever rewritten. `sarcgen
publish` reads the same file (`load_decisions` + `apply_decisions`): human rejects are left out and
flipped labels are applied and marked as human labels.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sarcgen.errors import InputError, first_problem
from sarcgen.jsonl import JsonlWriter, iter_jsonl
from sarcgen.runfolder import REVIEW

if TYPE_CHECKING:
    from sarcgen.records import Review

REVIEW_FILE = REVIEW  # sarcgen.runfolder names every run-folder file
DecisionKind = Literal["accept", "reject", "flip", "clear"]
DECISIONS: tuple[str, ...] = ("accept", "reject", "flip", "clear")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Decision(BaseModel):
    """One line of review.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    decision: DecisionKind
    label: Literal[0, 1] | None = Field(default=None, description="the human label a flip sets")
    reviewer: str = Field(min_length=1)
    time: str = Field(default_factory=_now)

    @model_validator(mode="after")
    def _flip_has_label(self) -> Decision:
        if (self.decision == "flip") != (self.label is not None):
            raise ValueError("a flip carries the new label (0 or 1); other decisions carry none")
        return self


def load_decisions(run_dir: Path) -> dict[str, Decision]:
    """The standing decision per record id (last line wins; `clear` removes it). {} without a file.

    A malformed line is an error naming review.jsonl:line, except a partial last line (a crash
    mid-write), which was never acknowledged and is ignored.
    """
    path = Path(run_dir) / REVIEW_FILE
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    complete_lines = raw.count(b"\n")
    out: dict[str, Decision] = {}

    def bad(p: Path, line_no: int, msg: str) -> None:
        if line_no <= complete_lines:
            raise InputError(f"{p}:{line_no}: {msg}", "fix or delete that line; every other line is kept")

    for line_no, obj in iter_jsonl(path, on_error=bad):
        try:
            d = Decision.model_validate(obj)
        except ValidationError as exc:
            if line_no > complete_lines:
                continue
            raise InputError(f"{path}:{line_no}: not a review decision: {first_problem(exc, '(line)')}",
                             "fix or delete that line; every other line is kept") from None
        if d.decision == "clear":
            out.pop(d.id, None)
        else:
            out[d.id] = d
    return out


class DecisionStore:
    """Appends decisions to RUN/review.jsonl (fsynced before `record` returns) and keeps the
    standing decision per id in memory. Thread-safe: the web server may call it from workers."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / REVIEW_FILE
        self.current = load_decisions(run_dir)
        self._lock = threading.Lock()
        self._writer: JsonlWriter | None = None

    def record(self, decision: Decision) -> Decision:
        """Append one decision durably and make it the standing one for its id."""
        with self._lock:
            if self._writer is None:  # created on the first decision: browsing writes nothing
                self._writer = JsonlWriter(self.path)
            self._writer.write(decision)
            if decision.decision == "clear":
                self.current.pop(decision.id, None)
            else:
                self.current[decision.id] = decision
        return decision

    def get(self, record_id: str) -> Decision | None:
        return self.current.get(record_id)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


@dataclass
class HumanReview:
    """What the decisions did to one set of records (the dataset card shows it)."""

    decisions: int = 0  # standing decisions in review.jsonl
    accepted: int = 0
    rejected: int = 0  # left out of the dataset
    flipped: int = 0  # labels changed by a reviewer
    not_in_data: int = 0  # decisions on records that are not part of the data (e.g. dropped by the filter)
    reviewers: list[str] = field(default_factory=list)
    human_labels: set[str] = field(default_factory=set)  # ids whose label a reviewer set

    def counts(self) -> dict[str, int | list[str]]:
        """The numbers publish.json and the dataset card show."""
        return {"decisions": self.decisions, "accepted": self.accepted, "rejected": self.rejected,
                "flipped": self.flipped, "not_in_data": self.not_in_data, "reviewers": self.reviewers}


def apply_decisions(records: Iterable[Review], decisions: dict[str, Decision]) -> tuple[list[Review], HumanReview]:
    """Leave out human rejects and apply flipped labels. Returns (records, what was done)."""
    recs = list(records)
    summary = HumanReview(decisions=len(decisions), reviewers=sorted({d.reviewer for d in decisions.values()}))
    ids = {r.id for r in recs}
    summary.not_in_data = sum(1 for i in decisions if i not in ids)
    out = []
    for r in recs:
        d = decisions.get(r.id)
        if d is None:
            out.append(r)
        elif d.decision == "reject":
            summary.rejected += 1
        elif d.decision == "flip" and d.label is not None:
            summary.flipped += 1
            summary.human_labels.add(r.id)
            out.append(r.model_copy(update={"label": d.label}))
        else:
            summary.accepted += 1
            out.append(r)
    return out, summary
