"""`sarcgen run`: the whole study from one recipe, generate -> filter -> publish -> finetune-compare.

A loop over the stages' `Stage` objects (`sarcgen.stage`), each exported by its package. Each
stage writes into the run folder and records its completion in the manifest (status, the
fingerprints of what it read, its settings hash, the fingerprints of what it wrote; see
`sarcgen.runfolder`). A stage is skipped when that record still matches: same input content, same
settings, outputs intact. Content, not file times, so a copy, checkout or rsync of the folder keeps
its state, and re-running after a crash (or after changing a late stage's settings) redoes only
what is needed. Generate, when its record does not hold, resumes the folder by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.filter import STAGE as FILTER
from sarcgen.finetune import STAGE as FINETUNE
from sarcgen.generate import STAGE as GENERATE
from sarcgen.publish import STAGE as PUBLISH

if TYPE_CHECKING:  # `sarcgen run --help` reads STAGES from here without loading pydantic
    from sarcgen.recipe import Recipe
    from sarcgen.stage import Stage

PIPELINE: tuple[Stage, ...] = (GENERATE, FILTER, PUBLISH, FINETUNE)
"""The study's stages, in order: every list of stage names is derived from this one."""
STAGES = tuple(stage.name for stage in PIPELINE)


@dataclass
class StageOutcome:
    stage: str
    status: str  # "ran" or "skipped"
    detail: str = ""


@dataclass
class PipelineResult:
    run_dir: Path
    stages: list[StageOutcome] = field(default_factory=list)


def preflight(recipe: Recipe, skip: tuple[str, ...] = (), stages: Sequence[Stage] | None = None) -> None:
    """Check every stage's settings before the first stage starts, so a bad split or a missing
    file fails in a second instead of after hours of generation. Raises the stage's own error
    (naming the key, flag or file); loads no model and reads no data."""
    for stage in PIPELINE if stages is None else stages:
        if stage.name not in skip:
            stage.preflight(recipe)


def run_pipeline(
    recipe: Recipe,
    *,
    run_dir: str | Path | None = None,
    force: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    progress: bool = True,
    echo: Callable[[str], None] = print,
    stages: Sequence[Stage] | None = None,
) -> PipelineResult:
    """Run every stage (default: `PIPELINE`) of `recipe` into one run folder; returns what ran and
    what was skipped."""
    stages = PIPELINE if stages is None else stages
    run = Path(run_dir) if run_dir is not None else rf.default_run_dir(recipe)
    preflight(recipe, skip, stages)
    result = PipelineResult(run)
    for stage in stages:
        if stage.name in skip:
            status, detail = "skipped", "--skip"
        else:
            current, why = stage.current(recipe, run) if stage.name not in force else (False, "--force")
            status, detail = ("skipped", f"{why} ({rf.MANIFEST})") if current else stage.run(recipe, run, progress)
        result.stages.append(StageOutcome(stage.name, status, detail))
        echo(f"[{stage.name}] {status}{': ' + detail if detail else ''}")
        if stage is FILTER and status == "ran" and GENERATE.name not in skip:
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
        GENERATE.run(recipe.model_copy(update={"generate": g.model_copy(update={"n": want})}), run, progress)
        FILTER.run(recipe, run, progress)
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
