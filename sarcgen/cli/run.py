"""`sarcgen run`: the whole study from one recipe (a thin command over `sarcgen.pipeline`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sarcgen.recipe import Recipe

from sarcgen.cli.options import grounding_options, grounding_overrides, overrides
from sarcgen.pipeline import STAGES

STAGE_CHOICE = click.Choice(STAGES)


@click.command("run")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "-m", default=None, metavar="PATH|REPO:FILE", help="GGUF for generation (overrides the recipe).")
@click.option("--n", "n", type=int, default=None, help="Accepted records to generate.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: <output_dir>/<recipe name>-seed<seed>).")
@click.option("--base-model", default=None, help="Encoder to fine-tune (name or local dir).")
@click.option("--base-data", default=None, help="Local IMDB files instead of the Hub's stanfordnlp/imdb.")
@click.option("--epochs", type=int, default=None, help="Maximum fine-tuning epochs.")
@click.option("--push", default=None, metavar="REPO_ID", help="Also push the published dataset to this Hub repo.")
@click.option("--force", multiple=True, type=STAGE_CHOICE, help="Redo this stage (and everything after it).")
@click.option("--skip", multiple=True, type=STAGE_CHOICE, help="Leave this stage out.")
@grounding_options
@click.option("--loop", "loop_dev", default=None, metavar="DEV", type=click.Path(dir_okay=False, path_type=Path),
              help="Generate where the classifier fails instead (`sarcgen loop` with this dev set, in RUN/loop); "
                   "publish or compare a round's folder afterwards.")
@click.option("--rounds", type=click.IntRange(min=1, max=20), default=3, show_default=True, help="Most rounds with --loop.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def run(recipe: Path, model: str | None, n: int | None, out: Path | None, base_model: str | None,
        base_data: str | None, epochs: int | None, push: str | None, force: tuple[str, ...],
        skip: tuple[str, ...], mode: str | None, sources: str | None, examples: str | None, loop_dev: Path | None,
        rounds: int, quiet: bool) -> None:
    """Reproduce a whole study: generate -> filter -> publish -> finetune-compare.

    \b
    Every stage writes into one run folder and is skipped when its outputs are already complete,
    so re-running after a crash or Ctrl-C picks up where it stopped.
    Example:  sarcgen run recipes/imdb-sarcasm.yaml --base-data ../shared/data/imdb
    """
    from sarcgen import api
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.runfolder import resolve_recipe

    ov = overrides(generate__n=n, finetune__base_model=base_model, finetune__base_data=base_data,
                                   finetune__epochs=epochs, publish__push=push, **grounding_overrides(mode, sources, examples))
    if model:
        ov["model"] = parse_model_arg(model)
    rec = resolve_recipe(recipe, None, ov).recipe  # the study's recipe, then flags
    # Forcing a stage redoes every stage after it too.
    both = sorted(set(force) & set(skip))
    if both:
        from sarcgen.errors import InputError

        raise InputError(f"--force {both[0]} and --skip {both[0]} contradict each other", "pass one of them")
    if loop_dev is not None:
        _loop(rec, loop_dev, out, rounds, quiet)
        return
    forced = tuple(STAGES[min(STAGES.index(f) for f in force):]) if force else ()
    res = api.run_study(rec, out, force=forced, skip=skip, progress=not quiet, echo=click.echo)
    click.echo(f"Done: {res.run_dir}")


def _loop(rec: Recipe, dev: Path, out: Path | None, rounds: int, quiet: bool) -> None:
    """`sarcgen run --loop DEV`: the loop into RUN/loop instead of the four stages."""
    from sarcgen.loop import run_loop
    from sarcgen.runfolder import default_run_dir

    folder = (out or default_run_dir(rec)) / "loop"
    state = run_loop(rec, dev, folder, max_rounds=rounds, progress=not quiet, echo=click.echo)
    best = state["best_round"]
    then = (f"publish its data with `sarcgen publish {folder / f'round-{best:02d}'}`" if best
            else "no round beat round 0 (IMDB alone)")
    click.echo(f"Done: {folder} (best round {best}; {then})")
