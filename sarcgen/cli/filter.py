"""`sarcgen filter`: a thin command over `sarcgen.filter.run.run_filter`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sarcgen.cli.options import overrides, recipe_option, url_option

if TYPE_CHECKING:
    from sarcgen.filter.audit import AuditJson
    from sarcgen.filter.report import FilterReport


@click.command("filter")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: the first run folder, or the JSONL file's folder).")
@recipe_option
@click.option("--min-words", type=int, default=None, help="filter.min_words")
@click.option("--max-words", type=int, default=None, help="filter.max_words")
@click.option("--near-dup-threshold", type=float, default=None,
              help="filter.near_dup_threshold: rapidfuzz token_sort_ratio (0-100) on de-templated text.")
@click.option("--decontam-threshold", type=float, default=None,
              help="filter.decontam_threshold: score (0-100) at which an item matches an evaluation text.")
@click.option("--against", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Extra evaluation file to decontaminate against (txt one per line, jsonl/csv with a text column). Repeatable.")
@click.option("--imdb-test", type=click.Path(path_type=Path), default=None,
              help="IMDB test split (csv/csv.gz/jsonl/parquet with a text column, or a folder holding test.csv.gz).")
@click.option("--judge/--no-judge", default=None, help="Let the model label each review blind and keep agreements (filter.judge).")
@click.option("--judge-model", default=None, metavar="PATH|REPO:FILE|embedded", help="GGUF for the judge (default: the recipe's model).")
@click.option("--judge-mode", type=click.Choice(["enforce", "advisory"]), default=None,
              help="filter.judge_mode: enforce drops disagreements; advisory records the verdicts and drops nothing.")
@click.option("--judge-gate", type=click.Choice(["sentiment", "sentiment_and_sarcasm"]), default=None,
              help="filter.judge_gate: what the judge must confirm to keep a record (default: its label).")
@click.option("--judge-min-precision", type=float, default=None,
              help="filter.judge_min_precision: on the calibration set, right labels among what the judge lets through, "
                   "per class, before it may drop anything (default 0.8).")
@click.option("--judge-min-recall", type=float, default=None,
              help="filter.judge_min_recall: on the calibration set, the share of each class the judge must keep (default 0.1).")
@click.option("--audit", "audit", type=click.Path(path_type=Path), default=None, metavar="GOLD.jsonl",
              help="Measure every check and the whole filter against labelled records: a gold.jsonl (id, sentiment, "
                   "coherent) or a run's review.jsonl; writes filter_audit.md/.json.")
@click.option("--base-url", "base_url", multiple=True, metavar="URL",
              help="Judge on an OpenAI-compatible server; repeat it for a fleet (as for generate).")
@click.option("--base-url-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Judge on the servers listed in this file, one URL a line.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None, help="Judge in this process or in Ray workers.")
@click.option("--ray-address", default=None, metavar="ADDR", help="An existing Ray cluster for the judge (default: a local one).")
@click.option("--workers", type=int, default=None, help="Ray workers for the judge.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def filter_cmd(runs: tuple[Path, ...], out: Path | None, recipe: Path | None, min_words: int | None, max_words: int | None,
               near_dup_threshold: float | None, decontam_threshold: float | None, against: tuple[Path, ...],
               imdb_test: Path | None, judge: bool | None, judge_model: str | None, judge_mode: str | None,
               judge_gate: str | None, judge_min_precision: float | None, judge_min_recall: float | None,
               audit: Path | None, base_url: tuple[str, ...],
               base_url_file: Path | None, executor: str | None, ray_address: str | None, workers: int | None,
               quiet: bool) -> None:
    """Validate, deduplicate, decontaminate (and optionally judge) generated reviews.

    \b
    RUNS are run folders (their generated.jsonl) or JSONL files of review records. Writes
    filtered.jsonl, filter_rejected.jsonl (a named reason per row), filter_report.md/.json and
    filter_lengths.png into --out (default: the first run folder). Settings come from --recipe,
    else the run folder's recipe.yaml, else the defaults; flags override them.

    \b
    Examples:
      sarcgen filter outputs/imdb-sarcasm-seed1234
      sarcgen filter outputs/run --imdb-test ../shared/data/imdb --against my_eval.txt --judge
      sarcgen filter outputs/run --judge --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1
      sarcgen filter outputs/run --audit my_labels.jsonl     # what each check keeps and drops, against your labels
    """
    from sarcgen import api
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.errors import InputError
    from sarcgen.runfolder import resolve_recipe

    if len(runs) > 1 and out is None:
        raise InputError("several inputs need --out", "pass --out DIR for the combined filtered data")
    ov = overrides(
        filter__min_words=min_words, filter__max_words=max_words, filter__near_dup_threshold=near_dup_threshold,
        filter__decontam_threshold=decontam_threshold, filter__imdb_test=str(imdb_test) if imdb_test else None,
        filter__judge=judge, filter__judge_mode=judge_mode, filter__judge_gate=judge_gate,
        filter__judge_min_precision=judge_min_precision, filter__judge_min_recall=judge_min_recall,
    )
    urls = url_option(base_url, base_url_file)
    ov.update(overrides(generate__base_url=urls, generate__backend="openai" if urls else None,
                        generate__executor=executor, generate__ray_address=ray_address, generate__workers=workers))
    if judge_model and urls:
        raise InputError("--judge-model and --base-url contradict each other: the judge runs either that local GGUF "
                         "or the servers' model", "pass one of them")
    if judge_model:
        ov["filter.judge_model"] = parse_model_arg(judge_model)
    resolved = resolve_recipe(recipe, runs, ov, stage="filter")
    rec, source = resolved.recipe, resolved.source
    if against:
        rec.filter.against = [*rec.filter.against, *(str(a) for a in against)]
    rep = api.filter_run(list(runs), rec, out=out, recipe_source=source, progress=not quiet, audit=audit)

    _print_summary(rep)


def _print_summary(rep: FilterReport) -> None:
    """Warnings first, then counts per stage and reason, the judge's agreement, malformed lines."""
    from sarcgen.jsonl import json_object
    from sarcgen.runfolder import FILTER_REPORT_MD

    for warning in rep.warnings:  # first: a vanished class or an untrustworthy judge
        click.secho(f"WARNING: {warning}", fg="red", bold=True, err=True)
    click.echo(f"Filtered {rep.total} rows: kept {rep.kept}, rejected {rep.rejected}  ->  {rep.out_dir}")
    rows = [(stage, reason, n) for stage, reasons in rep.by_stage.items() for reason, n in reasons.items()]
    if rows:
        w1 = max(len("stage"), *(len(r[0]) for r in rows))
        w2 = max(len("reason"), *(len(r[1]) for r in rows))
        click.echo(f"  {'stage':<{w1}}  {'reason':<{w2}}  rows")
        for stage, reason, n in rows:
            click.echo(f"  {stage:<{w1}}  {reason:<{w2}}  {n:>4}")
    if rep.judge:
        j = rep.judge
        click.echo(f"  judge: agreement {j['agreement_rate']} over {j['judged']} ({j['unparseable']} unparseable), mode {j.get('mode')}")
        if j.get("calibration"):
            c = j["calibration"]
            per_class = {k: json_object(v) for k, v in json_object(c["per_class"]).items()}
            per = "; ".join(f"{k} precision {v['precision']} recall {v['recall']}" for k, v in per_class.items())
            click.echo(f"  judge calibration ({c['gate']} gate): {per} ({'passed' if c['passed'] else 'FAILED'}, need "
                       f"precision {c['min_precision']}, recall {c['min_recall']})")
    if rep.audit:
        _print_audit(rep.audit)
    for m in rep.malformed[:5]:
        click.echo(f"  malformed line skipped: {m}", err=True)
    if len(rep.malformed) > 5:
        click.echo(f"  ... {len(rep.malformed) - 5} more malformed lines (see {FILTER_REPORT_MD})", err=True)
    click.echo(f"  report: {rep.out_dir / FILTER_REPORT_MD}")


def _print_audit(audit: AuditJson) -> None:
    """The audit's whole-filter table, one line per class."""
    click.echo(f"  audit against {audit['gold_file']} ({audit['audited']} labelled):")
    for name, t in audit["classes"].items():
        click.echo(f"    {name:<20} kept {t['kept']:>4} of {t['records']:<4} precision {t['precision']}  "
                   f"label precision {t['label_precision']}  recall of good {t['recall']} ({t['kept_good']}/{t['good']})")
    costly = [c for c in audit["checks"] if c["rejected_good"] > c["rejected_bad"]]
    for c in costly:
        click.echo(f"    check {c['stage']}/{c['reason']} rejects {c['rejected_good']} good for {c['rejected_bad']} bad")
