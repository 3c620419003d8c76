"""sarcgen from Python: the stages as functions, for notebooks and scripts.

    import sarcgen

    recipe = sarcgen.load_recipe("recipes/smoke.yaml", {"model.embedded": "smollm2", "generate.n": 6})
    summary = sarcgen.generate_run(recipe, out="outputs/demo")
    report = sarcgen.filter_run("outputs/demo")
    sarcgen.publish_run("outputs/demo")
    dd = sarcgen.load_dataset("outputs/demo")            # a datasets.DatasetDict
    results = sarcgen.compare("outputs/demo", recipe, out="outputs/demo/finetune")
    results = sarcgen.load_results("outputs/demo/finetune")  # CompareResults: results.mixes[results.chosen_mix].sets

(The names end in _run where a subpackage has the bare name: `sarcgen.generate` is the package.)
Each function is the one its command calls; errors are the same `sarcgen.errors.SarcgenError`s
(with `.message` and `.hint`) that the CLI prints in one line. Heavy libraries load on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datasets

    from sarcgen.backends.base import Backend
    from sarcgen.filter.report import FilterReport
    from sarcgen.finetune.results import CompareResults
    from sarcgen.generate.run import RunSummary
    from sarcgen.pipeline import PipelineResult
    from sarcgen.publish.run import PublishResult
    from sarcgen.recipe import Recipe

__all__ = ["compare", "filter_run", "generate_run", "load_dataset", "load_recipe", "load_results", "publish_run", "run_study"]


def load_recipe(path: str | Path | None = None, overrides: Mapping[str, object] | None = None) -> Recipe:
    """A recipe file (or the defaults) with dotted-key overrides: {"generate.n": 10}."""
    from sarcgen.recipe import load_recipe as load

    return load(path, overrides)


def generate_run(recipe: Recipe, out: str | Path | None = None, *, backend: Backend | None = None,
             progress: bool = True) -> RunSummary:
    """`sarcgen generate`: write (or resume) a run folder until recipe.generate.n records are accepted."""
    from sarcgen.generate import run as stage

    return stage.generate_run(recipe, out_dir=out, backend=backend, progress=progress)


def filter_run(run: str | Path, recipe: Recipe | None = None, *, progress: bool = True) -> FilterReport:
    """`sarcgen filter RUN`: every gate over a run folder (its recipe.yaml unless `recipe` is given)."""
    from sarcgen.filter.run import run_filter
    from sarcgen.runfolder import resolve_recipe

    rec = recipe or resolve_recipe(None, Path(run), stage="filter").recipe
    return run_filter([Path(run)], rec, Path(run), recipe_source="api", progress=progress)


def publish_run(run: str | Path, out: str | Path | None = None) -> PublishResult:
    """`sarcgen publish RUN`: the DatasetDict with its card in RUN/dataset (pushing as the recipe says)."""
    from sarcgen.publish import run as stage

    return stage.publish_run(run, out)


def load_dataset(source: str | Path) -> datasets.DatasetDict:
    """The synthetic data as a DatasetDict: a run folder (split as publish splits it), a published
    folder, a records .jsonl or a Hub dataset id."""
    from sarcgen.publish.load import load_synthetic

    return load_synthetic(str(source))


def compare(synthetic: str | Path, recipe: Recipe | None = None, *, out: str | Path, progress: bool = True) -> CompareResults:
    """`sarcgen finetune-compare`: A (IMDB) against B (IMDB + the synthetic rows); results.json's content, typed.
    A run folder is read from its published RUN/dataset (`publish_run` first)."""
    from sarcgen.finetune.compare import run_compare

    rec = recipe or load_recipe()
    return run_compare(rec.finetune, str(synthetic), out, progress=progress)


def load_results(folder: str | Path) -> CompareResults:
    """A finished comparison's results.json, typed (`.mixes[...].sets`, `.aggregate`, ...; `.model_dump()` for a dict)."""
    from sarcgen.errors import InputError
    from sarcgen.finetune.results import RESULTS_JSON, read_results

    path = Path(folder) / RESULTS_JSON
    if not path.is_file():
        raise InputError(f"{path}: no results.json here", "pass the --out folder of a finished finetune-compare")
    return read_results(path)


def run_study(recipe: Recipe, run_dir: str | Path | None = None, *, progress: bool = True) -> PipelineResult:
    """`sarcgen run`: every stage into one run folder, skipping the ones already complete."""
    from sarcgen.pipeline import run_pipeline

    return run_pipeline(recipe, run_dir=run_dir, progress=progress)
