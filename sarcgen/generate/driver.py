"""The request feed and the driver of one generate run: what the folder holds, which request goes
out next, and what each result becomes (a record, or a rejection with a retry if any is left).

The driver works in rounds and feeds requests lazily (`Feed`), so a backend with parallel slots
stays full and may answer out of order; results are matched to their request by key.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sarcgen import runfolder as rf
from sarcgen.backends.base import GenerationRequest, GenerationResult, ModelInfo
from sarcgen.errors import BackendError, RecipeError
from sarcgen.generate.grounded_plan import source_edit, source_provenance
from sarcgen.generate.grounding import UNCHANGED, rewrite_problem, without_source
from sarcgen.generate.plan import Plan, PlanItem
from sarcgen.generate.reply import ParseOutcome, parse_reply
from sarcgen.generate.speed import watch_speed
from sarcgen.jsonl import JsonlWriter, iter_jsonl, repair_tail
from sarcgen.prompts import PromptTemplate, review_messages
from sarcgen.recipe import Recipe
from sarcgen.records import Provenance, Rejection, Review
from sarcgen.version import __version__

MAX_CONSECUTIVE_ERRORS = 8


@dataclass
class RunSummary:
    """What a generate call did (also what the CLI prints)."""

    out_dir: Path | None
    target: int
    accepted: int = 0
    new_accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    exhausted: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    status: str = "complete"
    resumed: bool = False
    prompts: list[tuple[PlanItem, list[dict[str, str]]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # settings that work but are likely a mistake

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


class RunState:
    """What the run folder already holds: accepted ids, attempts used per item, exhausted items."""

    def __init__(self, out: Path, log: logging.Logger) -> None:
        self.accepted: set[str] = set()
        self.attempts: Counter[str] = Counter()
        self.exhausted: set[str] = set()
        self.reasons: Counter[str] = Counter()
        for name in (rf.GENERATED, rf.REJECTED):
            fixed = repair_tail(out / name)  # a SIGKILL can leave half a line; it was never acknowledged
            if fixed:
                log.warning("%s", fixed.describe(out / name))
        self.hashes: dict[str, int] = {}  # recipe hash in the records' provenance -> its first line

        def skipped(path: Path, line_no: int, msg: str) -> None:  # kept in the file; filter reports it too
            log.warning("%s:%d: unreadable line skipped (%s)", path, line_no, msg)

        if (out / rf.GENERATED).exists():
            for line_no, rec in iter_jsonl(out / rf.GENERATED, on_error=skipped):
                self.accepted.add(str(rec.get("id")))
                prov = rec.get("provenance")
                h = prov.get("recipe_hash") if isinstance(prov, dict) else None
                if isinstance(h, str):
                    self.hashes.setdefault(h, line_no)
        if (out / rf.REJECTED).exists():
            for _, rej in iter_jsonl(out / rf.REJECTED, on_error=skipped):
                rid = str(rej.get("id"))
                self.attempts[rid] = max(self.attempts[rid], int(rej.get("attempt") or 0) + 1)
                self.reasons[str(rej.get("reason"))] += 1
                if rej.get("final"):
                    self.exhausted.add(rid)


    def check_records(self, out: Path, recipe_hash: str) -> None:
        """The records' own provenance must name this recipe too: a lost or corrupt manifest must not
        let a resume with other settings append a second recipe's records to the same file."""
        others = sorted((line, h) for h, line in self.hashes.items() if h != recipe_hash)
        if not others:
            return
        line, other = others[0]
        raise RecipeError(
            f"{out / rf.GENERATED}:{line}: a record of another recipe (hash {other}, this command resolves to {recipe_hash})",
            "re-run with the original recipe and flags to resume it, or pass --out NEW_DIR for a new run",
        )


class Feed:
    """The lazy request iterator handed to the backend. Retries first, then new plan items; stops
    once accepted + in flight reaches the target. Thread-safe (a backend may pull from a worker)."""

    def __init__(self, driver: Driver) -> None:
        self.d = driver

    def __iter__(self) -> Feed:
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


class Driver:
    """Turns plan items into requests and results into records or rejections, in the run folder."""

    def __init__(self, recipe: Recipe, plan: Plan, template: PromptTemplate, state: RunState, summary: RunSummary,
                 out: Path, log: logging.Logger, *, recipe_hash: str, accept_truncated: bool = False) -> None:
        self.recipe, self.plan, self.template, self.state, self.summary = recipe, plan, template, state, summary
        self.out, self.log, self.accept_truncated = out, log, accept_truncated
        self.target = recipe.generate.n
        self.recipe_hash = recipe_hash  # under the folder's fingerprint version (generate.manifest.check_folder)
        self.lock = threading.RLock()
        self.accepted = len(state.accepted)
        self.in_flight: dict[str, tuple[PlanItem, int, GenerationRequest]] = {}
        self.retry: deque[tuple[PlanItem, int]] = deque()
        self.stop = False
        self.consecutive_errors = 0
        self.speed = watch_speed(recipe, log)  # one warning when other jobs slow llama.cpp down
        self._items: Iterator[PlanItem] = iter(plan)
        self.writer, self.rejected_writer = JsonlWriter(out / rf.GENERATED), JsonlWriter(out / rf.REJECTED)

    def close(self) -> None:
        self.writer.close()
        self.rejected_writer.close()

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

    def requeue_lost(self) -> None:
        """Requests a backend took but never answered: ask again."""
        with self.lock:
            lost = [(item, attempt) for item, attempt, _ in self.in_flight.values()]
            self.in_flight.clear()
            self.retry.extend(lost)

    def handle(self, res: GenerationResult, info: ModelInfo) -> None:
        """Parse one result and write it as a record or a rejection (scheduling a retry if any is left)."""
        self.consecutive_errors = self.consecutive_errors + 1 if res.finish_reason == "error" else 0
        with self.lock:
            entry = self.in_flight.pop(res.key, None)
        if entry is None:
            self.log.warning("ignoring a result for an unknown request %r", res.key)
            return
        item, attempt, req = entry
        self.summary.prompt_tokens += res.prompt_tokens
        self.summary.completion_tokens += res.completion_tokens
        if self.speed:
            self.speed.add(res.completion_tokens)
        outcome = parse_reply(res.text, res.finish_reason, res.error, accept_truncated=self.accept_truncated,
                              prompt=without_source(req.messages, item.source_text))
        edit = source_edit(item, outcome.text) if outcome.ok and outcome.text else None  # None: not a rewrite
        problem = rewrite_problem(edit)
        if problem:
            outcome = ParseOutcome(None, UNCHANGED, problem)
        if outcome.ok:
            prov = self._provenance(info, req.sampling(), item.seed_for(attempt), attempt, item, edit)
            self._accept(item, attempt, outcome.text or "", prov)
        else:
            self._reject(item, attempt, outcome.reason or "unknown", outcome.detail, res.text or "")

    def _accept(self, item: PlanItem, attempt: int, text: str, provenance: Provenance) -> None:
        self.writer.write(Review(
            id=item.id, plan_index=item.plan_index, text=text, label=item.label, sarcastic=item.sarcastic,
            device=item.device, aspect=item.aspect, genre=item.genre, length=item.length, cue=item.cue,
            pair_id=item.pair_id, provenance=provenance,
        ))
        with self.lock:
            self.accepted += 1
            self.state.accepted.add(item.id)
        self.summary.accepted += 1
        self.summary.new_accepted += 1

    def _reject(self, item: PlanItem, attempt: int, reason: str, detail: str, text: str) -> None:
        final = attempt >= self.recipe.generate.max_retries
        self.rejected_writer.write(Rejection(
            id=item.id, plan_index=item.plan_index, stage="generate", reason=reason,
            detail=detail, attempt=attempt, final=final, text=text[:2000],
        ))
        self.summary.rejected[reason] += 1
        self.log.info("rejected %s attempt %d: %s%s %s", item.id, attempt, reason, " (final)" if final else "", detail[:120])
        with self.lock:
            self.state.attempts[item.id] = attempt + 1
            if final:
                self.state.exhausted.add(item.id)
                self.summary.exhausted += 1
            else:
                self.retry.append((item, attempt + 1))

    def _provenance(self, info: ModelInfo, sampling: dict[str, object], seed: int, attempt: int,
                    item: PlanItem, edit: float | None) -> Provenance:
        return Provenance(
            model_file=info.model_file, model_sha256=info.model_sha256, quantization=info.quantization,
            backend=info.backend, backend_version=info.backend_version, template_name=self.template.name,
            template_hash=self.template.sha256, recipe_hash=self.recipe_hash, sampling=sampling, seed=seed,
            attempt=attempt, sarcgen_version=__version__, source=source_provenance(item, edit),
            examples=len(item.examples) if item and item.examples else None,
        )

    def check(self, res: GenerationResult) -> None:
        """Stop on a backend that keeps failing, or a run whose every reply is rejected (instead of
        walking an infinite plan forever)."""
        s = self.summary
        if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
            context = any(w in (res.error or "").lower() for w in ("context", "n_ctx", "does not fit"))
            raise BackendError(f"{self.consecutive_errors} requests in a row failed in the backend; last: {res.error}",
                               f"raise generate.llamacpp.n_ctx in the recipe (now {self.recipe.generate.llamacpp.n_ctx}) or shorten the template"
                               if context else f"see {self.out / rf.GENERATE_LOG}; everything accepted so far is saved")
        if s.exhausted > 20 + 5 * self.target or (s.exhausted >= 20 and s.accepted == 0):
            top = ", ".join(f"{r} x{c}" for r, c in s.rejected.most_common(3))
            raise BackendError(
                f"{s.exhausted} plan items used up all their retries with {s.accepted} accepted ({top})",
                f"look at {self.out / rf.REJECTED}: raise generate.sampling.max_tokens for 'truncated', adjust the template otherwise",
            )
