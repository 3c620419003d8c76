"""The filter stage as `sarcgen run` drives it (`sarcgen.stage.Stage`): the same inputs and settings
hash `sarcgen.filter.run` records its completion with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.stage import Inputs, Stage

if TYPE_CHECKING:
    from sarcgen.recipe import Recipe


def preflight(recipe: Recipe) -> None:
    """The evaluation files decontamination reads, and the judge's template and model when it judges."""
    from sarcgen.embedded import embedded_gguf
    from sarcgen.errors import InputError, ModelError
    from sarcgen.filter.decontaminate import resolve_imdb_test
    from sarcgen.prompts import load_template

    f = recipe.filter
    if f.imdb_test:
        resolve_imdb_test(f.imdb_test)
    for path in f.against:
        if not Path(path).is_file():
            raise InputError(f"filter.against: {path}: no such file", "fix the recipe's filter.against list")
    if f.judge:
        load_template(recipe.filter.judge_template)
        judge = f.judge_model or recipe.model
        if judge.embedded:
            embedded_gguf(judge.embedded)
        elif judge.path and not Path(judge.path).expanduser().is_file():
            raise ModelError(f"filter.judge_model.path: {judge.path}: no such file", "pass --judge-model PATH.gguf")


def settings_hash(recipe: Recipe, run: Path | None = None) -> str:
    """The filter section, and the judge's model and template when it judges."""
    from sarcgen.filter.run import filter_fingerprint

    return filter_fingerprint(recipe)


def inputs(recipe: Recipe, run: Path) -> Inputs:
    """The run's generated.jsonl."""
    from sarcgen.filter.run import filter_inputs

    return filter_inputs(run)


def run(recipe: Recipe, folder: Path, progress: bool) -> tuple[str, str]:
    """Filter the run folder in place; the report's loud warnings go on the detail line."""
    from sarcgen.filter.run import run_filter

    rep = run_filter([folder], recipe, folder, recipe_source="pipeline", progress=progress)
    loud = "".join(f"\n  WARNING: {w}" for w in rep.warnings)  # a vanished class, an untrustworthy judge
    return "ran", f"{rep.kept} kept, {rep.rejected} rejected{loud}"


STAGE = Stage("filter", preflight, inputs, settings_hash, run)
