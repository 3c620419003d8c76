"""`sarcgen loop`: generate where the classifier fails (a thin command over `sarcgen.loop`)."""

from __future__ import annotations

from pathlib import Path

import click

from sarcgen.cli.options import backend_option, grounding_options, grounding_overrides, overrides


@click.command("loop")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dev", "dev", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Human-labelled development set (csv/jsonl/parquet: text, label[, device]); chooses cells and "
                   "rounds, never trained on.")
@click.option("--rounds", type=click.IntRange(min=1, max=20), default=3, show_default=True, help="Most generation rounds.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Loop folder (default: <output_dir>/<recipe name>-loop).")
@click.option("--model", "-m", default=None, metavar="PATH|REPO:FILE", help="GGUF for generation (overrides the recipe).")
@click.option("--n", "n", type=int, default=None, help="Records kept per round (generate.n).")
@click.option("--base-model", default=None, help="Encoder to fine-tune (name or local dir).")
@click.option("--base-data", default=None, help="Local IMDB files instead of the Hub's stanfordnlp/imdb.")
@click.option("--freeze-encoder/--no-freeze-encoder", default=None, help="Train only the head on cached features (fast).")
@backend_option
@grounding_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def loop(recipe: Path, dev: Path, rounds: int, out: Path | None, model: str | None, n: int | None, base_model: str | None,
         base_data: str | None, freeze_encoder: bool | None, backend: str | None, mode: str | None, sources: str | None,
         examples: str | None, quiet: bool) -> None:
    """Generate where the classifier fails: train, find the dev cells it gets wrong, generate there, retrain.

    \b
    Round 0 trains on IMDB alone and reads --dev. Each later round narrows the recipe's techniques,
    aspects and lengths to the cells holding the errors, generates generate.n kept rows (every gate
    of `sarcgen filter`, per-row verdicts in the round's folder), retrains on IMDB plus every
    round's rows, and reads --dev again; the loop stops when dev accuracy stops improving. Each
    finished round is saved in loop.json at once: rerun the same command to resume.

    \b
    Example:
      sarcgen loop recipes/imdb-sarcasm.yaml --dev my-labelled-sarcasm.csv --base-data ../shared/data/imdb \\
          --base-model sentence-transformers/all-MiniLM-L6-v2 --freeze-encoder --mode rewrite
    """
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.loop import run_loop
    from sarcgen.runfolder import resolve_recipe

    ov = overrides(generate__n=n, finetune__base_model=base_model, finetune__base_data=base_data,
                                   finetune__freeze_encoder=freeze_encoder, generate__backend=backend,
                                   **grounding_overrides(mode, sources, examples))
    if model:
        ov["model"] = parse_model_arg(model)
    rec = resolve_recipe(recipe, None, ov).recipe
    folder = out or Path(rec.output_dir) / f"{rec.name}-loop"
    state = run_loop(rec, dev, folder, max_rounds=rounds, progress=not quiet, echo=click.echo)
    click.echo(f"Done: {folder} (best round {state['best_round']})")
