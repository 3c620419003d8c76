"""`sarcgen publish`: a run folder's reviews as a Hugging Face dataset with a card (and --push)."""

from __future__ import annotations

from pathlib import Path

import click

from sarcgen.cli.options import overrides, recipe_option


@click.command("publish")
@click.argument("run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="output folder (default: RUN/dataset)")
@recipe_option
@click.option("--train", type=float, default=None, help="train fraction (recipe: publish.train)")
@click.option("--validation", type=float, default=None, help="validation fraction (recipe: publish.validation)")
@click.option("--test", type=float, default=None, help="test fraction (recipe: publish.test)")
@click.option("--seed", type=int, default=None, help="split seed (recipe: publish.seed)")
@click.option("--push", "push", metavar="REPO_ID", default=None, help="also upload to this Hub dataset repo")
@click.option("--private/--public", default=None, help="visibility of a repo created by --push")
@click.option("--allow-missing-class", is_flag=True, default=None,
              help="publish even when sarcastic negatives or sincere positives are missing (publish.allow_missing_class)")
@click.option("--token", default=None, help="Hub token (default: HF_TOKEN, then the cached `hf auth login`)")
def publish(run: Path, out: Path | None, recipe: Path | None, train: float | None, validation: float | None,
            test: float | None, seed: int | None, push: str | None, private: bool | None, allow_missing_class: bool | None,
            token: str | None) -> None:
    """Publish RUN's filtered reviews as train/validation/test with a dataset card.

    Reads RUN/filtered.jsonl (falling back to generated.jsonl with a warning), splits it (seeded,
    stratified by label and device, contrast twins together) and writes OUT/README.md,
    OUT/data/<split>-00000-of-00001.parquet (load with `datasets.load_dataset(OUT)`) and
    OUT/hf_dataset (`datasets.load_from_disk`). Settings: --recipe, else RUN/recipe.yaml, then flags.
    Decisions made with `sarcgen review` (RUN/review.jsonl) are applied: rejected reviews are left
    out, flipped labels are used and marked `label_source: human`; the card counts them.

    \b
    Example:
      sarcgen publish outputs/imdb-sarcasm --push your-name/sarcastic-reviews --private
    """
    from sarcgen import api
    from sarcgen.runfolder import resolve_recipe

    flags = overrides(publish__train=train, publish__validation=validation, publish__test=test, publish__seed=seed,
                      publish__allow_missing_class=allow_missing_class or None)
    settings = resolve_recipe(recipe, run, flags, stage="publish").recipe.publish
    result = api.publish_run(run, out, settings, push=push, private=private, token=token)
    for warning in result.warnings:
        loud = warning.startswith("LABELS NOT VERIFIED")
        click.secho(f"{'WARNING' if loud else 'warning'}: {warning}", fg="red" if loud else "yellow", bold=loud, err=True)
    if result.review.decisions:
        r = result.review
        click.echo(f"applied {r.decisions} review decisions (review.jsonl): {r.rejected} rejected, {r.flipped} labels "
                   f"flipped, {r.accepted} accepted, {r.not_in_data} on records not in {result.source.name}")
    sizes = ", ".join(f"{split} {n}" for split, n in result.split_sizes.items())
    click.echo(f"published {sum(result.split_sizes.values())} reviews from {result.source} ({sizes})")
    click.echo(f"wrote {result.out_dir} (README.md, data/*.parquet; save_to_disk copy in {result.out_dir / 'hf_dataset'})")
    if result.url:
        click.echo(f"pushed to {result.url}")
