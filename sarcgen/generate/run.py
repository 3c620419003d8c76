"""plan -> prompts -> backend -> parse -> records in a run folder, resumable at any point.

Run folder (`outputs/<recipe name>-seed<seed>/` unless `out_dir` is given; names in
`sarcgen.runfolder`): generated.jsonl (accepted `Review` records, appended, flushed and fsynced one
by one), rejected.jsonl (every rejected reply: reason, attempt, final when no retry is left),
manifest.json (`sarcgen.generate.manifest`), recipe.yaml (the resolved recipe; for a shard, the
whole job's), generate.log (what happened, in words).

`n` counts *accepted* records. Resume: re-running the same command reads the folder, skips accepted
ids and exhausted items, restarts unfinished items at their next attempt, and continues to `n`; a
folder made with another recipe hash (or shard) is refused. The request feed and the handling of
each result live in `sarcgen.generate.driver`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sarcgen import runfolder as rf
from sarcgen.backends.base import Backend, ModelInfo
from sarcgen.errors import BackendError, FileError, RecipeError
from sarcgen.generate.driver import Driver, Feed, RunState, RunSummary
from sarcgen.generate.grounded_plan import plan_for, resolve_sources, template_for
from sarcgen.generate.manifest import GenerateManifest
from sarcgen.generate.plan import Plan, PlanItem, ShardSpec, parse_shard
from sarcgen.prompts import PromptTemplate, review_messages
from sarcgen.recipe import ModelSpec, Recipe, save_resolved

__all__ = ["RunSummary", "dry_run", "generate_run"]


def dry_run(recipe: Recipe, k: int = 3, shard: ShardSpec = None) -> list[tuple[PlanItem, list[dict[str, str]]]]:
    """The first `k` plan items and their chat messages; loads no model, writes nothing."""
    template = template_for(recipe)
    plan = plan_for(recipe, shard)
    return [(item, review_messages(template, item, recipe.generate.attributes)) for item in plan.items(k)]


@dataclass
class _Job:
    """One generate call, resolved: the (shard's) recipe, its folder, template and plan."""

    recipe: Recipe
    job_recipe: Recipe
    shard: tuple[int, int] | None
    out: Path
    template: PromptTemplate
    plan: Plan


def generate_run(
    recipe: Recipe,
    *,
    out_dir: str | Path | None = None,
    backend: Backend | None = None,
    model_spec: ModelSpec | None = None,
    shard: ShardSpec = None,
    progress: bool = True,
    accept_truncated: bool = False,
) -> RunSummary:
    """Generate until `recipe.generate.n` records are accepted in the run folder (resuming it).

    `backend` defaults to `create_backend(recipe, model_spec)`. Raises `ModelError`, `RecipeError`
    or `BackendError` with what to do; Ctrl-C marks the manifest "interrupted" and re-raises.
    `accept_truncated` (benchmarks only) keeps replies cut at max_tokens instead of rejecting them.
    """
    job = _resolve_job(recipe, out_dir, shard)
    folder_lock = rf.lock_folder(job.out)
    log = _logger(job.out)
    try:
        state = RunState(job.out, log)
        manifest = GenerateManifest(job.out, job.recipe, job.shard, job.template, state.hashes)
        manifest.backend = backend
        state.check_records(job.out, manifest.recipe_hash)
        save_resolved(job.job_recipe, job.out / rf.RECIPE)
        summary = _summary_from(state, job, resumed=manifest.resumed)
        summary.warnings = _warnings(job, summary)
        for warning in summary.warnings:
            log.warning("%s", warning)
        log.info("generate %s: target %d accepted, %d already in %s (%d exhausted items)",
                 job.recipe.name, summary.target, summary.accepted, job.out, summary.exhausted)
        if summary.accepted >= summary.target:
            manifest.write("complete", summary, 0.0)
            return summary
        backend, info = _start_backend(job.recipe, backend, model_spec, log)
        _check_context(job, backend)
        driver = Driver(job.recipe, job.plan, job.template, state, summary, job.out, log,
                        recipe_hash=manifest.recipe_hash, accept_truncated=accept_truncated)
        manifest.backend = backend
        _drive(driver, backend, info, manifest, progress)
        return summary
    finally:
        _close_log(log)
        folder_lock.close()


def _resolve_job(recipe: Recipe, out_dir: str | Path | None, shard: ShardSpec) -> _Job:
    """The shard's share of the job (shard k of N makes n//N + (k < n%N)), its folder, template and plan."""
    recipe = resolve_sources(recipe)
    job_recipe = recipe
    shard_t = parse_shard(shard)
    if shard_t:
        g = recipe.generate
        g = g.model_copy(update={"n": g.n // shard_t[1] + int(shard_t[0] < g.n % shard_t[1])})
        if g.n == 0:
            raise RecipeError(f"--shard {shard_t[0]}/{shard_t[1]} of generate.n {recipe.generate.n} gets no items",
                              "use at most generate.n shards")
        recipe = recipe.model_copy(update={"generate": g})
    out = Path(out_dir) if out_dir else rf.default_run_dir(recipe, shard_t)
    template = template_for(recipe)
    return _Job(recipe, job_recipe, shard_t, out, template, plan_for(recipe, shard_t))


def _warnings(job: _Job, summary: RunSummary) -> list[str]:
    """Settings that run but are probably not what was meant."""
    g, out = job.recipe.generate, []
    if summary.accepted > summary.target:
        out.append(f"{job.out} already holds {summary.accepted} accepted records, more than generate.n {summary.target}: "
                   f"nothing is generated, and filter and publish will read all {summary.accepted}")
    if g.sampling.temperature == 0 and g.max_retries > 0:
        out.append("generate.sampling.temperature 0 decodes greedily: a retry repeats the rejected reply word for word, "
                   f"so generate.max_retries {g.max_retries} only costs time (set max_retries 0, or a temperature above 0)")
    return out


def _summary_from(state: RunState, job: _Job, *, resumed: bool) -> RunSummary:
    summary = RunSummary(out_dir=job.out, target=job.recipe.generate.n, accepted=len(state.accepted),
                         resumed=resumed or bool(state.accepted))
    summary.rejected = Counter(state.reasons)
    summary.exhausted = len(state.exhausted)
    return summary


def _check_context(job: _Job, backend: Backend) -> None:
    """A prompt plus its longest reply must fit the model's context, checked once before the first
    request (otherwise every request fails, or every reply is cut short, with no word of n_ctx)."""
    n_ctx = backend.n_ctx
    if n_ctx is None:
        return
    g = job.recipe.generate
    item = job.plan.items(1)[0]
    prompt = backend.prompt_tokens(review_messages(job.template, item, g.attributes))
    if prompt is None:
        return
    need = prompt + g.sampling.max_tokens
    if need > n_ctx:
        backend.close()
        raise RecipeError(
            f"generate.llamacpp.n_ctx {n_ctx} is too small: a prompt takes {prompt} tokens and its reply up to "
            f"generate.sampling.max_tokens {g.sampling.max_tokens}",
            f"raise generate.llamacpp.n_ctx in the recipe to at least {need} (or shorten the template)")


def _start_backend(recipe: Recipe, backend: Backend | None, model_spec: ModelSpec | None,
                   log: logging.Logger) -> tuple[Backend, ModelInfo]:
    """Create (unless given) and load the backend; log what runs."""
    try:
        from sarcgen.backends import checked, create_backend

        backend = create_backend(recipe, model_spec) if backend is None else checked(backend, "generate was given a")
        t_load = time.perf_counter()
        backend.load()
        info = backend.info()
    except BaseException as exc:
        log.error("could not start: %s", exc)
        raise
    log.info("model %s (%s, sha256 %s) on %s %s, loaded in %.1fs", info.model_file, info.quantization,
             info.model_sha256[:12], info.backend, info.backend_version, time.perf_counter() - t_load)
    return backend, info


def _drive(driver: Driver, backend: Backend, info: ModelInfo, manifest: GenerateManifest, progress: bool) -> None:
    """Rounds of requests until the target is reached; the manifest says how it ended."""
    from tqdm import tqdm

    summary, target = driver.summary, driver.target
    bar = tqdm(total=target, initial=summary.accepted, unit="rec", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, desc="generate")
    t0 = last_manifest = time.perf_counter()
    status = "interrupted"
    try:
        manifest.write("running", summary, 0.0, info)
        while driver.accepted < target:
            got_any = False
            for res in backend.generate(Feed(driver)):
                got_any = True
                driver.handle(res, info)
                bar.update(driver.accepted - bar.n)
                el = time.perf_counter() - t0
                bar.set_postfix_str(f"{summary.completion_tokens / el if el else 0:.1f} tok/s, "
                                    f"{sum(summary.rejected.values())} rejected{_replicas(backend)}", refresh=False)
                driver.check(res)
                if time.perf_counter() - last_manifest > 5:
                    manifest.write("running", summary, time.perf_counter() - t0, info)
                    last_manifest = time.perf_counter()
            driver.requeue_lost()
            if not got_any:
                raise BackendError("the backend returned no results", "check the backend settings")
        status = "complete"
    except BaseException as exc:
        # Ctrl-C, SIGTERM and a full or read-only disk leave a folder the same command resumes.
        status = "interrupted" if isinstance(exc, (KeyboardInterrupt, FileError)) else "failed"
        raise
    finally:
        summary.seconds, summary.status = time.perf_counter() - t0, status
        bar.close()
        driver.close()
        _final_manifest(manifest, status, summary, info, driver.log)
        driver.log.info("%s: %d accepted (%d new), %d rejected %s, %d completion tokens in %.1fs (%.1f tok/s)",
                        status, summary.accepted, summary.new_accepted, sum(summary.rejected.values()),
                        dict(summary.rejected), summary.completion_tokens, summary.seconds, summary.tokens_per_s)
        backend.close()


def _final_manifest(manifest: GenerateManifest, status: str, summary: RunSummary, info: ModelInfo,
                    log: logging.Logger) -> None:
    """Write the manifest's last word; when that fails too (the disk is still full), the error that
    stopped the run is the one the user sees, and the log says why the manifest lags."""
    try:
        manifest.write(status, summary, summary.seconds, info)
    except FileError as exc:
        log.error("could not write the final manifest (%s): %s", status, exc)
        if status == "complete":
            raise


def _logger(out: Path) -> logging.Logger:
    out.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"sarcgen.generate.run.{out.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
    handler = logging.FileHandler(out / rf.GENERATE_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    logging.getLogger("sarcgen.backends").setLevel(logging.INFO)  # replicas ejected, workers ready
    logging.getLogger("sarcgen.backends").addHandler(handler)
    return log


def _close_log(log: logging.Logger) -> None:
    for h in list(log.handlers):
        logging.getLogger("sarcgen.backends").removeHandler(h)
        h.close()
        log.removeHandler(h)


def _replicas(backend: Backend) -> str:
    """`, 2/2 up [0:14 1:12]` for a fleet or a Ray pool (records per replica), else nothing."""
    line = backend.status_line()
    return f", {line}" if line is not None else ""
