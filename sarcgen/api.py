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
The commands call these same functions (sarcgen/cli/generate.py, filter.py, publish.py, finetune.py,
run.py: the CLI adds only flag parsing and printing); errors are the same `sarcgen.errors.SarcgenError`s
(with `.message` and `.hint`) that the CLI prints in one line. Heavy libraries load on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    from sarcgen.recipe import PublishSettings, Recipe

__all__ = ["compare", "filter_run", "generate_run", "load_dataset", "load_recipe", "load_results", "publish_run", "run_study"]


def load_recipe(path: str | Path | None = None, overrides: Mapping[str, object] | None = None) -> Recipe:
    """A recipe file (or the defaults) with dotted-key overrides: {"generate.n": 10}."""
    from sarcgen.recipe import load_recipe as load

    return load(path, overrides)


def generate_run(recipe: Recipe, out: str | Path | None = None, *, backend: Backend | None = None,
                 shard: str | None = None, progress: bool = True) -> RunSummary:
    """`sarcgen generate`: write (or resume) a run folder until recipe.generate.n records are accepted
    (`shard` "K/N": the K-th of N disjoint parts of the plan)."""
    from sarcgen.generate import run as stage

    return stage.generate_run(recipe, out_dir=out, backend=backend, shard=shard, progress=progress)


def filter_run(run: str | Path | Sequence[str | Path], recipe: Recipe | None = None, *, out: str | Path | None = None,
               audit: str | Path | None = None, progress: bool = True, recipe_source: str = "api") -> FilterReport:
    """`sarcgen filter RUN...`: every gate over run folders or JSONL files (the run's recipe.yaml unless
    `recipe` is given) into `out` (default: the first input's folder); `audit`: a gold file to score the gates on."""
    from sarcgen.filter.run import run_filter
    from sarcgen.runfolder import resolve_recipe

    runs = [Path(run)] if isinstance(run, (str, Path)) else [Path(r) for r in run]
    rec = recipe or resolve_recipe(None, runs, stage="filter").recipe
    return run_filter(runs, rec, out, recipe_source=recipe_source, progress=progress, audit=audit)


def publish_run(run: str | Path, out: str | Path | None = None, settings: PublishSettings | None = None, *,
                push: str | None = None, private: bool | None = None, token: str | None = None) -> PublishResult:
    """`sarcgen publish RUN`: the DatasetDict with its card in RUN/dataset (`push`: a Hub repo id)."""
    from sarcgen.publish import run as stage

    return stage.publish_run(run, out, settings, push=push, private=private, token=token)


def load_dataset(source: str | Path) -> datasets.DatasetDict:
    """The synthetic data as a DatasetDict: a run folder (split as publish splits it), a published
    folder, a records .jsonl or a Hub dataset id."""
    from sarcgen.publish.load import load_synthetic

    return load_synthetic(str(source))


def compare(synthetic: str | Path, recipe: Recipe | None = None, *, out: str | Path, progress: bool = True,
            challenge_files: Sequence[str] = (), threads: int | None = None, report_only: bool = False) -> CompareResults:
    """`sarcgen finetune-compare`: A (IMDB) against B (IMDB + the synthetic rows); results.json's content, typed.
    A run folder is read from its published RUN/dataset (`publish_run` first)."""
    from sarcgen.finetune.compare import run_compare
    from sarcgen.runfolder import resolve_recipe, run_folder_of

    # as the command does: the run folder's recipe.yaml (its finetune section), else the defaults
    rec = recipe or resolve_recipe(None, run_folder_of(synthetic), stage="finetune").recipe
    return run_compare(rec.finetune, str(synthetic), out, challenge_files=list(challenge_files), num_threads=threads,
                       progress=progress, report_only=report_only)


def load_results(folder: str | Path) -> CompareResults:
    """A finished comparison's results.json, typed (`.mixes[...].sets`, `.aggregate`, ...; `.model_dump()` for a dict)."""
    from sarcgen.errors import InputError
    from sarcgen.finetune.results import RESULTS_JSON, read_results

    path = Path(folder) / RESULTS_JSON
    if not path.is_file():
        raise InputError(f"{path}: no results.json here", "pass the --out folder of a finished finetune-compare")
    return read_results(path)


def run_study(recipe: Recipe, run_dir: str | Path | None = None, *, force: tuple[str, ...] = (),
              skip: tuple[str, ...] = (), progress: bool = True, echo: Callable[[str], None] = print) -> PipelineResult:
    """`sarcgen run`: every stage into one run folder, skipping the ones already complete (`force`:
    stages to run again; `skip`: stages to leave out; `echo`: where the per-stage lines go)."""
    from sarcgen.pipeline import run_pipeline

    return run_pipeline(recipe, run_dir=run_dir, force=force, skip=skip, progress=progress, echo=echo)
