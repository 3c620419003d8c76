"""`sarcgen filter`: validate -> dedupe -> decontaminate -> (judge) generated reviews.

Reads run folder(s) (their generated.jsonl) or JSONL files of `Review` rows and writes, by default
into the (first) run folder:

- filtered.jsonl           the reviews that passed every stage, in plan order;
- filter_rejected.jsonl    every other row as a `Rejection` (stage, reason, detail, text, record);
- judge_disagreements.jsonl  (with --judge) what the judge said where it disagreed;
- label_checks.jsonl       (with --judge) the judge's verdict on every row it saw, confirmed or not;
- filter_audit.json / .md  (with --audit GOLD) what each check and the whole filter keep and drop,
  measured against a labelled sample (`sarcgen.filter.audit`);
- filter_report.json / .md, filter_lengths.png  counts per reason, per device x aspect cell
  before and after, duplicate clusters, every decontamination drop with the text it matched,
  judge agreement, diversity.

Same input and settings -> byte-identical outputs (nothing time-dependent is written).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sarcgen import runfolder as rf
from sarcgen.errors import InputError, file_errors
from sarcgen.filter import registry
from sarcgen.filter.registry import Active
from sarcgen.filter.report import FilterReport
from sarcgen.jsonl import iter_jsonl, write_json, write_jsonl, write_text
from sarcgen.recipe import Recipe
from sarcgen.records import RecipeMix, Rejection, Review

if TYPE_CHECKING:
    from sarcgen.backends.base import Backend
    from sarcgen.filter.audit import Gold

OUTPUTS = (rf.FILTERED, rf.FILTER_REJECTED, rf.FILTER_REPORT_JSON, rf.FILTER_REPORT_MD, rf.FILTER_LENGTHS_PNG,
           rf.LABEL_CHECKS, rf.FILTER_AUDIT_JSON, rf.FILTER_AUDIT_MD)


@dataclass
class _Row:
    order: tuple[int, int, int]
    review: Review


def _read(inputs: Sequence[Path], report: FilterReport, rejected: list[Rejection]) -> list[Review]:
    from sarcgen.filter.validate import parse_record

    rows: list[_Row] = []
    seen: set[str] = set()
    for n_in, path in enumerate(inputs):
        lines = 0
        mix = RecipeMix()

        def bad(p: Path, line_no: int, msg: str) -> None:
            report.malformed.append(f"{p}:{line_no}: {msg}")
            rejected.append(Rejection(id=f"{p.name}:{line_no}", stage="read", reason="malformed_json", detail=f"{p}:{line_no}: {msg}"))

        for line_no, obj in iter_jsonl(path, on_error=bad):
            lines += 1
            review, problem = parse_record(obj)
            rid = str(obj.get("id", f"{path.name}:{line_no}"))
            if review is None:
                rejected.append(Rejection(id=rid, stage="validate", reason="schema", detail=f"{path}:{line_no}: {problem}",
                                          text=obj.get("text") if isinstance(obj.get("text"), str) else None, record=obj))
                continue
            mixed = mix.add(line_no, review)
            if mixed:
                raise InputError(*RecipeMix.message(path, mixed))
            if review.id in seen:
                rejected.append(Rejection(id=review.id, plan_index=review.plan_index, stage="validate", reason="duplicate_id",
                                          detail=f"{path}:{line_no}: id {review.id!r} seen before", text=review.text, record=obj))
                continue
            seen.add(review.id)
            rows.append(_Row((review.plan_index, n_in, line_no), review))
        if lines == 0:
            bad_lines = [m for m in report.malformed if m.startswith(f"{path}:")]
            if not bad_lines:
                raise InputError(f"{path}: no records (empty file)", "run `sarcgen generate` first, or pass a non-empty JSONL file")
            raise InputError(f"{path}: no readable records ({len(bad_lines)} malformed line(s); first: {bad_lines[0]})",
                             "is this a sarcgen JSONL file? each line must be one JSON object")
    report.total = len(rows) + len(rejected)
    rows.sort(key=lambda r: r.order)
    return [r.review for r in rows]


def _reject(rejected: list[Rejection], r: Review, stage: str, reason: str, detail: str) -> None:
    rejected.append(Rejection(id=r.id, plan_index=r.plan_index, stage=stage, reason=reason, detail=detail,
                              text=r.text, record=r.model_dump(mode="json")))


def apply_checks(checks: Sequence[Active], reviews: list[Review], report: FilterReport, rejected: list[Rejection],
                 *, progress: bool = True) -> list[Review]:
    """Each check in turn over what the previous ones kept; every drop becomes a `Rejection`."""
    from tqdm import tqdm

    bar = tqdm(total=len(checks), desc="filter", unit="stage", file=sys.stderr, disable=not progress, leave=False)
    kept = reviews
    for active in checks:
        bar.set_postfix_str(f"{active.stage} {len(kept)}")
        report.stage_in[active.stage] = len(kept)
        verdicts = active.check.apply(kept, report)
        if len(verdicts) != len(kept):
            raise AssertionError(f"{active.stage}: {len(verdicts)} verdicts for {len(kept)} reviews")
        for r, v in zip(kept, verdicts):
            if v is not None:
                _reject(rejected, r, active.stage, v.reason, v.detail)
        kept = [r for r, v in zip(kept, verdicts) if v is None]
        bar.update(1)
    bar.close()
    return kept


def _count(report: FilterReport, rejected: list[Rejection], before: list[Review], kept: list[Review]) -> None:
    from sarcgen.filter import diversity as dv
    from sarcgen.filter.classes import class_counts, label_gate, vanished_warnings

    report.labels, unverified = label_gate(report.judge)
    if unverified:
        report.warnings.append(unverified)
    report.kept = len(kept)
    report.cells_after = dv.coverage(kept)
    report.classes = {"read": class_counts(before), "kept": class_counts(kept)}
    report.warnings = vanished_warnings(before, kept, rejected, report.settings["vanished_class_share"]) + report.warnings
    for rj in rejected:
        report.counts[rj.reason] = report.counts.get(rj.reason, 0) + 1
        report.by_stage.setdefault(rj.stage, {})[rj.reason] = report.by_stage.get(rj.stage, {}).get(rj.reason, 0) + 1
    report.counts = dict(sorted(report.counts.items()))
    report.by_stage = {s: dict(sorted(report.by_stage[s].items())) for s in registry.stages() if s in report.by_stage}
    report.diversity_before = dv.diversity_stats(before)
    report.diversity_after = dv.diversity_stats(kept)


def _write(out: Path, report: FilterReport, rejected: list[Rejection], before: list[Review], kept: list[Review],
           disagreements: list[dict[str, Any]] | None, label_checks: list[dict[str, Any]] | None = None) -> None:
    from sarcgen.filter import diversity as dv
    from sarcgen.filter.report import render_markdown

    stage_rank = {s: k for k, s in enumerate(registry.stages())}
    rejected.sort(key=lambda rj: (stage_rank[rj.stage], rj.plan_index if rj.plan_index is not None else -1, rj.id))
    with file_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / rf.FILTERED, kept)
    write_jsonl(out / rf.FILTER_REJECTED, rejected)
    report.files = {"filtered": rf.FILTERED, "rejected": rf.FILTER_REJECTED}
    if disagreements is not None:
        write_jsonl(out / rf.JUDGE_DISAGREEMENTS, disagreements)
        report.files["judge_disagreements"] = rf.JUDGE_DISAGREEMENTS
    if label_checks is not None:
        write_jsonl(out / rf.LABEL_CHECKS, label_checks)
        report.files["label_checks"] = rf.LABEL_CHECKS
    with file_errors(out / rf.FILTER_LENGTHS_PNG):
        dv.plot_lengths([r.text for r in before], [r.text for r in kept], out / rf.FILTER_LENGTHS_PNG)
    report.files.update({"lengths_png": rf.FILTER_LENGTHS_PNG, "report_md": rf.FILTER_REPORT_MD,
                         "report_json": rf.FILTER_REPORT_JSON})
    write_json(out / rf.FILTER_REPORT_JSON, report.to_json())
    write_text(out / rf.FILTER_REPORT_MD, render_markdown(report))


def _each_alone(checks: Sequence[Active], before: list[Review], audit: str | Path, out: Path, recipe: Recipe,
                source: str) -> tuple[dict[str, Gold], list[tuple[str, str, str]]]:
    """The gold reading (read first: a bad gold file fails before any model is loaded) and every
    check alone over every record, into a scratch report (the real one is the filter's pass)."""
    from sarcgen.filter.audit import each_alone, load_gold

    gold = load_gold(audit, before)
    return gold, each_alone(checks, before, FilterReport([], out, source, recipe.filter.model_dump(mode="json")))


def _write_audit(out: Path, report: FilterReport, gold_path: str | Path, gold: dict[str, Gold], before: list[Review],
                 kept: list[Review], alone: list[tuple[str, str, str]]) -> None:
    from sarcgen.filter.audit import Audit, check_tallies, render_markdown, tally

    audit = Audit(str(gold_path), len(gold), tally(before, gold, {r.id for r in kept}), check_tallies(before, gold, alone))
    report.audit = audit.to_json()
    write_json(out / rf.FILTER_AUDIT_JSON, report.audit)
    write_text(out / rf.FILTER_AUDIT_MD, render_markdown(audit))
    report.files.update({"audit_json": rf.FILTER_AUDIT_JSON, "audit_md": rf.FILTER_AUDIT_MD})
    write_json(out / rf.FILTER_REPORT_JSON, report.to_json())


def filter_fingerprint(recipe: Recipe) -> str:
    """The settings hash filter records: its section, and the judge's model and template when it judges."""
    judge = ({"template": recipe.filter.judge_template, "backend": recipe.generate.backend,
              "model": (recipe.filter.judge_model or recipe.model).model_dump(mode="json")} if recipe.filter.judge else None)
    # the judge template counts only when the filter judges (under "judge"): without a judge it changes nothing
    section = recipe.filter.model_dump(mode="json", exclude={"judge_template"})
    return rf.settings_hash({"filter": section, "judge": judge})


def filter_inputs(run: Path) -> dict[str, str | None]:
    """What the filter of a run folder reads: its generated.jsonl (fingerprinted)."""
    return {rf.GENERATED: rf.fingerprint(run / rf.GENERATED)}


def _record(out: Path, paths: Sequence[Path], recipe: Recipe) -> None:
    """Record the filter's completion in `out`'s manifest when `out` is the run folder it read."""
    if len(paths) != 1 or paths[0].resolve() != (out / rf.GENERATED).resolve():
        return
    rf.record_stage(out, "filter", inputs=filter_inputs(out), settings=filter_fingerprint(recipe),
                    outputs=[name for name in OUTPUTS if (out / name).is_file()])


def run_filter(
    inputs: Sequence[str | Path],
    recipe: Recipe | None = None,
    out_dir: str | Path | None = None,
    *,
    recipe_source: str = "<given>",
    backend: Backend | None = None,
    progress: bool = True,
    audit: str | Path | None = None,
) -> FilterReport:
    """Filter the reviews in `inputs` (run folders or JSONL files) into `out_dir` (default: the
    first input's folder). `backend` overrides the judge's backend (tests); otherwise --judge
    builds one with `sarcgen.backends.create_backend(recipe, filter.judge_model or model)`.
    `audit` (a gold.jsonl or a review.jsonl) also measures every check against those labels
    (`sarcgen.filter.audit`) and writes filter_audit.json/.md; the result is `report.audit`."""
    from sarcgen.filter import diversity as dv
    from sarcgen.filter.judge import Judge

    if not inputs:
        raise InputError("no input given", "pass a run folder (outputs/<run>) or a JSONL file")
    recipe = recipe or Recipe()
    paths = [rf.generated_file(Path(p)) for p in inputs]
    if out_dir is None:
        first = Path(inputs[0])
        out_dir = first if first.is_dir() else first.parent
    out = Path(out_dir)
    if rf.is_other_run(out, [Path(p) for p in inputs]):
        raise InputError(f"--out {out} is another run folder (it has its own {rf.GENERATED}): its filtered data would "
                         "then come from a different run", "pass --out NEW_DIR, or filter that folder itself")
    report = FilterReport([str(p) for p in paths], out, recipe_source, recipe.filter.model_dump(mode="json"))
    for p in inputs:
        note = rf.unfinished_warning(Path(p)) if Path(p).is_dir() else None
        if note:
            report.warnings.append(note)
    rejected: list[Rejection] = []
    before = _read(paths, report, rejected)
    if report.total == 0:
        raise InputError(f"{', '.join(map(str, paths))}: no records", "run `sarcgen generate` first")
    report.cells_before = dv.coverage(before)
    checks = registry.build(recipe, backend, progress=progress)
    audited = _each_alone(checks, before, audit, out, recipe, recipe_source) if audit is not None else None
    kept = apply_checks(checks, list(before), report, rejected, progress=progress)
    _count(report, rejected, before, kept)
    if audited is not None and audit is not None:
        gold, alone = audited
        _write_audit(out, report, audit, gold, before, kept, alone)
    judges = [a.check for a in checks if isinstance(a.check, Judge)]
    _write(out, report, rejected, before, kept, judges[0].disagreements if judges else None,
           judges[0].rows if judges else None)
    _record(out, paths, recipe)
    return report
