"""`sarcgen run`: the whole study from one recipe, generate -> filter -> publish -> finetune-compare.

Each stage writes into the run folder and is skipped when its outputs are complete and newer than
its inputs, so re-running the command after a crash (or after changing only a late stage's
settings and passing `--force STAGE`) redoes only what is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `sarcgen run --help` reads STAGES from here without loading pydantic
    from sarcgen.recipe import Recipe

STAGES = ("generate", "filter", "publish", "finetune")


@dataclass
class StageOutcome:
    stage: str
    status: str  # "ran" or "skipped"
    detail: str = ""


@dataclass
class PipelineResult:
    run_dir: Path
    stages: list[StageOutcome] = field(default_factory=list)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else -1.0


def _fresh(output: Path, *inputs: Path) -> bool:
    """`output` exists and is at least as new as every existing input."""
    return output.exists() and all(_mtime(output) >= _mtime(i) for i in inputs if i.exists())


def preflight(recipe: Recipe, skip: tuple[str, ...] = ()) -> None:
    """Check every stage's settings before the first stage starts, so a bad split or a missing
    file fails in a second instead of after hours of generation. Raises the stage's own error
    (naming the key, flag or file); loads no model and reads no data."""
    from sarcgen.errors import InputError, ModelError
    from sarcgen.prompts import load_template

    if "generate" not in skip:
        load_template(recipe.generate.template)
    f = recipe.filter
    if "filter" not in skip:
        from sarcgen.filter.decontaminate import resolve_imdb_test

        if f.imdb_test:
            resolve_imdb_test(f.imdb_test)
        for path in f.against:
            if not Path(path).is_file():
                raise InputError(f"filter.against: {path}: no such file", "fix the recipe's filter.against list")
        if f.judge:
            load_template(recipe.generate.judge_template)
            judge = f.judge_model or recipe.model
            if judge.path and not Path(judge.path).expanduser().is_file():
                raise ModelError(f"filter.judge_model.path: {judge.path}: no such file", "pass --judge-model PATH.gguf")
    if "publish" not in skip:
        from sarcgen.publish.run import check_fractions

        check_fractions(recipe.publish)
        if recipe.publish.push:
            from sarcgen.publish.push import resolve_token

            resolve_token(None)
    if "finetune" not in skip:
        _preflight_finetune(recipe)


def _preflight_finetune(recipe: Recipe) -> None:
    from sarcgen.errors import InputError, ModelError
    from sarcgen.finetune.train import refuse_pickle_weights, resolve_model_path
    from sarcgen.hub import hub_reachable

    ft = recipe.finetune
    if ft.base_data is not None and not Path(ft.base_data).expanduser().exists():
        raise InputError(f"finetune.base_data: {ft.base_data}: no such file or folder",
                         "pass --base-data DIR_OR_FILE, e.g. ../shared/data/imdb")
    if ft.base_data is None and not hub_reachable():
        raise InputError(f"finetune.base_data is not set and the Hub is not reachable to download {ft.hub_dataset}",
                         "pass --base-data DIR_OR_FILE, e.g. ../shared/data/imdb")
    for path in ft.challenge:
        if not Path(path).is_file():
            raise InputError(f"finetune.challenge: {path}: no such file", "fix the recipe's finetune.challenge list")
    model = Path(resolve_model_path(ft.base_model))
    if model.is_dir():
        refuse_pickle_weights(model)
    elif not hub_reachable():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(ft.base_model, "config.json"), str):
            raise ModelError(f"finetune.base_model {ft.base_model!r} is not a local folder, not in the Hugging Face "
                             "cache, and the Hub is not reachable", "pass --base-model with a local model folder")


def run_pipeline(
    recipe: Recipe,
    *,
    run_dir: str | Path | None = None,
    force: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> PipelineResult:
    """Run every stage of `recipe` into one run folder; returns what ran and what was skipped."""
    from sarcgen.finetune.compare import compare_complete, run_compare
    from sarcgen.generate.run import default_run_dir
    from sarcgen.publish.run import publish_complete

    run = Path(run_dir) if run_dir is not None else default_run_dir(recipe)
    preflight(recipe, skip)
    result = PipelineResult(run)
    forced = set(force)

    def done(stage: str, status: str, detail: str = "") -> None:
        result.stages.append(StageOutcome(stage, status, detail))
        echo(f"[{stage}] {status}{': ' + detail if detail else ''}")

    # 1. generate resumes by itself, and returns without loading the model when already complete.
    if "generate" in skip:
        done("generate", "skipped", "--skip")
    else:
        from sarcgen.generate.run import generate_run

        s = generate_run(recipe, out_dir=run, progress=progress)
        if s.new_accepted:
            done("generate", "ran", f"{s.accepted}/{s.target} accepted, {s.tokens_per_s:.1f} tok/s")
            forced.update(STAGES[1:])  # new records invalidate everything downstream
        else:
            done("generate", "skipped", f"{s.accepted} records already in {run}")

    generated = run / "generated.jsonl"
    filtered = run / "filtered.jsonl"
    filter_report = run / "filter_report.json"
    # 2. filter
    if "filter" in skip:
        done("filter", "skipped", "--skip")
    elif "filter" not in forced and _fresh(filter_report, generated) and filtered.exists():
        done("filter", "skipped", f"{filter_report} is up to date")
    else:
        from sarcgen.filter.run import run_filter

        rep = run_filter([run], recipe, run, recipe_source="pipeline", progress=progress)
        done("filter", "ran", f"{rep.kept} kept, {rep.rejected} rejected")
        forced.update(STAGES[2:])

    dataset_dir = run / "dataset"
    publish_json = dataset_dir / "publish.json"
    # 3. publish (and push when the recipe names a repo)
    if "publish" in skip:
        done("publish", "skipped", "--skip")
    elif "publish" not in forced and _fresh(publish_json, filtered, generated) and publish_complete(dataset_dir):
        done("publish", "skipped", f"{dataset_dir} is up to date")
    else:
        from sarcgen.publish.run import publish_run

        pub = publish_run(run, dataset_dir, recipe.publish)
        sizes = ", ".join(f"{k} {v}" for k, v in pub.split_sizes.items())
        done("publish", "ran", f"{sizes} -> {pub.out_dir}" + (f", pushed to {pub.url}" if pub.url else ""))
        forced.add("finetune")

    compare_dir = run / "finetune"  # where `sarcgen finetune-compare --synthetic RUN` writes too
    # 4. finetune-compare
    if "finetune" in skip:
        done("finetune", "skipped", "--skip")
    elif "finetune" not in forced and compare_complete(compare_dir) and _fresh(compare_dir / "results.json", publish_json):
        done("finetune", "skipped", f"{compare_dir} is up to date")
    else:

        res: dict[str, Any] = run_compare(recipe.finetune, str(dataset_dir), compare_dir, progress=progress)
        done("finetune", "ran", f"report in {compare_dir / 'report.md'}" + _headline(res))
    return result


def _headline(results: dict[str, Any]) -> str:
    """A short before/after line from results.json, if it has the usual aggregate keys."""
    agg = results.get("aggregate") if isinstance(results, dict) else None
    if not isinstance(agg, dict):
        return ""
    parts = []
    for run_name, metrics in agg.items():
        stat = metrics.get("challenge.accuracy") if isinstance(metrics, dict) else None
        if isinstance(stat, dict) and "mean" in stat:
            parts.append(f"{run_name}: challenge accuracy {stat['mean']:.2f}")
    return f" ({'; '.join(parts)})" if parts else ""
