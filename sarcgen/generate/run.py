"""plan -> prompts -> backend -> parse -> records in a run folder, resumable at any point.

Run folder (`outputs/<recipe name>-seed<seed>/` unless `out_dir` is given):
- generated.jsonl  accepted `Review` records, appended, flushed and fsynced one by one;
- rejected.jsonl   every rejected reply (`Rejection`: reason, attempt, final when no retry is left);
- manifest.json    resolved recipe, model, counts per reason, tokens, timings, status;
- recipe.yaml      the resolved recipe;  generate.log  what happened, in words.

`n` counts *accepted* records. Resume: re-running the same command reads the folder, skips accepted
ids and exhausted items, restarts unfinished items at their next attempt, and continues to `n`; a
folder made with another recipe hash (or shard) is refused. The driver works in rounds and feeds
requests lazily, so a backend with parallel slots stays full and may answer out of order.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sarcgen import __version__
from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult
from sarcgen.errors import BackendError, FileError, InputError, RecipeError
from sarcgen.jsonl import JsonlWriter, iter_jsonl, read_text, repair_tail, write_json
from sarcgen.generate.reply import parse_reply
from sarcgen.generate.plan import Plan, PlanItem, parse_shard
from sarcgen.prompts import PromptTemplate, load_template, review_messages
from sarcgen.recipe import ModelSpec, Recipe, save_resolved
from sarcgen.records import Provenance, Rejection, Review

GENERATED, REJECTED, MANIFEST, RECIPE_FILE, LOG = (
    "generated.jsonl", "rejected.jsonl", "manifest.json", "recipe.yaml", "generate.log")
MAX_CONSECUTIVE_ERRORS = 8


@dataclass
class RunSummary:
    """What a generate call did (also what the CLI prints)."""

    out_dir: Path | None
    target: int
    accepted: int = 0
    new_accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    exhausted: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    status: str = "complete"
    resumed: bool = False
    prompts: list[tuple[PlanItem, list[dict[str, str]]]] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def default_run_dir(recipe: Recipe, shard: tuple[int, int] | None = None) -> Path:
    """`<output_dir>/<recipe name>-seed<seed>[-shard<k>of<n>]`."""
    name = f"{recipe.name}-seed{recipe.generate.seed}"
    if shard:
        name += f"-shard{shard[0]}of{shard[1]}"
    return Path(recipe.output_dir) / name


def dry_run(recipe: Recipe, k: int = 3, shard: Any = None) -> list[tuple[PlanItem, list[dict[str, str]]]]:
    """The first `k` plan items and their chat messages; loads no model, writes nothing."""
    template = load_template(recipe.generate.template)
    plan = Plan(recipe.generate, shard=shard)
    return [(item, review_messages(template, item, recipe.generate.attributes)) for item in plan.items(k)]


class _RunState:
    """What the run folder already holds: accepted ids, attempts used per item, exhausted items."""

    def __init__(self, out: Path, log: logging.Logger) -> None:
        self.accepted: set[str] = set()
        self.attempts: Counter = Counter()
        self.exhausted: set[str] = set()
        self.reasons: Counter = Counter()
        for name in (GENERATED, REJECTED):
            fixed = repair_tail(out / name)  # a SIGKILL can leave half a line; it was never acknowledged
            if fixed:
                log.warning("%s", fixed.describe(out / name))
        self.hashes: dict[str, int] = {}  # recipe hash in the records' provenance -> its first line
        if (out / GENERATED).exists():
            for line_no, rec in iter_jsonl(out / GENERATED, on_error=lambda *a: None):
                self.accepted.add(rec.get("id"))
                prov = rec.get("provenance")
                h = prov.get("recipe_hash") if isinstance(prov, dict) else None
                if isinstance(h, str):
                    self.hashes.setdefault(h, line_no)
        if (out / REJECTED).exists():
            for _, rej in iter_jsonl(out / REJECTED, on_error=lambda *a: None):
                rid = rej.get("id")
                self.attempts[rid] = max(self.attempts[rid], int(rej.get("attempt") or 0) + 1)
                self.reasons[rej.get("reason")] += 1
                if rej.get("final"):
                    self.exhausted.add(rid)


class _Feed:
    """The lazy request iterator handed to the backend. Retries first, then new plan items; stops
    once accepted + in flight reaches the target. Thread-safe (a backend may pull from a worker)."""

    def __init__(self, driver: "_Driver") -> None:
        self.d = driver

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> GenerationRequest:
        d = self.d
        with d.lock:
            if d.accepted + len(d.in_flight) >= d.target or d.stop:
                raise StopIteration
            if d.retry:
                item, attempt = d.retry.popleft()
            else:
                item = d.next_plan_item()
                attempt = d.state.attempts[item.id]
            req = d.request(item, attempt)
            d.in_flight[req.key] = (item, attempt, req)
            return req


class _Driver:
    def __init__(self, recipe: Recipe, plan: Plan, template: PromptTemplate, state: _RunState, target: int) -> None:
        self.recipe, self.plan, self.template, self.state, self.target = recipe, plan, template, state, target
        self.lock = threading.RLock()
        self.accepted = len(state.accepted)
        self.in_flight: dict[str, tuple[PlanItem, int, GenerationRequest]] = {}
        self.retry: deque[tuple[PlanItem, int]] = deque()
        self.stop = False
        self.accept_truncated = False
        self._items: Iterator[PlanItem] = iter(plan)

    def next_plan_item(self) -> PlanItem:
        for item in self._items:
            if item.id not in self.state.accepted and item.id not in self.state.exhausted:
                return item
        raise StopIteration  # pragma: no cover - the plan is infinite

    def request(self, item: PlanItem, attempt: int) -> GenerationRequest:
        s = self.recipe.generate.sampling
        return GenerationRequest(
            key=f"{item.id}#{attempt}",
            messages=review_messages(self.template, item, self.recipe.generate.attributes),
            seed=item.seed_for(attempt),
            max_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k,
            min_p=s.min_p, repeat_penalty=s.repeat_penalty,
        )


def _provenance(info: Any, template: PromptTemplate, recipe_hash: str, req_sampling: dict, seed: int, attempt: int) -> Provenance:
    return Provenance(
        model_file=info.model_file, model_sha256=info.model_sha256, quantization=info.quantization,
        backend=info.backend, backend_version=info.backend_version, template_name=template.name,
        template_hash=template.sha256, recipe_hash=recipe_hash, sampling=req_sampling, seed=seed,
        attempt=attempt, sarcgen_version=__version__,
    )


def _logger(out: Path) -> logging.Logger:
    log = logging.getLogger(f"sarcgen.generate.run.{out.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
    handler = logging.FileHandler(out / LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    logging.getLogger("sarcgen.backends").setLevel(logging.INFO)  # replicas ejected, workers ready
    logging.getLogger("sarcgen.backends").addHandler(handler)
    return log


def _check_records(out: Path, state: _RunState, recipe_hash: str) -> None:
    """The records' own provenance must name this recipe too: a lost or corrupt manifest must not
    let a resume with other settings append a second recipe's records to the same file."""
    others = sorted((line, h) for h, line in state.hashes.items() if h != recipe_hash)
    if not others:
        return
    line, other = others[0]
    raise RecipeError(
        f"{out / GENERATED}:{line}: a record of another recipe (hash {other}, this command resolves to {recipe_hash})",
        "re-run with the original recipe and flags to resume it, or pass --out NEW_DIR for a new run",
    )


def _check_folder(out: Path, recipe_hash: str, shard: tuple[int, int] | None) -> dict[str, Any]:
    """The previous manifest, after checking it belongs to the same recipe and shard. A missing or
    unreadable manifest gives {} (the records' provenance is checked by `_check_records`)."""
    import json

    p = out / MANIFEST
    if not p.exists():
        return {}
    try:
        old = json.loads(read_text(p))
    except (ValueError, FileError):  # not JSON, or not UTF-8: the records are checked instead
        return {}
    if not isinstance(old, dict):
        return {}
    if old.get("recipe_hash") and old["recipe_hash"] != recipe_hash:
        raise RecipeError(
            f"{out} holds a run of another recipe (hash {old['recipe_hash']}, this command resolves to {recipe_hash})",
            "re-run with the original recipe and flags to resume it, or pass --out NEW_DIR for a new run",
        )
    old_shard = old.get("shard")
    new_shard = f"{shard[0]}/{shard[1]}" if shard else None
    if old_shard != new_shard and ("shard" in old):
        raise RecipeError(f"{out} holds shard {old_shard}, not {new_shard}", "pass --out NEW_DIR for another shard")
    return old


def generate_run(
    recipe: Recipe,
    *,
    out_dir: str | Path | None = None,
    backend: Backend | None = None,
    model_spec: ModelSpec | None = None,
    shard: Any = None,
    progress: bool = True,
    accept_truncated: bool = False,
) -> RunSummary:
    """Generate until `recipe.generate.n` records are accepted in the run folder (resuming it).

    `backend` defaults to `create_backend(recipe, model_spec)`. Raises `ModelError`, `RecipeError`
    or `BackendError` with what to do; Ctrl-C marks the manifest "interrupted" and re-raises.
    `accept_truncated` (benchmarks only) keeps replies cut at max_tokens instead of rejecting them.
    """
    from tqdm import tqdm

    g = recipe.generate
    shard_t = parse_shard(shard)
    if shard_t:  # the job's n is split over its shards: shard k of N makes n//N + (k < n%N)
        g = g.model_copy(update={"n": g.n // shard_t[1] + int(shard_t[0] < g.n % shard_t[1])})
        recipe = recipe.model_copy(update={"generate": g})
    out = Path(out_dir) if out_dir else default_run_dir(recipe, shard_t)
    recipe_hash = recipe.hash()
    template = load_template(g.template)
    plan = Plan(g, shard=shard_t)
    out.mkdir(parents=True, exist_ok=True)
    folder_lock = _lock_folder(out)  # noqa: F841 - held (by the open file) until this call returns
    old = _check_folder(out, recipe_hash, shard_t)
    log = _logger(out)
    try:
        state = _RunState(out, log)
        _check_records(out, state, recipe_hash)
    except BaseException:
        _close_log(log)
        raise
    save_resolved(recipe, out / RECIPE_FILE)
    summary = RunSummary(out_dir=out, target=g.n, accepted=len(state.accepted), resumed=bool(old or state.accepted))
    summary.rejected = Counter(state.reasons)
    summary.exhausted = len(state.exhausted)
    totals = old.get("tokens", {}) if isinstance(old.get("tokens"), dict) else {}
    sessions: list[dict[str, Any]] = list(old.get("sessions", [])) if isinstance(old.get("sessions"), list) else []
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest: dict[str, Any] = {
        "kind": "generate", "name": recipe.name, "status": "running", "recipe_hash": recipe_hash,
        "shard": f"{shard_t[0]}/{shard_t[1]}" if shard_t else None, "seed": g.seed, "target": g.n,
        "template": {"name": template.name, "sha256": template.sha256, "path": str(template.path)},
        "recipe": recipe.resolved(), "sarcgen_version": __version__, "created_at": old.get("created_at", started),
    }
    if isinstance(old.get("model"), dict):
        manifest["model"] = old["model"]

    def write_manifest(status: str, t_gen: float, info: Any = None) -> None:
        this = {"started_at": started, "seconds": round(t_gen, 3), "accepted": summary.new_accepted,
                "prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens}
        pt = int(totals.get("prompt", 0)) + summary.prompt_tokens
        ct = int(totals.get("completion", 0)) + summary.completion_tokens
        secs = float(totals.get("seconds", 0.0)) + t_gen
        manifest.update(
            status=status, updated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            accepted=summary.accepted, rejected=sum(summary.rejected.values()),
            counts={"accepted": summary.accepted, "rejected": sum(summary.rejected.values()),
                    "exhausted_items": summary.exhausted, "reasons": dict(summary.rejected)},
            tokens={"prompt": pt, "completion": ct, "seconds": round(secs, 3),
                    "tokens_per_s": round(ct / secs, 2) if secs > 0 else None,
                    "records_per_s": round(summary.accepted / secs, 3) if secs > 0 else None},
            sessions=sessions + [this],
        )
        if hasattr(backend, "replica_stats"):  # a fleet or Ray pool: what each replica did
            manifest["replicas"] = backend.replica_stats()
        if info is not None:
            manifest["model"] = {"file": info.model_file, "sha256": info.model_sha256, "quantization": info.quantization,
                                 "backend": info.backend, "backend_version": info.backend_version, **info.extra}
        write_json(out / MANIFEST, manifest)

    log.info("generate %s: target %d accepted, %d already in %s (%d exhausted items)",
             recipe.name, g.n, summary.accepted, out, summary.exhausted)
    if summary.accepted >= g.n:
        write_manifest("complete", 0.0)
        summary.status = "complete"
        _close_log(log)
        return summary

    try:
        if backend is None:
            from sarcgen.backends import create_backend

            backend = create_backend(recipe, model_spec)
        t_load = time.perf_counter()
        backend.load()
        info = backend.info()
    except BaseException as exc:
        log.error("could not start: %s", exc)
        _close_log(log)
        raise
    log.info("model %s (%s, sha256 %s) on %s %s, loaded in %.1fs", info.model_file, info.quantization,
             info.model_sha256[:12], info.backend, info.backend_version, time.perf_counter() - t_load)

    driver = _Driver(recipe, plan, template, state, g.n)
    driver.accept_truncated = accept_truncated
    writer, rejected_writer = JsonlWriter(out / GENERATED), JsonlWriter(out / REJECTED)
    bar = tqdm(total=g.n, initial=summary.accepted, unit="rec", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, desc="generate")
    t0 = time.perf_counter()
    last_manifest = t0
    consecutive_errors = 0
    status = "interrupted"
    try:
        write_manifest("running", 0.0, info)
        while driver.accepted < g.n:
            got_any = False
            for res in backend.generate(_Feed(driver)):
                got_any = True
                consecutive_errors = consecutive_errors + 1 if res.finish_reason == "error" else 0
                _handle(res, driver, summary, info, template, recipe_hash, writer, rejected_writer, log)
                bar.update(driver.accepted - bar.n)
                el = time.perf_counter() - t0
                bar.set_postfix_str(f"{summary.completion_tokens / el if el else 0:.1f} tok/s, "
                                    f"{sum(summary.rejected.values())} rejected{_replicas(backend)}", refresh=False)
                if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                    raise BackendError(f"{consecutive_errors} requests in a row failed in the backend; last: {res.error}",
                                       f"see {out / LOG}; everything accepted so far is saved")
                _check_hopeless(summary, g.n, out)
                if time.perf_counter() - last_manifest > 5:
                    write_manifest("running", time.perf_counter() - t0, info)
                    last_manifest = time.perf_counter()
            with driver.lock:  # requests a backend took but never answered: ask again
                lost = [(item, attempt) for item, attempt, _ in driver.in_flight.values()]
                driver.in_flight.clear()
                driver.retry.extend(lost)
            if not got_any:
                raise BackendError("the backend returned no results", "check the backend settings")
        status = "complete"
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        raise
    finally:
        summary.seconds = time.perf_counter() - t0
        summary.status = status
        bar.close()
        writer.close()
        rejected_writer.close()
        write_manifest(status, summary.seconds, info)
        log.info("%s: %d accepted (%d new), %d rejected %s, %d completion tokens in %.1fs (%.1f tok/s)",
                 status, summary.accepted, summary.new_accepted, sum(summary.rejected.values()),
                 dict(summary.rejected), summary.completion_tokens, summary.seconds, summary.tokens_per_s)
        _close_log(log)
        backend.close()
    return summary


def _lock_folder(out: Path) -> Any:
    """An exclusive lock on the run folder, so two runs never append to the same files. The OS
    releases it when the process dies, even by SIGKILL."""
    fh = (out / ".lock").open("a")
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not on POSIX
        pass
    except OSError:
        fh.close()
        raise InputError(f"{out} is being written by another sarcgen generate", "wait for it, or pass --out NEW_DIR") from None
    return fh


def _close_log(log: logging.Logger) -> None:
    for h in list(log.handlers):
        logging.getLogger("sarcgen.backends").removeHandler(h)
        h.close()
        log.removeHandler(h)


def _replicas(backend: Any) -> str:
    """`, 2/2 up [0:14 1:12]` for a fleet or a Ray pool (records per replica), else nothing."""
    line = getattr(backend, "status_line", None)
    return f", {line()}" if callable(line) else ""


def _handle(res: GenerationResult, d: _Driver, summary: RunSummary, info: Any, template: PromptTemplate,
            recipe_hash: str, writer: JsonlWriter, rejected_writer: JsonlWriter, log: logging.Logger) -> None:
    """Parse one result and write it as a record or a rejection (scheduling a retry if any is left)."""
    with d.lock:
        entry = d.in_flight.pop(res.key, None)
    if entry is None:
        log.warning("ignoring a result for an unknown request %r", res.key)
        return
    item, attempt, req = entry
    summary.prompt_tokens += res.prompt_tokens
    summary.completion_tokens += res.completion_tokens
    outcome = parse_reply(res.text, res.finish_reason, res.error, accept_truncated=d.accept_truncated,
                          prompt=req.messages)
    req_sampling = req.sampling()
    if outcome.ok:
        review = Review(
            id=item.id, plan_index=item.plan_index, text=outcome.text or "", label=item.label, sarcastic=item.sarcastic,
            device=item.device, aspect=item.aspect, genre=item.genre, length=item.length, cue=item.cue,
            pair_id=item.pair_id,
            provenance=_provenance(info, template, recipe_hash, req_sampling, item.seed_for(attempt), attempt),
        )
        writer.write(review)
        with d.lock:
            d.accepted += 1
            d.state.accepted.add(item.id)
        summary.accepted += 1
        summary.new_accepted += 1
        return
    final = attempt >= d.recipe.generate.max_retries
    rejected_writer.write(Rejection(
        id=item.id, plan_index=item.plan_index, stage="generate", reason=outcome.reason or "unknown",
        detail=outcome.detail, attempt=attempt, final=final, text=(res.text or "")[:2000],
    ))
    summary.rejected[outcome.reason] += 1
    log.info("rejected %s attempt %d: %s%s %s", item.id, attempt, outcome.reason, " (final)" if final else "",
             outcome.detail[:120])
    with d.lock:
        d.state.attempts[item.id] = attempt + 1
        if final:
            d.state.exhausted.add(item.id)
            summary.exhausted += 1
        else:
            d.retry.append((item, attempt + 1))


def _check_hopeless(summary: RunSummary, target: int, out: Path) -> None:
    """Stop a run whose every reply is rejected instead of walking an infinite plan forever."""
    if summary.exhausted > 20 + 5 * target or (summary.exhausted >= 20 and summary.accepted == 0):
        top = ", ".join(f"{r} x{c}" for r, c in summary.rejected.most_common(3))
        raise BackendError(
            f"{summary.exhausted} plan items used up all their retries with {summary.accepted} accepted ({top})",
            f"look at {out / REJECTED}: raise generate.sampling.max_tokens for 'truncated', adjust the template otherwise",
        )
