"""`sarcgen merge`: combine the run folders of a sharded job (`generate --shard K/N`) into one."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("merge")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path), help="merged run folder")
@click.option("--force", is_flag=True, help="overwrite a run already in --out")
def merge(runs: tuple[Path, ...], out: Path, force: bool) -> None:
    """Merge run folders RUN... (the shards of one job) into --out.

    Records are sorted by plan order; runs made with different recipes, or holding the same id,
    are refused. The merged folder is a run folder: filter and publish read it like any other.

    \b
    Example:
      sarcgen generate -r recipes/imdb-sarcasm.yaml --shard 0/2 --out outputs/job-0  # machine A
      sarcgen generate -r recipes/imdb-sarcasm.yaml --shard 1/2 --out outputs/job-1  # machine B
      sarcgen merge outputs/job-0 outputs/job-1 --out outputs/job
    """
    from sarcgen.generate.merge import merge_runs

    summary = merge_runs(list(runs), out, force=force)
    click.echo(
        f"merged {len(summary.runs)} runs into {summary.out}: "
        f"{summary.accepted} records, {summary.rejected} rejections (recipe {summary.recipe_hash})"
    )
    if summary.missing_shards:
        click.secho(f"note: shards not merged yet: {', '.join(summary.missing_shards)}", fg="yellow", err=True)
