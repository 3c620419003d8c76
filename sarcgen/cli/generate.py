"""`sarcgen generate`: a thin command over `sarcgen.generate.run.generate_run`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sarcgen.generate.plan import PlanItem

from sarcgen.cli.options import backend_option, grounding_options, grounding_overrides, overrides, recipe_option, threads_option, url_option


@click.command("generate")
@recipe_option
@click.option("--n", "n", type=int, default=None, help="Accepted records to produce (generate.n).")
@click.option("--model", "-m", default=None, metavar="PATH|REPO:FILE",
              help="A local .gguf, or a Hub REPO_ID:FILE (or REPO_ID/FILE.gguf) downloaded into the HF cache.")
@click.option("--seed", type=int, default=None, help="Plan and sampling seed (generate.seed); same seed, same run.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: <output_dir>/<recipe name>-seed<seed>).")
@click.option("--dry-run", is_flag=True, help="Print the first prompts and exit, without loading the model.")
@click.option("--dry-run-items", type=click.IntRange(min=1), default=3, show_default=True, help="How many prompts --dry-run prints.")
@threads_option("llama.cpp (generate.n_threads)")
@click.option("--template", default=None, help="Prompt template: a packaged template name (review.j2) or a path (sandboxed).")
@click.option("--temperature", type=float, default=None, help="generate.sampling.temperature")
@click.option("--max-tokens", type=int, default=None, help="generate.sampling.max_tokens (longer replies are rejected as truncated)")
@click.option("--twin-ratio", type=float, default=None, help="Share of sarcastic items that get a sincere twin (0-1).")
@click.option("--max-retries", type=int, default=None, help="Retries per item, each with a new seed.")
@backend_option
@click.option("--base-url", "base_url", multiple=True, metavar="URL",
              help="Server URL for --backend openai, e.g. http://127.0.0.1:8080/v1. Repeat it for a fleet of "
                   "replicas (least-in-flight routing, failover).")
@click.option("--base-url-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A text file of server URLs, one a line (added to --base-url).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="local (this process, default) or ray: one model copy per Ray worker (pip install 'sarcgen[ray]').")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="An existing Ray cluster (auto, HOST:6379, ray://HOST:10001); default: start a local one.")
@click.option("--workers", type=int, default=None, help="Ray workers (default: as many as the cluster's CPUs/GPUs hold).")
@click.option("--gpus-per-worker", type=float, default=None, help="GPUs each Ray worker asks for (default 0).")
@click.option("--parallel", type=int, default=None, help="Sequences decoded at once (llamacpp, per Ray worker) or requests in flight "
              "(openai, per server).")
@click.option("--shard", default=None, metavar="K/N", help="Generate only shard K of N of the plan (combine with `sarcgen merge`).")
@grounding_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate(recipe: Path | None, n: int | None, model: str | None, seed: int | None, out: Path | None,
             dry_run: bool, dry_run_items: int, threads: int | None, template: str | None,
             temperature: float | None, max_tokens: int | None, twin_ratio: float | None,
             max_retries: int | None, backend: str | None, base_url: tuple[str, ...], base_url_file: Path | None,
             executor: str | None, ray_address: str | None, workers: int | None, gpus_per_worker: float | None,
             parallel: int | None, shard: str | None, mode: str | None, sources: str | None, examples: str | None,
             quiet: bool) -> None:
    """Write labelled sarcastic movie reviews (and sincere contrast twins) with a local GGUF model.

    \b
    Each record gets the intended IMDB label (0 = negative for sarcastic reviews, 1 = positive for
    sincere twins), its device/aspect/genre/length/cue, and full provenance. Output goes to a run
    folder: generated.jsonl, rejected.jsonl, manifest.json, recipe.yaml, generate.log.
    Re-running the same command resumes the folder (after a crash, kill or Ctrl-C) until --n
    records are accepted. Flags override the recipe; the resolved recipe is saved in the folder.

    \b
    Examples:
      sarcgen generate -r recipes/imdb-sarcasm.yaml
      sarcgen generate -r recipes/smoke.yaml --model ./models/qwen3.gguf --n 5
      sarcgen generate -r recipes/smoke.yaml --dry-run
      sarcgen generate -r recipes/imdb-sarcasm.yaml --mode rewrite --sources ../shared/data/imdb
      sarcgen generate -r recipes/imdb-sarcasm.yaml --examples my-sarcastic-reviews.csv
      sarcgen generate -r recipes/imdb-sarcasm.yaml --executor ray --workers 4 --gpus-per-worker 1
      sarcgen generate --backend openai --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1
    """
    from sarcgen import api
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.generate.run import dry_run as render_dry_run
    from sarcgen.runfolder import resolve_recipe

    ov = overrides(
        generate__n=n, generate__seed=seed, generate__n_threads=threads, generate__template=template,
        generate__sampling__temperature=temperature, generate__sampling__max_tokens=max_tokens,
        generate__twin_ratio=twin_ratio, generate__max_retries=max_retries, generate__backend=backend,
        generate__base_url=url_option(base_url, base_url_file), generate__parallel=parallel,
        generate__executor=executor, generate__ray_address=ray_address, generate__workers=workers,
        generate__gpus_per_worker=gpus_per_worker, **grounding_overrides(mode, sources, examples),
    )
    if model:
        ov["model"] = parse_model_arg(model)
    # --recipe, else the recipe.yaml of the --out folder being resumed, else the defaults; then flags.
    rec = resolve_recipe(recipe, out, ov, stage="generate").recipe
    if dry_run:
        _print_dry_run(render_dry_run(rec, dry_run_items, shard=shard), dry_run_items)
        return
    s = api.generate_run(rec, out, shard=shard, progress=not quiet)
    reasons = ", ".join(f"{r} {c}" for r, c in s.rejected.most_common()) or "none"
    verb = "Resumed" if s.resumed else "Generated"
    for warning in s.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"{verb}: {s.accepted}/{s.target} accepted ({s.new_accepted} new) in {s.out_dir}")
    click.echo(f"  rejected replies: {sum(s.rejected.values())} ({reasons}); items out of retries: {s.exhausted}")
    if s.seconds > 0:
        click.echo(f"  {s.completion_tokens} completion tokens in {s.seconds:.1f}s: {s.tokens_per_s:.1f} tok/s, "
                   f"{s.new_accepted / s.seconds:.2f} records/s")


def _print_dry_run(shown: list[tuple[PlanItem, list[dict[str, str]]]], k: int) -> None:
    for item, messages in shown:
        click.echo(f"===== {item.id}  label={item.label} device={item.device!r} aspect={item.aspect!r} "
                   f"genre={item.genre!r} length={item.length} cue={item.cue!r} seed={item.seed}")
        for m in messages:
            click.echo(f"--- {m['role']}\n{m['content']}")
    click.echo(f"(dry run: {k} prompt(s) shown; no model loaded, nothing written)")
