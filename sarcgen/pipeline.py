"""`sarcgen run`: the whole study from one recipe, generate -> filter -> publish -> finetune-compare.

Each stage writes into the run folder and records its completion in the manifest (status, the
fingerprints of what it read, its settings hash, the fingerprints of what it wrote; see
`sarcgen.runfolder`). A stage is skipped when that record still matches: same input content, same
settings, outputs intact. Content, not file times, so a copy, checkout or rsync of the folder keeps
its state, and re-running after a crash (or after changing a late stage's settings) redoes only
what is needed. Generate, when its record does not hold, resumes the folder by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf

if TYPE_CHECKING:  # `sarcgen run --help` reads STAGES from here without loading pydantic
    from sarcgen.finetune.results import CompareResults
    from sarcgen.recipe import Recipe

STAGES = rf.STAGES


@dataclass
class StageOutcome:
    stage: str
    status: str  # "ran" or "skipped"
    detail: str = ""


@dataclass
class PipelineResult:
    run_dir: Path
    stages: list[StageOutcome] = field(default_factory=list)


@dataclass
class Step:
    """One stage of the study: whether its recorded completion still holds, and how to run it."""

    name: str
    current: Callable[[Recipe, Path], tuple[bool, str]]
    run: Callable[[Recipe, Path, bool], tuple[str, str]]  # -> (status, detail)


def preflight(recipe: Recipe, skip: tuple[str, ...] = ()) -> None:
    """Check every stage's settings before the first stage starts, so a bad split or a missing
    file fails in a second instead of after hours of generation. Raises the stage's own error
    (naming the key, flag or file); loads no model and reads no data."""
    from sarcgen.embedded import embedded_gguf
    from sarcgen.errors import InputError, ModelError
    from sarcgen.prompts import load_template

    if "generate" not in skip:
        _preflight_grounding(recipe)
        if recipe.model.embedded:  # the package must be installed (one line naming the extra otherwise)
            embedded_gguf(recipe.model.embedded)
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
            if judge.embedded:
                embedded_gguf(judge.embedded)
            elif judge.path and not Path(judge.path).expanduser().is_file():
                raise ModelError(f"filter.judge_model.path: {judge.path}: no such file", "pass --judge-model PATH.gguf")
    if "publish" not in skip:
        from sarcgen.publish.split import check_fractions

        check_fractions(recipe.publish)
        if recipe.publish.push:
            from sarcgen.publish.push import resolve_token

            resolve_token(None)
    if "finetune" not in skip:
        _preflight_finetune(recipe)


def _preflight_grounding(recipe: Recipe) -> None:
    """The template, and grounded generation's files: sources named and present, examples readable."""
    from sarcgen.errors import InputError
    from sarcgen.generate.grounded_plan import resolve_sources, template_for
    from sarcgen.generate.grounding import load_examples

    resolved = resolve_sources(recipe)
    template_for(resolved)
    g = resolved.generate
    if g.grounding.examples:
        load_examples(g.grounding.examples)
    src = g.grounding.sources
    if g.grounding.mode == "rewrite" and src and src != "embedded" and not Path(src).exists():
        raise InputError(f"generate.grounding.sources: {src}: no such file or folder", "pass --sources DIR_OR_FILE")


def _preflight_finetune(recipe: Recipe) -> None:
    from sarcgen.embedded import EMBEDDED
    from sarcgen.errors import InputError, ModelError
    from sarcgen.finetune.model import refuse_pickle_weights, resolve_model_path
    from sarcgen.hub import hub_reachable

    ft = recipe.finetune
    if ft.base_data is not None and ft.base_data != EMBEDDED and not Path(ft.base_data).expanduser().exists():
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
    run = Path(run_dir) if run_dir is not None else rf.default_run_dir(recipe)
    preflight(recipe, skip)
    result = PipelineResult(run)
    for step in STEPS:
        if step.name in skip:
            status, detail = "skipped", "--skip"
        else:
            current, why = step.current(recipe, run) if step.name not in force else (False, "--force")
            status, detail = ("skipped", f"{why} ({rf.MANIFEST})") if current else step.run(recipe, run, progress)
        result.stages.append(StageOutcome(step.name, status, detail))
        echo(f"[{step.name}] {status}{': ' + detail if detail else ''}")
        if step.name == "filter" and status == "ran" and "generate" not in skip:
            top = top_up(recipe, run, progress, echo)
            if top is not None:
                result.stages.append(top)
    return result


def top_up(recipe: Recipe, run: Path, progress: bool, echo: Callable[[str], None]) -> StageOutcome | None:
    """`--n` means kept: while the filter keeps fewer than generate.n, generate new plan items (the
    plan is an endless sequence, so a larger n resumes it) and filter again, at most
    generate.top_up_rounds times and never past generate.max_generated x n records generated.
    The shortfall per round is divided by the yield measured so far. Says how far it got."""
    import math

    g = recipe.generate
    limit = math.ceil(g.max_generated * g.n)
    kept = _kept(run)
    rounds = 0
    while kept < g.n and rounds < g.top_up_rounds:
        made = _records(run / rf.GENERATED)
        if made >= limit:
            break
        rate = kept / made if made and kept else 1.0 / g.max_generated
        want = min(limit, made + math.ceil((g.n - kept) / rate * 1.1))
        rounds += 1
        echo(f"[top-up {rounds}] the filter kept {kept} of {g.n}: generating to {want} records (yield {rate:.0%})")
        _generate(recipe.model_copy(update={"generate": g.model_copy(update={"n": want})}), run, progress)
        _filter(recipe, run, progress)
        kept = _kept(run)
    if rounds == 0 and kept >= g.n:
        return None
    made = _records(run / rf.GENERATED)
    done = kept >= g.n
    detail = (f"kept {kept} of {g.n} after {rounds} top-up round(s), {made} generated"
              + ("" if done else f"; stopped short (limit: {g.top_up_rounds} rounds, {limit} records = generate.max_generated "
                                 f"x n); raise them, or publish what was kept"))
    echo(f"[top-up] {detail}")
    return StageOutcome("top-up", "ran" if rounds else "skipped", detail)


def _kept(run: Path) -> int:
    return _records(run / rf.FILTERED)


def _records(path: Path) -> int:
    from sarcgen.jsonl import iter_jsonl

    return sum(1 for _ in iter_jsonl(path, on_error=lambda *_: None)) if path.is_file() else 0


# -------------------------------------------------------------------------------- generate
def _generate_current(recipe: Recipe, run: Path) -> tuple[bool, str]:
    from sarcgen.generate.manifest import generate_inputs

    h = recipe.hash()
    return rf.stage_is_current(run, "generate", generate_inputs(h, recipe.generate.n), h)


def _generate(recipe: Recipe, run: Path, progress: bool) -> tuple[str, str]:
    from sarcgen.generate.run import generate_run

    s = generate_run(recipe, out_dir=run, progress=progress)
    if s.new_accepted:
        return "ran", f"{s.accepted}/{s.target} accepted, {s.tokens_per_s:.1f} tok/s"
    return "skipped", f"{s.accepted} records already in {run}"


# ---------------------------------------------------------------------------------- filter
def _filter_current(recipe: Recipe, run: Path) -> tuple[bool, str]:
    from sarcgen.filter.run import filter_fingerprint

    return rf.stage_is_current(run, "filter", {rf.GENERATED: rf.fingerprint(run / rf.GENERATED)},
                               filter_fingerprint(recipe))


def _filter(recipe: Recipe, run: Path, progress: bool) -> tuple[str, str]:
    from sarcgen.filter.run import run_filter

    rep = run_filter([run], recipe, run, recipe_source="pipeline", progress=progress)
    loud = "".join(f"\n  WARNING: {w}" for w in rep.warnings)  # a vanished class, an untrustworthy judge
    return "ran", f"{rep.kept} kept, {rep.rejected} rejected{loud}"


# --------------------------------------------------------------------------------- publish
def _publish_current(recipe: Recipe, run: Path) -> tuple[bool, str]:
    from sarcgen.publish.run import (
        publish_complete,
        publish_fingerprint,
        publish_inputs,
    )

    if not rf.is_run_folder(run):
        return False, "no run folder"
    if not publish_complete(run / rf.DATASET_DIR):
        return False, "the last publish did not finish"
    source, _ = rf.records_file(run)
    p = recipe.publish
    return rf.stage_is_current(run, "publish", publish_inputs(run, source), publish_fingerprint(p, p.push, p.private))


def _publish(recipe: Recipe, run: Path, progress: bool) -> tuple[str, str]:
    from sarcgen.publish.run import publish_run

    pub = publish_run(run, run / rf.DATASET_DIR, recipe.publish)
    sizes = ", ".join(f"{k} {v}" for k, v in pub.split_sizes.items())
    return "ran", (f"{sizes} -> {pub.out_dir}" + (f", pushed to {pub.url}" if pub.url else "")
                   + "".join(f"\n  warning: {w}" for w in pub.warnings))


# -------------------------------------------------------------------------------- finetune
def _finetune_current(recipe: Recipe, run: Path) -> tuple[bool, str]:
    from sarcgen.finetune.compare import compare_fingerprint, compare_inputs

    found = compare_inputs(str(run / rf.DATASET_DIR))
    if found is None:
        return False, "nothing published"
    return rf.stage_is_current(run, "finetune", found[1], compare_fingerprint(recipe.finetune))


def _finetune(recipe: Recipe, run: Path, progress: bool) -> tuple[str, str]:
    from sarcgen.finetune.compare import run_compare

    out = run / rf.FINETUNE_DIR  # where `sarcgen finetune-compare --synthetic RUN` writes too
    # Finished runs of this data are reused (a crashed `sarcgen run` resumes); runs of older data are redone.
    res = run_compare(recipe.finetune, str(run / rf.DATASET_DIR), out, progress=progress, replace_stale=True)
    from sarcgen.finetune.report import REPORT_MD

    return "ran", f"report in {out / REPORT_MD}" + _headline(res)


STEPS = (
    Step("generate", _generate_current, _generate),
    Step("filter", _filter_current, _filter),
    Step("publish", _publish_current, _publish),
    Step("finetune", _finetune_current, _finetune),
)


def _headline(results: CompareResults) -> str:
    """A short before/after line: challenge accuracy of A and B (mean over seeds)."""
    parts = [f"{run_name}: challenge accuracy {metrics['challenge.accuracy'].mean:.2f}"
             for run_name, metrics in results.aggregate.items() if "challenge.accuracy" in metrics]
    return f" ({'; '.join(parts)})" if parts else ""
