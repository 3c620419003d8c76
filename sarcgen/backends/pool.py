"""One backend over several replicas: least-in-flight routing, ejection, re-sending, all-down.

A *replica* is anything that answers one request at a time through a `concurrent.futures.Future`:
an OpenAI-compatible server (`sarcgen.backends.fleet`) or a Ray actor holding a loaded model
(`sarcgen.backends.ray_pool`). `ReplicaPool` is a `Backend`, so `sarcgen generate` and the judge
drive a fleet exactly as they drive one engine, and the run folder is written by the caller alone.

Routing: each new request goes to the healthy replica with the fewest requests in flight (ties:
the one picked least recently), never above its `capacity`. A replica whose future fails with one
of its `down_errors` (connection refused, timeouts or 5xx after its own quick retries, a killed
Ray worker) is *ejected*: it gets no request for `eject_s` seconds (doubling per consecutive
failure, capped at 16x; requests already in flight that fail too count as the same failure) and
every failed request is re-sent to another replica first. After the
pause the replica is tried again; one success makes it healthy. A request is answered once:
the caller sees exactly one result per request, whichever replica produced it.

All down: when every replica has failed `down_after` times in a row, the pool raises
`BackendError` naming each replica and its last error; the generate run stops with everything
accepted saved, and rerunning the same command resumes. Any other exception (a 4xx from a server,
a model that cannot load) is a configuration error and is raised at once.

Knobs (operational, not in the recipe): $SARCGEN_EJECT_SECONDS (default 5) and
$SARCGEN_DOWN_AFTER (default 3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Protocol

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.openai import env_number
from sarcgen.errors import BackendError, ReplicaUnavailable

log = logging.getLogger("sarcgen.backends.pool")


class Replica(Protocol):
    """One server or worker. `submit` must not block; its future raises one of `down_errors`
    when the replica (not the request) failed."""

    name: str
    capacity: int
    down_errors: tuple[type[BaseException], ...]

    def submit(self, req: GenerationRequest) -> Future[GenerationResult]: ...

    def close(self) -> None: ...


@dataclass
class ReplicaState:
    """What the pool knows about one replica."""

    replica: Replica
    index: int
    in_flight: int = 0
    done: int = 0
    failures: int = 0  # consecutive
    total_failures: int = 0
    down_until: float = 0.0
    last_error: str = ""
    last_pick: int = 0

    def healthy(self, now: float) -> bool:
        return self.down_until <= now

    def summary(self) -> dict[str, object]:
        return {"name": self.replica.name, "done": self.done, "failures": self.total_failures,
                "in_flight": self.in_flight, "up": self.failures == 0, "last_error": self.last_error or None}


@dataclass
class PoolSettings:
    eject_s: float = 5.0
    down_after: int = 3
    max_eject_factor: int = 16

    @classmethod
    def from_env(cls) -> PoolSettings:
        return cls(eject_s=env_number("SARCGEN_EJECT_SECONDS", 5.0, float),
                   down_after=max(1, env_number("SARCGEN_DOWN_AFTER", 3, int)))


@dataclass
class _Routing:
    """One generate call's book-keeping."""

    futures: dict[Future[GenerationResult], tuple[ReplicaState, GenerationRequest]] = field(default_factory=dict)
    resend: deque[GenerationRequest] = field(default_factory=deque)
    exhausted: bool = False


class ReplicaPool(Backend):
    """A `Backend` over replicas (set `self.replicas` in `load()`); subclasses provide `load`/`info`."""

    name = "pool"

    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings.from_env()
        self.states: list[ReplicaState] = []
        self.resent = 0  # requests re-sent after a replica failed, for summaries and tests
        self._picks = 0
        self._lock = threading.Lock()

    # -- set-up ------------------------------------------------------------------------------

    def set_replicas(self, replicas: Sequence[Replica]) -> None:
        self.states = [ReplicaState(r, i) for i, r in enumerate(replicas)]

    def load(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def info(self) -> ModelInfo:  # pragma: no cover - subclasses
        raise NotImplementedError

    def close(self) -> None:
        for st in self.states:
            st.replica.close()

    # -- what a progress bar and the manifest show -----------------------------------------

    def status_line(self) -> str:
        """`2/3 up: r0 14, r1 12, r2 down` (records answered per replica)."""
        now = time.monotonic()
        up = sum(st.healthy(now) for st in self.states)
        parts = [f"{st.index}:{st.done}" + ("" if st.healthy(now) else "(down)") for st in self.states]
        return f"{up}/{len(self.states)} up [{' '.join(parts)}]"

    def replica_stats(self) -> dict[str, object]:
        return {"replicas": [st.summary() for st in self.states], "resent": self.resent}

    # -- routing -----------------------------------------------------------------------------

    def _pick(self, now: float) -> ReplicaState | None:
        free = [st for st in self.states if st.healthy(now) and st.in_flight < st.replica.capacity]
        if not free:
            return None
        st = min(free, key=lambda s: (s.in_flight, s.last_pick))
        self._picks += 1
        st.last_pick = self._picks
        return st

    def _all_down(self) -> bool:
        return bool(self.states) and all(st.failures >= self.settings.down_after for st in self.states)

    def _raise_all_down(self) -> None:
        lines = "; ".join(f"{st.replica.name}: {st.last_error}" for st in self.states)
        raise BackendError(
            f"all {len(self.states)} replicas are down ({lines})",
            "start or fix them, then rerun the same command: the run resumes where it stopped",
        )

    def _eject(self, st: ReplicaState, exc: BaseException) -> None:
        st.total_failures += 1
        st.last_error = _one_line(exc)
        if not st.healthy(time.monotonic()):
            return  # another request sent before the ejection: the same outage, counted once
        st.failures += 1
        pause = self.settings.eject_s * min(2 ** (st.failures - 1), self.settings.max_eject_factor)
        st.down_until = time.monotonic() + pause
        log.warning("replica %s failed (%d in a row): %s; ejected for %.1fs, its requests go elsewhere",
                    st.replica.name, st.failures, st.last_error, pause)

    def _fill(self, it: Iterator[GenerationRequest], r: _Routing) -> None:
        now = time.monotonic()
        while r.resend or not r.exhausted:
            st = self._pick(now)
            if st is None:
                return
            if r.resend:
                req = r.resend.popleft()
            else:
                nxt = next(it, None)
                if nxt is None:
                    r.exhausted = True
                    return
                req = nxt
            st.in_flight += 1
            r.futures[st.replica.submit(req)] = (st, req)

    def _wait_timeout(self) -> float | None:
        """Until the next ejected replica may be tried again (None: no one is ejected)."""
        now = time.monotonic()
        ends = [st.down_until - now for st in self.states if not st.healthy(now)]
        return max(0.01, min(ends)) if ends else None

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """Route requests over the replicas; yield each result once, in completion order."""
        if not self.states:
            self.load()
        it = iter(requests)
        r = _Routing()
        try:
            while True:
                self._fill(it, r)
                if not r.futures:
                    if r.exhausted and not r.resend:
                        return
                    if self._all_down():
                        self._raise_all_down()
                    time.sleep(self._wait_timeout() or 0.01)  # everyone is ejected: wait for the first
                    continue
                done, _ = wait(list(r.futures), timeout=self._wait_timeout(), return_when=FIRST_COMPLETED)
                for fut in done:
                    res = self._collect(fut, r)
                    if res is not None:
                        yield res
        finally:
            for fut in r.futures:
                fut.cancel()

    def _collect(self, fut: Future[GenerationResult], r: _Routing) -> GenerationResult | None:
        st, req = r.futures.pop(fut)
        st.in_flight -= 1
        try:
            res = fut.result()
        except st.replica.down_errors as exc:
            self._eject(st, exc)
            self.resent += 1
            r.resend.append(req)
            if self._all_down():
                self._raise_all_down()
            return None
        st.done += 1
        if st.failures and st.healthy(time.monotonic()):  # not a request sent before it was ejected
            log.warning("replica %s answers again", st.replica.name)
            st.failures, st.down_until = 0, 0.0
        return res


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


DOWN_ERRORS: tuple[type[BaseException], ...] = (ReplicaUnavailable,)
