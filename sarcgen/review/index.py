"""An in-memory index of every record of one run folder, kept or not, for the review page.

Sources (all read-only): filtered.jsonl (kept), filter_rejected.jsonl (dropped, with stage, reason
and detail), generated.jsonl (only when the run was never filtered), rejected.jsonl (replies that
never became records), judge_disagreements.jsonl and filter_report.json (duplicate clusters,
decontamination matches, coverage). Human decisions come from `sarcgen.review.store`.

Only the small fields live in memory; a record's full JSON (provenance) is re-read from its byte
offset on demand, so a 100,000-record run costs tens of MB, not GBs. Every facet is a numpy array
of value codes: a filter is a mask (OR within a facet, AND across facets), a facet count is a
bincount under every *other* active filter (so the values a click would add stay visible), and a
page is a slice of the precomputed sort order under the mask. Search (every term must appear,
case-insensitive, in the text or id) is the one Python scan, cached for paging.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import numpy as np

from sarcgen.errors import InputError
from sarcgen.jsonl import json_list, json_object, scan_jsonl
from sarcgen.records import LABEL_NAMES
from sarcgen.review.store import Decision, DecisionStore
from sarcgen.runfolder import FILTER_REJECTED, FILTERED, GENERATED
from sarcgen.runfolder import FILTER_REPORT_JSON as FILTER_REPORT
from sarcgen.runfolder import JUDGE_DISAGREEMENTS as JUDGE_FILE
from sarcgen.runfolder import REJECTED as GEN_REJECTED

# Facets shown on the page, in order. "outcome" is kept / unfiltered / "<stage>: <reason>".
FACETS = ("outcome", "decision", "label", "device", "aspect", "genre", "judge")
STATIC_FACETS = FACETS[2:]
DECISION_VALUES = ("undecided", "accept", "reject", "flip", "n/a")
SORTS = ("plan", "id", "words", "label", "device", "outcome")
TEXT_IN_LIST = 400  # characters of a review sent with a list page (the detail has all of it)


class Member(TypedDict):
    """One member of a near-duplicate cluster, as filter_report.json names it."""

    id: object
    reason: object
    score: object


@dataclass(slots=True)
class Row:
    """What the list, facets and search need of one record."""

    key: str  # unique on the page: the record id, or gen:<id>:<attempt> for a failed generation
    id: str
    plan_index: int
    outcome: str
    stage: str
    reason: str
    detail: str
    text: str
    label: int | None
    sarcastic: bool | None
    device: str
    aspect: str
    genre: str
    length: str
    words: int
    source: str  # file name in the run folder
    offset: int  # byte offset of its line
    judge: str = "not judged"
    reviewable: bool = True  # a review record (decisions apply); False for failed generations

    def facet_values(self) -> tuple[str, ...]:
        label = LABEL_NAMES[self.label] if self.label in (0, 1) else "none"
        return (label, self.device or "none", self.aspect or "none", self.genre or "none", self.judge)


@dataclass
class Page:
    """One page of a query: the rows, how many matched, and the facet counts."""

    total: int
    offset: int
    rows: list[Row]
    facets: dict[str, dict[str, int]]


@dataclass
class Query:
    """A search: free text, facet filters, sort order."""

    q: str = ""
    filters: dict[str, set[str]] = field(default_factory=dict)
    sort: str = "plan"
    desc: bool = False


def _label(value: object) -> int | None:
    """0 or 1 from a record's label field; None for anything else."""
    return int(value) if isinstance(value, (int, float)) and value in (0, 1) else None


def _row(rec: Mapping[str, object], *, key: str, outcome: str, source: str, offset: int, stage: str = "",
         reason: str = "", detail: str = "", text: object = None, reviewable: bool = True) -> Row:
    body = text if text is not None else rec.get("text")
    body = body if isinstance(body, str) else ""
    sarcastic = rec.get("sarcastic")
    plan_index = rec.get("plan_index")
    return Row(key=key, id=str(rec.get("id", key)), plan_index=plan_index if isinstance(plan_index, int) else -1,
               outcome=outcome, stage=stage, reason=reason, detail=detail[:500], text=body,
               label=_label(rec.get("label")), sarcastic=sarcastic if isinstance(sarcastic, bool) else None,
               device=str(rec.get("device") or ""), aspect=str(rec.get("aspect") or ""),
               genre=str(rec.get("genre") or ""), length=str(rec.get("length") or ""), words=len(body.split()),
               source=source, offset=offset, reviewable=reviewable)


class RunIndex:
    """Every record of a run folder plus its decisions; see the module docstring."""

    def __init__(self, run_dir: str | Path, store: DecisionStore | None = None) -> None:
        self.run_dir = Path(run_dir).resolve()
        if not self.run_dir.is_dir():
            raise InputError(f"{run_dir}: no such run folder", "pass the folder `sarcgen generate` wrote (outputs/<run>)")
        self.store = store or DecisionStore(self.run_dir)
        self.report: dict[str, object] = self._read_report()
        self.filtered = (self.run_dir / FILTERED).is_file()
        self.judged = bool(self.report.get("judge"))
        self.rows: list[Row] = []
        self._load()
        if not self.rows:
            raise InputError(f"{self.run_dir}: no records to review",
                             "run `sarcgen generate` (and `sarcgen filter`) into this folder first")
        self.by_key = {r.key: i for i, r in enumerate(self.rows)}
        self.by_id: dict[str, int] = {}
        for i, r in enumerate(self.rows):
            if r.reviewable:
                self.by_id.setdefault(r.id, i)
        self._lower = [f"{r.text}\n{r.key}".lower() for r in self.rows]
        self._orders: dict[str, np.ndarray] = {"plan": np.arange(len(self.rows))}  # _load sorted them so
        self._searches: dict[tuple[str, ...], np.ndarray] = {}
        self._encode()
        self._summary = self._count_summary()
        self.clusters = self._clusters()

    # -- loading -----------------------------------------------------------------------------
    def _read_report(self) -> dict[str, object]:
        path = self.run_dir / FILTER_REPORT
        if not path.is_file():
            return {}
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}

    def _load(self) -> None:
        judge = self._judge_answers()
        if self.filtered:
            for _, off, kept in scan_jsonl(self.run_dir / FILTERED):
                self.rows.append(_row(kept, key=str(kept.get("id")), outcome="kept", source=FILTERED, offset=off))
            rej = self.run_dir / FILTER_REJECTED
            for line_no, off, rj in (scan_jsonl(rej) if rej.is_file() else ()):
                record = rj.get("record")
                rec: dict[str, object] = record if isinstance(record, dict) else {"id": rj.get("id")}
                stage, reason = str(rj.get("stage", "")), str(rj.get("reason", ""))
                key = str(rj.get("id")) if isinstance(record, dict) else f"{stage}:{FILTER_REJECTED}:{line_no}"
                self.rows.append(_row(rec, key=key, outcome=f"{stage}: {reason}", source=FILTER_REJECTED, offset=off,
                                      stage=stage, reason=reason, detail=str(rj.get("detail", "")), text=rj.get("text"),
                                      reviewable=isinstance(record, dict)))
        elif (self.run_dir / GENERATED).is_file():
            for _, off, rec in scan_jsonl(self.run_dir / GENERATED):
                self.rows.append(_row(rec, key=str(rec.get("id")), outcome="unfiltered", source=GENERATED, offset=off))
        seen: set[str] = set()
        for n, r in enumerate(self.rows):  # ids repeat only in hand-edited files: keep keys unique
            if r.key in seen:
                r.key, r.reviewable = f"{r.key}#{n}", False
            seen.add(r.key)
        gen = self.run_dir / GEN_REJECTED
        for line_no, off, rj in (scan_jsonl(gen) if gen.is_file() else ()):
            reason = str(rj.get("reason", ""))
            self.rows.append(_row({"id": rj.get("id"), "plan_index": rj.get("plan_index")},
                                  key=f"gen:{rj.get('id')}:{rj.get('attempt', line_no)}:{line_no}",
                                  outcome=f"generate: {reason}", source=GEN_REJECTED, offset=off, stage="generate",
                                  reason=reason, detail=str(rj.get("detail", "")), text=rj.get("text"), reviewable=False))
        for r in self.rows:
            if r.stage == "judge":
                r.judge = "disagrees"
            elif self.judged and r.outcome == "kept":
                r.judge = "agrees"
            if r.id in judge and r.stage == "judge":
                r.detail = r.detail or str(judge[r.id].get("answer", ""))
        self.rows.sort(key=lambda r: (not r.reviewable, r.plan_index, r.key))

    def _judge_answers(self) -> dict[str, dict[str, object]]:
        path = self.run_dir / JUDGE_FILE
        return {str(o.get("id")): o for _, _, o in scan_jsonl(path)} if path.is_file() else {}

    def _clusters(self) -> dict[str, list[Member]]:
        """id -> its near-duplicate cluster (kept member first), from filter_report.json."""
        out: dict[str, list[Member]] = {}
        for c in map(json_object, json_list(json_object(self.report.get("dedupe")).get("clusters"))):
            members = [Member(id=c.get("kept"), reason="kept", score=None)]
            members += [Member(id=d.get("id"), reason=d.get("reason"), score=d.get("score"))
                        for d in map(json_object, json_list(c.get("duplicates")))]
            for m in members:
                out[str(m["id"])] = members
        return out

    def _encode(self) -> None:
        """One integer code per row and facet (numpy), so a filter is a mask and a count a bincount."""
        self._codes: dict[str, np.ndarray] = {}
        self._names: dict[str, list[str]] = {}
        columns: dict[str, list[str]] = {"outcome": [r.outcome for r in self.rows]}
        statics = [r.facet_values() for r in self.rows]
        for k, name in enumerate(STATIC_FACETS):
            columns[name] = [v[k] for v in statics]
        for name, values in columns.items():
            names = sorted(set(values))
            code = {v: c for c, v in enumerate(names)}
            self._names[name] = names
            self._codes[name] = np.fromiter((code[v] for v in values), dtype=np.int32, count=len(values))
        self._names["decision"] = list(DECISION_VALUES)
        self._codes["decision"] = np.fromiter((DECISION_VALUES.index(self.decision_of(r)) for r in self.rows),
                                              dtype=np.int32, count=len(self.rows))

    # -- queries -----------------------------------------------------------------------------
    def decision_of(self, row: Row) -> str:
        if not row.reviewable:
            return "n/a"
        d = self.store.get(row.id)
        return d.decision if d is not None else "undecided"

    def record(self, decision: Decision) -> Decision:
        """Store a decision (review.jsonl) and update the decision facet of its row."""
        self.store.record(decision)
        i = self.by_id.get(decision.id)
        if i is not None:
            self._codes["decision"][i] = DECISION_VALUES.index(self.decision_of(self.rows[i]))
        return decision

    def _order(self, sort: str) -> np.ndarray:
        if sort not in SORTS:
            raise InputError(f"sort {sort!r}: expected one of {', '.join(SORTS)}")
        if sort not in self._orders:
            keys = {
                "plan": lambda r: (not r.reviewable, r.plan_index, r.key),
                "id": lambda r: r.key,
                "words": lambda r: (r.words, r.key),
                "label": lambda r: (r.label if r.label is not None else 9, r.plan_index, r.key),
                "device": lambda r: (r.device, r.aspect, r.plan_index, r.key),
                "outcome": lambda r: (r.outcome != "kept", r.outcome, r.plan_index, r.key),
            }
            ranked = sorted(range(len(self.rows)), key=lambda i: keys[sort](self.rows[i]))
            self._orders[sort] = np.asarray(ranked, dtype=np.int64)
        return self._orders[sort]

    def _search(self, terms: tuple[str, ...]) -> np.ndarray:
        """Mask of rows whose text or key holds every term (the last few searches are cached:
        paging through one search costs one scan)."""
        if terms not in self._searches:
            hits: list[int] | range = range(len(self._lower))
            for t in terms:
                lower = self._lower
                hits = [i for i in hits if t in lower[i]]
            mask = np.zeros(len(self.rows), dtype=bool)
            mask[np.asarray(list(hits), dtype=np.int64)] = True
            if len(self._searches) >= 8:
                self._searches.pop(next(iter(self._searches)))
            self._searches[terms] = mask
        return self._searches[terms]

    def query(self, query: Query, offset: int = 0, limit: int = 50) -> Page:
        """Rows `offset:offset+limit` of the matches, the match count and the facet counts."""
        n = len(self.rows)
        terms = tuple(query.q.lower().split())
        base = self._search(terms) if terms else np.ones(n, dtype=bool)
        masks: dict[str, np.ndarray] = {}
        for facet, values in query.filters.items():
            if facet in FACETS and values:
                wanted = [c for c, v in enumerate(self._names[facet]) if v in values]
                masks[facet] = np.isin(self._codes[facet], np.asarray(wanted, dtype=np.int32))
        full = base.copy()
        for m in masks.values():
            full &= m
        facets: dict[str, dict[str, int]] = {}
        for facet in FACETS:  # each facet counted under every other filter, so its siblings stay visible
            m = base.copy()
            for other, om in masks.items():
                if other != facet:
                    m &= om
            counts = np.bincount(self._codes[facet][m], minlength=len(self._names[facet]))
            items = [(v, int(c)) for v, c in zip(self._names[facet], counts) if c]
            items.sort(key=lambda kv: (kv[0] != "kept", -kv[1], kv[0]))
            facets[facet] = dict(items)
        order = self._order(query.sort)
        if query.desc:
            order = order[::-1]
        matched = order[full[order]]
        page = [self.rows[int(i)] for i in matched[offset:offset + limit]]
        return Page(int(matched.size), offset, page, facets)

    def decision_counts(self) -> dict[str, int]:
        counts = np.bincount(self._codes["decision"], minlength=len(DECISION_VALUES))
        return {v: int(c) for v, c in zip(DECISION_VALUES, counts) if c or v == "undecided"}

    # -- one record --------------------------------------------------------------------------
    def raw(self, row: Row) -> dict[str, object]:
        """The full line a row came from (record with provenance, or the rejection); {} when the
        file changed since the index was built (a stage re-ran: restart the page to see it)."""
        try:
            with (self.run_dir / row.source).open("rb") as fh:
                fh.seek(row.offset)
                obj = json.loads(fh.readline())
        except (OSError, ValueError):
            return {}
        if not isinstance(obj, dict) or str(obj.get("id")) != row.id:
            return {}
        return obj

    def row_for(self, key: str) -> Row:
        i = self.by_key.get(key)
        if i is None:
            raise KeyError(key)
        return self.rows[i]

    def summary(self) -> dict[str, object]:
        """Counts for the header: they are the filter report's numbers, recounted from the files."""
        return {**self._summary, "decisions": dict(self.decision_counts())}

    def _count_summary(self) -> dict[str, object]:
        by_stage: dict[str, Counter[str]] = {}
        for r in self.rows:
            if r.stage and r.stage != "generate":
                by_stage.setdefault(r.stage, Counter())[r.reason] += 1
        return {
            "run": self.run_dir.name,
            "records": len(self.rows),
            "filtered": self.filtered,
            "judged": self.judged,
            "kept": sum(1 for r in self.rows if r.outcome == "kept"),
            "filter_total": sum(1 for r in self.rows if r.outcome == "kept" or r.source == FILTER_REJECTED),
            "unfiltered": sum(1 for r in self.rows if r.outcome == "unfiltered"),
            "failed_generations": sum(1 for r in self.rows if r.source == GEN_REJECTED),
            "by_stage": {s: dict(sorted(c.items())) for s, c in by_stage.items()},
        }

    def coverage(self) -> dict[str, object]:
        """device x aspect counts: generated (before the filter), kept by it, and kept after human
        rejects. The first two are the filter report's own tables when it has them."""
        before: dict[str, dict[str, int]] = {}
        after: dict[str, dict[str, int]] = {}
        reviewed: dict[str, dict[str, int]] = {}
        for r in self.rows:
            if not r.reviewable or not r.device:
                continue
            before.setdefault(r.device, Counter())[r.aspect] += 1
            if r.outcome in ("kept", "unfiltered"):
                after.setdefault(r.device, Counter())[r.aspect] += 1
                if self.decision_of(r) != "reject":
                    reviewed.setdefault(r.device, Counter())[r.aspect] += 1
        if self.report.get("cells_before") is not None:
            before, after = _cells(self.report["cells_before"]), _cells(self.report.get("cells_after"))
        devices = sorted(set(before) | set(after), key=lambda d: (d == "sincere", d))
        aspects = sorted({a for t in (before, after) for row in t.values() for a in row})

        def grid(t: dict[str, dict[str, int]]) -> list[list[int]]:
            return [[int(t.get(d, {}).get(a, 0)) for a in aspects] for d in devices]

        return {"devices": devices, "aspects": aspects, "before": grid(before), "after": grid(after),
                "reviewed": grid(reviewed)}


def _cells(value: object) -> dict[str, dict[str, int]]:
    """A filter report's device x aspect table (cells_before, cells_after); {} when it has none."""
    return {str(device): {str(aspect): n for aspect, n in json_object(row).items() if isinstance(n, int)}
            for device, row in json_object(value).items()}
