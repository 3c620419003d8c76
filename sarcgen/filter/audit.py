"""The gate audit: what a filter configuration keeps and drops, measured against labelled records.

A gate earns its place by what it does to *labelled* real output: how many records with the right
label it keeps (recall of the good), and how many records with a wrong or unclear label, or
incoherent text, it lets through (precision of what is kept). The labels come from a gold file:

- ``gold.jsonl`` lines ``{"id", "sentiment": "negative"|"positive"|"unclear", "sarcastic", "coherent"}``,
  a blind reading of each record (as in ``../shared/data/labelled/``); a record is *good* when the
  gold sentiment matches its label (0 negative, 1 positive) and the text is coherent;
- a run folder's ``review.jsonl`` (the review page's decisions): ``accept`` = good, ``flip`` = wrong
  label, ``reject`` = bad; records without a decision are left out of the audit.

`audit_filter` gives the whole filter's numbers per class, and each check's own numbers when it is
run alone over every record (so a check behind another one is still measured): of the records it
rejects, how many are good (its cost) and how many are bad (what it catches). A check that rejects
more good records than bad ones costs more than it catches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.errors import InputError
from sarcgen.filter.check import EachAlone
from sarcgen.filter.report import AuditJson, CheckJson, FilterReport, TallyJson, _table
from sarcgen.jsonl import iter_jsonl
from sarcgen.records import CLASSES, LABEL_NAMES, Review, review_class

if TYPE_CHECKING:
    from sarcgen.filter.registry import Active

SENTIMENTS = ("negative", "positive", "unclear")
ALL = "all"


@dataclass(frozen=True)
class Gold:
    """One record's reference reading."""

    sentiment: str  # negative | positive | unclear
    coherent: bool = True
    sarcastic: bool | None = None

    def right(self, label: int) -> bool:
        """The record's label says what the reviewer really thinks."""
        return self.sentiment == LABEL_NAMES[label]

    def good(self, label: int) -> bool:
        """Right label and coherent text: a record the dataset should keep."""
        return self.coherent and self.right(label)


def _gold_line(path: Path, line_no: int, obj: dict[str, object]) -> tuple[str, Gold]:
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        raise InputError(f"{path}:{line_no}: gold line without an \"id\"", "each line needs the record's id")
    if "decision" in obj:  # a review.jsonl line; the caller keeps the last one per id
        kind = obj["decision"]
        if kind not in ("accept", "reject", "flip", "clear"):
            raise InputError(f"{path}:{line_no}: decision: {kind!r} is not accept, reject, flip or clear",
                             "is this a review.jsonl written by `sarcgen review`?")
        return rid, Gold(sentiment=kind)  # resolved against the record's label in `load_gold`
    sentiment = obj.get("sentiment")
    if sentiment not in SENTIMENTS:
        raise InputError(f"{path}:{line_no}: sentiment: {sentiment!r} is not one of {', '.join(SENTIMENTS)}",
                         "a gold line reads {\"id\": ..., \"sentiment\": \"negative\", \"sarcastic\": true, \"coherent\": true}")
    coherent = obj.get("coherent", True)
    if not isinstance(coherent, bool):
        raise InputError(f"{path}:{line_no}: coherent: {coherent!r} is not true or false", "use true or false")
    sarcastic = obj.get("sarcastic")
    return rid, Gold(sentiment=sentiment, coherent=coherent, sarcastic=sarcastic if isinstance(sarcastic, bool) else None)


def load_gold(path: str | Path, reviews: Sequence[Review]) -> dict[str, Gold]:
    """The gold reading per record id, from a gold.jsonl or a review.jsonl (see the module doc).
    Decisions are turned into readings with each record's label; ids not among `reviews` are an error."""
    path = Path(path)
    if path.is_dir():
        path = path / "review.jsonl"
    if not path.is_file():
        raise InputError(f"{path}: no such gold file", "pass a gold.jsonl (id, sentiment, coherent) or a run's review.jsonl")

    def bad(p: Path, line_no: int, msg: str) -> None:
        raise InputError(f"{p}:{line_no}: {msg}", "each line must be one JSON object")

    labels = {r.id: r.label for r in reviews}
    out: dict[str, Gold] = {}
    for line_no, obj in iter_jsonl(path, on_error=bad):
        rid, gold = _gold_line(path, line_no, obj)
        if rid not in labels:
            raise InputError(f"{path}:{line_no}: id {rid!r} is not a record of the audited run",
                             "audit the run the gold file was written for")
        if gold.sentiment in SENTIMENTS:
            out[rid] = gold
            continue
        out.pop(rid, None)  # decisions: the last one per id stands; clear removes it
        label = labels[rid]
        if gold.sentiment == "accept":
            out[rid] = Gold(LABEL_NAMES[label])
        elif gold.sentiment == "flip":
            out[rid] = Gold(LABEL_NAMES[1 - label])
        elif gold.sentiment == "reject":
            out[rid] = Gold(LABEL_NAMES[label], coherent=False)
    if not out:
        raise InputError(f"{path}: no gold readings", "label some records first (sarcgen review, or a gold.jsonl)")
    return out


@dataclass
class Tally:
    """Counts over one class (or all records): `good` records and how the gate treated them."""

    records: int = 0
    good: int = 0
    kept: int = 0
    kept_good: int = 0
    kept_wrong_label: int = 0  # the gold's sentiment differs from the label, or is unclear
    kept_incoherent: int = 0  # right label, but not a sensible review

    def add(self, gold: Gold, label: int, kept: bool) -> None:
        self.records += 1
        self.good += gold.good(label)
        if kept:
            self.kept += 1
            self.kept_good += gold.good(label)
            self.kept_wrong_label += not gold.right(label)
            self.kept_incoherent += gold.right(label) and not gold.coherent

    @property
    def precision(self) -> float | None:
        """Share of kept records that are good."""
        return self.kept_good / self.kept if self.kept else None

    @property
    def label_precision(self) -> float | None:
        """Share of kept records whose label is right (coherent or not)."""
        return (self.kept - self.kept_wrong_label) / self.kept if self.kept else None

    @property
    def recall(self) -> float | None:
        """Share of good records kept."""
        return self.kept_good / self.good if self.good else None

    def to_json(self) -> TallyJson:
        return TallyJson(records=self.records, good=self.good, kept=self.kept, kept_good=self.kept_good,
                         kept_wrong_label=self.kept_wrong_label, kept_incoherent=self.kept_incoherent,
                         precision=_r(self.precision), label_precision=_r(self.label_precision), recall=_r(self.recall))


@dataclass
class CheckTally:
    """One check run alone over every audited record: which it rejects, good or bad."""

    stage: str
    reason: str
    rejected: int = 0
    rejected_good: int = 0
    rejected_bad: int = 0

    @property
    def verdict(self) -> str:
        if not self.rejected:
            return "rejects nothing here"
        if self.rejected_good == self.rejected_bad:
            return "costs as much as it catches"
        return "costs more than it catches" if self.rejected_good > self.rejected_bad else "catches more than it costs"

    def to_json(self) -> CheckJson:
        return CheckJson(stage=self.stage, reason=self.reason, rejected=self.rejected, rejected_good=self.rejected_good,
                         rejected_bad=self.rejected_bad, verdict=self.verdict)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def tally(reviews: Iterable[Review], gold: Mapping[str, Gold], kept_ids: set[str]) -> dict[str, Tally]:
    """Per class (and `all`): how the gate that kept `kept_ids` treated the gold-labelled records."""
    out = {name: Tally() for name in (*CLASSES, ALL)}
    for r in reviews:
        g = gold.get(r.id)
        if g is None:
            continue
        kept = r.id in kept_ids
        out[ALL].add(g, r.label, kept)
        name = review_class(r.label, r.sarcastic)
        if name is not None:
            out[name].add(g, r.label, kept)
    return out


def check_tallies(reviews: Sequence[Review], gold: Mapping[str, Gold],
                  drops: Iterable[tuple[str, str, str]]) -> list[CheckTally]:
    """(stage, reason, record id) drops, each check run alone -> one row per (stage, reason)."""
    labels = {r.id: r.label for r in reviews}
    rows: dict[tuple[str, str], CheckTally] = {}
    for stage, reason, rid in drops:
        g = gold.get(rid)
        if g is None:
            continue
        row = rows.setdefault((stage, reason), CheckTally(stage, reason))
        row.rejected += 1
        if g.good(labels[rid]):
            row.rejected_good += 1
        else:
            row.rejected_bad += 1
    return sorted(rows.values(), key=lambda t: (t.stage, -t.rejected, t.reason))


def each_alone(checks: Sequence[Active], reviews: Sequence[Review], report: FilterReport) -> list[tuple[str, str, str]]:
    """(stage, reason, id) for every drop each check (each record check of validate, see
    `sarcgen.filter.check.EachAlone`) gives when it runs alone over all `reviews`. Checks that hold
    a model remember their verdicts, so the filter's own pass afterwards does not ask again."""
    drops: list[tuple[str, str, str]] = []
    for active in checks:
        if isinstance(active.check, EachAlone):
            drops += [(active.stage, reason, rid) for reason, rid in active.check.each_alone(reviews, report)]
            continue
        for r, v in zip(reviews, active.check.apply(reviews, report)):
            if v is not None:
                drops.append((active.stage, v.reason, r.id))
    return drops


@dataclass
class Audit:
    """The audit of one filter run against one gold file."""

    gold_file: str
    audited: int
    classes: dict[str, Tally]
    checks: list[CheckTally]

    def to_json(self) -> AuditJson:
        return {"gold_file": self.gold_file, "audited": self.audited,
                "classes": {k: v.to_json() for k, v in self.classes.items()}, "checks": [c.to_json() for c in self.checks]}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def class_rows(classes: Mapping[str, TallyJson]) -> list[list[object]]:
    """Rows of the whole-filter table from `Audit.to_json()["classes"]`: class, records, good, kept,
    kept good, wrong label, incoherent, precision, label precision, recall."""
    return [[name, t["records"], t["good"], t["kept"], t["kept_good"], t["kept_wrong_label"], t["kept_incoherent"],
             _pct(t["precision"]), _pct(t["label_precision"]), _pct(t["recall"])] for name, t in classes.items()]


CLASS_HEADER = ["class", "records", "good", "kept", "kept good", "kept wrong label", "kept incoherent",
                "precision", "label precision", "recall of good"]
CHECK_HEADER = ["stage", "reason", "rejects (alone)", "good rejected", "bad caught", "verdict"]


def check_rows(checks: Sequence[CheckJson]) -> list[list[object]]:
    """Rows of the per-check table from `Audit.to_json()["checks"]`."""
    return [[c["stage"], c["reason"], c["rejected"], c["rejected_good"], c["rejected_bad"], c["verdict"]] for c in checks]


def render_markdown(audit: Audit) -> str:
    """filter_audit.md: the two tables with a line on how to read them."""

    lines = ["# Gate audit", "", f"Gold: `{audit.gold_file}` ({audit.audited} records read blind). *Good* = the gold "
             "sentiment matches the label and the text is coherent; *precision* = good / kept; *label precision* = "
             "right label / kept; *recall* = good kept / good.", "", "## The whole filter", ""]
    data = audit.to_json()
    lines += _table(CLASS_HEADER, class_rows(data["classes"]))
    lines += ["## Each check alone, over every record", ""]
    lines += _table(CHECK_HEADER, check_rows(data["checks"])) if audit.checks else ["No check rejects any audited record.", ""]
    return "\n".join(lines)
