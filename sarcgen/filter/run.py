"""`sarcgen filter`: validate -> dedupe -> decontaminate -> (judge) generated reviews.

Reads run folder(s) (their generated.jsonl) or JSONL files of `Review` rows and writes, by default
into the (first) run folder:

- filtered.jsonl           the reviews that passed every stage, in plan order;
- filter_rejected.jsonl    every other row as a `Rejection` (stage, reason, detail, text, record);
- judge_disagreements.jsonl  (with --judge) what the judge said where it disagreed;
- filter_report.json / .md, filter_lengths.png  counts per reason, per device x aspect cell
  before and after, duplicate clusters, every decontamination drop with the text it matched,
  judge agreement, diversity.

Same input and settings -> byte-identical outputs (nothing time-dependent is written).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sarcgen.errors import InputError
from sarcgen.jsonl import iter_jsonl, write_json, write_jsonl
from sarcgen.recipe import Recipe, load_recipe
from sarcgen.records import RecipeMix, Rejection, Review

STAGES = ("read", "validate", "dedupe", "decontaminate", "judge")
RUN_FILE = "generated.jsonl"
OUTPUTS = ("filtered.jsonl", "filter_rejected.jsonl", "filter_report.json", "filter_report.md", "filter_lengths.png")


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
    dedupe: dict[str, Any] = field(default_factory=dict)
    decontamination: list[dict[str, Any]] = field(default_factory=list)
    eval_sets: dict[str, int] = field(default_factory=dict)
    judge: dict[str, Any] | None = None
    diversity_before: dict[str, Any] = field(default_factory=dict)
    diversity_after: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "out_dir"}
        d["out_dir"] = str(self.out_dir)
        d["rejected"] = self.rejected
        return d


def _run_file(p: Path) -> Path:
    if p.is_dir():
        f = p / RUN_FILE
        if not f.is_file():
            raise InputError(f"{p}: no {RUN_FILE} in this folder", "pass a run folder written by `sarcgen generate`, or a JSONL file")
        return f
    if not p.exists():
        raise InputError(f"{p}: no such file or folder", "pass a run folder or a JSONL file of reviews")
    return p


def resolve_recipe(inputs: Sequence[str | Path], recipe_path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> tuple[Recipe, str]:
    """Settings for the filter: `recipe_path` if given, else the first run folder's recipe.yaml,
    else the defaults; then `overrides` (dotted keys, None ignored). Returns (recipe, source)."""
    source = "<defaults>"
    if recipe_path is None:
        for inp in inputs:
            cand = Path(inp) / "recipe.yaml"
            if Path(inp).is_dir() and cand.is_file():
                recipe_path = cand
                break
    if recipe_path is not None:
        source = str(recipe_path)
    return load_recipe(recipe_path, overrides), source


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


def run_filter(
    inputs: Sequence[str | Path],
    recipe: Recipe | None = None,
    out_dir: str | Path | None = None,
    *,
    recipe_source: str = "<given>",
    backend: Any = None,
    progress: bool = True,
) -> FilterReport:
    """Filter the reviews in `inputs` (run folders or JSONL files) into `out_dir` (default: the
    first input's folder). `backend` overrides the judge's backend (tests); otherwise --judge
    builds one with `sarcgen.backends.create_backend(recipe, filter.judge_model or model)`."""
    from tqdm import tqdm

    from sarcgen.filter import decontaminate as dc
    from sarcgen.filter import dedupe as dd
    from sarcgen.filter import diversity as dv
    from sarcgen.filter import report as rp
    from sarcgen.filter.validate import build_checks, validate_record

    if not inputs:
        raise InputError("no input given", "pass a run folder (outputs/<run>) or a JSONL file")
    recipe = recipe or Recipe()
    fs = recipe.filter
    paths = [_run_file(Path(p)) for p in inputs]
    if out_dir is None:
        first = Path(inputs[0])
        out_dir = first if first.is_dir() else first.parent
    out = Path(out_dir)
    report = FilterReport([str(p) for p in paths], out, recipe_source, fs.model_dump(mode="json"))
    rejected: list[Rejection] = []
    reviews = _read(paths, report, rejected)
    if report.total == 0:
        raise InputError(f"{', '.join(map(str, paths))}: no records", "run `sarcgen generate` first")
    report.cells_before = dv.coverage(reviews)
    before = list(reviews)
    bar = tqdm(total=4 if fs.judge else 3, desc="filter", unit="stage", file=sys.stderr, disable=not progress, leave=False)
    bar.set_postfix_str(f"validate {len(reviews)}")

    # 1. validate
    report.stage_in["validate"] = len(reviews)
    checks = build_checks(fs)
    kept = []
    for r in reviews:
        bad = validate_record(r, checks)
        if bad:
            _reject(rejected, r, "validate", *bad)
        else:
            kept.append(r)

    bar.update(1)
    bar.set_postfix_str(f"dedupe {len(kept)}")
    # 2. dedupe (first by plan order wins)
    report.stage_in["dedupe"] = len(kept)
    res = dd.dedupe([r.text for r in kept], fs.near_dup_threshold)
    for i, d in sorted(res.dropped.items()):
        _reject(rejected, kept[i], "dedupe", d.reason, f"duplicate of {kept[d.kept].id} (score {d.score:.1f})")
    report.dedupe = {
        "template_openers": res.template_openers,
        "template_closers": res.template_closers,
        "clusters": [{"kept": kept[c["kept"]].id, "duplicates": [{"id": kept[m["index"]].id, "reason": m["reason"], "score": m["score"]}
                                                                  for m in c["duplicates"]]} for c in res.clusters],
        "stats": {k: v for k, v in res.stats.items() if not k.startswith("seconds")},
    }
    kept = [r for i, r in enumerate(kept) if i not in res.dropped]

    bar.update(1)
    bar.set_postfix_str(f"decontaminate {len(kept)}")
    # 3. decontaminate
    report.stage_in["decontaminate"] = len(kept)
    sets = dc.load_eval_sets(fs.against, fs.imdb_test)
    report.eval_sets = {s.name: len(s.texts) for s in sets}
    hits = dc.decontaminate([r.text for r in kept], sets, fs.decontam_threshold)
    for i, c in hits.items():
        _reject(rejected, kept[i], "decontaminate", dc.REASON, c.detail())
        report.decontamination.append({"id": kept[i].id, "text": kept[i].text, "source": c.source, "eval_index": c.eval_index,
                                       "matched_text": c.matched_text, "score": c.score, "method": c.method})
    kept = [r for i, r in enumerate(kept) if i not in hits]

    bar.update(1)
    # 4. judge (opt-in)
    disagreements: list[dict[str, Any]] = []
    if fs.judge:
        bar.set_postfix_str(f"judge {len(kept)}")
        kept, disagreements = _judge(kept, recipe, backend, rejected, report, progress)
        bar.update(1)
    bar.close()

    report.kept = len(kept)
    report.cells_after = dv.coverage(kept)
    for rj in rejected:
        report.counts[rj.reason] = report.counts.get(rj.reason, 0) + 1
        report.by_stage.setdefault(rj.stage, {})[rj.reason] = report.by_stage.get(rj.stage, {}).get(rj.reason, 0) + 1
    report.counts = dict(sorted(report.counts.items()))
    report.by_stage = {s: dict(sorted(report.by_stage[s].items())) for s in STAGES if s in report.by_stage}
    report.diversity_before = dv.diversity_stats(before)
    report.diversity_after = dv.diversity_stats(kept)

    stage_rank = {s: k for k, s in enumerate(STAGES)}
    rejected.sort(key=lambda rj: (stage_rank[rj.stage], rj.plan_index if rj.plan_index is not None else -1, rj.id))
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "filtered.jsonl", kept)
    write_jsonl(out / "filter_rejected.jsonl", rejected)
    report.files = {"filtered": "filtered.jsonl", "rejected": "filter_rejected.jsonl"}
    if fs.judge:
        write_jsonl(out / "judge_disagreements.jsonl", disagreements)
        report.files["judge_disagreements"] = "judge_disagreements.jsonl"
    dv.plot_lengths([r.text for r in before], [r.text for r in kept], out / "filter_lengths.png")
    report.files.update({"lengths_png": "filter_lengths.png", "report_md": "filter_report.md", "report_json": "filter_report.json"})
    write_json(out / "filter_report.json", report.to_json())
    (out / "filter_report.md").write_text(rp.render_markdown(report), encoding="utf-8")
    return report


def _judge(kept: list[Review], recipe: Recipe, backend: Any, rejected: list[Rejection], report: FilterReport,
           progress: bool) -> tuple[list[Review], list[dict[str, Any]]]:
    from sarcgen.filter import judge as jg

    report.stage_in["judge"] = len(kept)
    if not kept:  # nothing left to judge: do not load a model for it
        report.judge = {**jg.agreement([]), "model_file": None, "model_sha256": None, "backend": None}
        return kept, []
    own = backend is None
    if own:
        from sarcgen.backends import create_backend

        backend = create_backend(recipe, recipe.filter.judge_model or recipe.model)
    try:
        if own or not getattr(backend, "loaded", True):
            backend.load()
        info = backend.info()
        outcomes = jg.judge_reviews(kept, backend, template_name=recipe.generate.judge_template, progress=progress)
    finally:
        if own:
            backend.close()
    stay, disagreements = [], []
    for r, o in zip(kept, outcomes):
        if o.reason is None:
            stay.append(r)
            continue
        _reject(rejected, r, "judge", o.reason, o.detail)
        disagreements.append({"id": r.id, "plan_index": r.plan_index, "reason": o.reason, "label": r.label, "sarcastic": r.sarcastic,
                              "device": r.device, "judge_label": o.verdict.label, "judge_sarcastic": o.verdict.sarcastic,
                              "answer": o.verdict.raw, "text": r.text})
    report.judge = {**jg.agreement(outcomes), "model_file": info.model_file, "model_sha256": info.model_sha256, "backend": info.backend}
    return stay, disagreements
