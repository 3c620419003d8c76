"""The publish stage as `sarcgen run` drives it (`sarcgen.stage.Stage`): the same inputs and settings
hash `sarcgen.publish.run.record_publish` records its completion with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.stage import Inputs, NotReady, Stage

if TYPE_CHECKING:
    from sarcgen.recipe import Recipe


def preflight(recipe: Recipe) -> None:
    """The split fractions, and a Hub token when the recipe pushes."""
    from sarcgen.publish.split import check_fractions

    check_fractions(recipe.publish)
    if recipe.publish.push:
        from sarcgen.publish.push import resolve_token

        resolve_token(None)


def settings_hash(recipe: Recipe, run: Path | None = None) -> str:
    """The publish section, with the push target it names."""
    from sarcgen.publish.run import publish_fingerprint

    p = recipe.publish
    return publish_fingerprint(p, p.push, p.private)


def inputs(recipe: Recipe, run: Path) -> Inputs | NotReady:
    """The run's records file and human decisions; not ready without a run folder or after a
    publish that did not finish."""
    from sarcgen.publish.run import publish_complete, publish_inputs

    if not rf.is_run_folder(run):
        return NotReady("no run folder")
    if not publish_complete(run / rf.DATASET_DIR):
        return NotReady("the last publish did not finish")
    source, _ = rf.records_file(run)
    return publish_inputs(run, source)


def run(recipe: Recipe, folder: Path, progress: bool) -> tuple[str, str]:
    """Publish RUN/dataset (and push when the recipe says so)."""
    from sarcgen.publish.run import publish_run

    pub = publish_run(folder, folder / rf.DATASET_DIR, recipe.publish)
    sizes = ", ".join(f"{k} {v}" for k, v in pub.split_sizes.items())
    return "ran", (f"{sizes} -> {pub.out_dir}" + (f", pushed to {pub.url}" if pub.url else "")
                   + "".join(f"\n  warning: {w}" for w in pub.warnings))


STAGE = Stage("publish", preflight, inputs, settings_hash, run)
