"""filter_report.md: the filter's numbers as Markdown tables (rendered from a `FilterReport`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from sarcgen.jsonl import json_object

# The shapes of filter_report.json's sections, each filled by the stage that names it.


class DuplicateJson(TypedDict):
    """One dropped duplicate of a cluster (dedupe)."""

    id: str
    reason: str
    score: float


class ClusterJson(TypedDict):
    """One near-duplicate cluster: the kept record and its dropped duplicates (dedupe)."""

    kept: str
    duplicates: list[DuplicateJson]


class DedupeSummary(TypedDict, total=False):
    """The dedupe section ({} when the stage did not run)."""

    template_openers: list[str]
    template_closers: list[str]
    clusters: list[ClusterJson]
    stats: dict[str, float]


class ContaminationJson(TypedDict):
    """One decontamination drop, with the evaluation text it matched."""

    id: str
    text: str
    source: str
    eval_index: int
    matched_text: str
    score: float
    method: str


class LengthBin(TypedDict):
    bin: str
    count: int


class Diversity(TypedDict, total=False):
    """`sarcgen.filter.diversity.diversity_stats` of a set of reviews ({} until the filter computed it)."""

    reviews: int
    distinct_1: float
    distinct_2: float
    mean_pairwise_similarity: float | None
    mean_words: float
    length_histogram: list[LengthBin]


class Agreement(TypedDict):
    """How often the judge agreed with the requested labels (`sarcgen.filter.judge.agreement`)."""

    agreement_rate: float | None
    judged: int
    parsed: int
    agreements: int
    sentiment_agreement_rate: float | None
    sarcasm_agreement_rate: float | None
    unparseable: int
    errors: int


class _JudgeModel(Agreement):
    model_file: str | None
    model_sha256: str | None
    backend: str | None


class JudgeSummary(_JudgeModel, total=False):
    """The judge section: the agreement, the model, and (once a model ran) its mode and calibration."""

    mode: str
    calibration: dict[str, object]  # `sarcgen.filter.calibration.Calibration.to_json()` less the answers


class TallyJson(TypedDict):
    """`Tally.to_json()`: one row of filter_audit.json's "classes"."""

    records: int
    good: int
    kept: int
    kept_good: int
    kept_wrong_label: int
    kept_incoherent: int
    precision: float | None
    label_precision: float | None
    recall: float | None


class CheckJson(TypedDict):
    """`CheckTally.to_json()`: one row of filter_audit.json's "checks"."""

    stage: str
    reason: str
    rejected: int
    rejected_good: int
    rejected_bad: int
    verdict: str


class AuditJson(TypedDict):
    """filter_audit.json (and filter_report.json's "audit")."""

    gold_file: str
    audited: int
    classes: dict[str, TallyJson]
    checks: list[CheckJson]


@dataclass
class FilterReport:
    """What `run_filter` did. `to_json()` is what filter_report.json holds."""

    inputs: list[str]
    out_dir: Path
    recipe_source: str
    settings: dict[str, Any]
    total: int = 0
    kept: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # reason -> rows
    by_stage: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> reason -> rows
    stage_in: dict[str, int] = field(default_factory=dict)  # rows entering each stage
    cells_before: dict[str, dict[str, int]] = field(default_factory=dict)
    cells_after: dict[str, dict[str, int]] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)
    dedupe: DedupeSummary = field(default_factory=DedupeSummary)
    decontamination: list[ContaminationJson] = field(default_factory=list)
    eval_sets: dict[str, int] = field(default_factory=dict)
    judge: JudgeSummary | None = None
    diversity_before: Diversity = field(default_factory=Diversity)
    diversity_after: Diversity = field(default_factory=Diversity)
    files: dict[str, str] = field(default_factory=dict)
    classes: dict[str, dict[str, int]] = field(default_factory=dict)  # read/kept -> class -> rows
    warnings: list[str] = field(default_factory=list)  # shown first, by the CLI and in the report
    audit: AuditJson | None = None  # with --audit: sarcgen.filter.audit.Audit.to_json()
    labels: Mapping[str, object] = field(default_factory=dict)  # sarcgen.filter.classes.label_gate: verified, by what

    @property
    def rejected(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "out_dir"}
        d["out_dir"] = str(self.out_dir)
        d["rejected"] = self.rejected
        return d


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return out + [""]


def _short(t: str, n: int = 140) -> str:
    return t if len(t) <= n else t[: n - 1] + "\u2026"


def _summary(rep: FilterReport) -> list[str]:
    L = ["# Filter report", ""]
    L += [f"> **Warning:** {w}" for w in rep.warnings] + ([""] if rep.warnings else [])
    L += [f"- inputs: {', '.join(f'`{p}`' for p in rep.inputs)}", f"- settings from: `{rep.recipe_source}`",
          f"- rows read: **{rep.total}**, kept: **{rep.kept}**, rejected: **{rep.rejected}**"
          + (f" ({rep.kept / rep.total:.1%} kept)" if rep.total else ""), ""]
    if rep.classes:
        L += ["Classes, read -> kept: " + ", ".join(f"{name} {rep.classes['read'][name]} -> {rep.classes['kept'][name]}"
                                                    for name in rep.classes["read"]), ""]
    s = rep.settings
    L += ["Thresholds: " + ", ".join(f"{k}={s[k]}" for k in ("min_words", "max_words", "language", "near_dup_threshold",
                                                            "decontam_threshold", "judge")), ""]
    L += ["## Drops per reason", ""]
    rows = [[stage, reason, n] for stage, reasons in rep.by_stage.items() for reason, n in reasons.items()]
    L += _table(["stage", "reason", "rows"], rows) if rows else ["Nothing was dropped.", ""]
    return L + _table(["stage", "rows in"], [[k, v] for k, v in rep.stage_in.items()])


def _cells(rep: FilterReport) -> list[str]:
    L = ["## Device x aspect, before -> after", ""]
    aspects = sorted({a for row in rep.cells_before.values() for a in row})
    rows = []
    for dev in sorted(rep.cells_before):
        b, a = rep.cells_before[dev], rep.cells_after.get(dev, {})
        rows.append([dev] + [f"{b.get(x, 0)} -> {a.get(x, 0)}" for x in aspects])
    L += _table(["device"] + aspects, rows) if rows else ["No valid records.", ""]
    empty = [f"{d} x {x}" for d in sorted(rep.cells_before) for x in aspects
             if rep.cells_before[d].get(x, 0) and not rep.cells_after.get(d, {}).get(x, 0)]
    if empty:
        L += ["Cells emptied by the filter: " + ", ".join(empty), ""]
    return L


def _duplicates(rep: FilterReport) -> list[str]:
    d = rep.dedupe
    L = ["## Duplicates", ""]
    if d:
        L += [f"Template openers removed before comparing: {', '.join(repr(x) for x in d['template_openers']) or 'none'}; "
              f"closers: {', '.join(repr(x) for x in d['template_closers']) or 'none'}.", ""]
        L += [f"Stats: {', '.join(f'{k}={v}' for k, v in d['stats'].items())}", ""]
        if d["clusters"]:
            rows = [[c["kept"], ", ".join(f"{m['id']} ({m['reason']}, {m['score']})" for m in c["duplicates"])]
                    for c in d["clusters"][:50]]
            L += _table(["kept", "dropped as its duplicates"], rows)
            if len(d["clusters"]) > 50:
                L += [f"... and {len(d['clusters']) - 50} more clusters (filter_report.json has them all).", ""]
    return L


def _decontamination(rep: FilterReport) -> list[str]:
    L = ["## Decontamination", ""]
    L += ["Evaluation texts: " + ", ".join(f"{k} ({v})" for k, v in rep.eval_sets.items()), ""]
    if not rep.decontamination:
        return L + ["No item near-matched an evaluation text.", ""]
    return L + _table(["id", "score", "method", "matched", "review"],
                      [[c["id"], c["score"], c["method"], f"{c['source']}#{c['eval_index']}: {_short(c['matched_text'])}",
                        _short(c["text"])] for c in rep.decontamination])


def _judge(rep: FilterReport) -> list[str]:
    j = rep.judge
    if j is None:
        return []
    L = ["## Judge", "", f"Model `{j.get('model_file')}` ({j.get('backend')}), blind to the requested attributes.", ""]
    cal = j.get("calibration")
    if cal:
        per_class = {k: json_object(v) for k, v in json_object(cal["per_class"]).items()}
        per_kind = {k: json_object(v) for k, v in json_object(cal["per_kind"]).items()}
        verdict = "passed" if cal["passed"] else "FAILED"
        L += [f"Calibration as a `{cal['gate']}` gate ({cal['n']} labelled reviews; need precision >= {cal['min_precision']} "
              f"and recall >= {cal['min_recall']} per class): {verdict}; sentiment accuracy {cal['sentiment_accuracy']}, "
              f"sarcasm accuracy {cal['sarcasm_accuracy']}, {cal['unparseable']} unparseable; mode {j.get('mode')}"
              + (" (verdicts recorded, nothing dropped)" if j.get("mode") == "advisory" else "") + ".", ""]
        L += _table(["class", "calibration reviews", "let through", "recall", "other labels let through", "precision"],
                    [[k, v["n"], v["kept"], v["recall"], v["wrong_label"], v["precision"]] for k, v in per_class.items()])
        L += _table(["kind", "n", "sentiment accuracy", "sarcasm accuracy"],
                    [[k, v["n"], v["sentiment_accuracy"], v["sarcasm_accuracy"]] for k, v in per_kind.items()])
    return L + _table(["judged", "parsed", "agreements", "agreement rate", "sentiment agreement", "sarcasm agreement",
                       "unparseable", "errors"],
                      [[j["judged"], j["parsed"], j["agreements"], j["agreement_rate"], j["sentiment_agreement_rate"],
                        j["sarcasm_agreement_rate"], j["unparseable"], j["errors"]]])


def _diversity(rep: FilterReport) -> list[str]:
    L = ["## Diversity", ""]
    b, a = rep.diversity_before, rep.diversity_after
    keys = ["reviews", "distinct_1", "distinct_2", "mean_pairwise_similarity", "mean_words"]
    L += _table(["", *keys], [["before", *[b.get(k) for k in keys]], ["after", *[a.get(k) for k in keys]]])
    hb = {h["bin"]: h["count"] for h in b.get("length_histogram", [])}
    ha = {h["bin"]: h["count"] for h in a.get("length_histogram", [])}
    L += _table(["words", "before", "after"], [[k, hb[k], ha.get(k, 0)] for k in hb if hb[k] or ha.get(k, 0)])
    L += ["![review lengths](filter_lengths.png)", ""]
    if rep.malformed:
        L += ["## Malformed lines (skipped)", ""] + [f"- `{m}`" for m in rep.malformed] + [""]
    return L


def render_markdown(rep: FilterReport) -> str:
    """The whole report. Deterministic: no timestamps or timings."""
    sections = (_summary, _cells, _duplicates, _decontamination, _judge, _diversity)  # the audit has its own file
    return "\n".join(line for section in sections for line in section(rep))
