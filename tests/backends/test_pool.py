"""`ReplicaPool` routing with in-process replicas (threads): least in flight, ejection, re-sending,
all-down, configuration errors. Real servers are in tests/backends/test_fleet.py, real Ray workers
in tests/backends/test_ray_executor.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from sarcgen.backends.base import GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.pool import DOWN_ERRORS, PoolSettings, ReplicaPool
from sarcgen.errors import BackendError, ReplicaUnavailable


class ThreadReplica:
    """Answers after `delay` seconds; from request number `die_after` on, it is down (or raises `error`)."""

    down_errors = DOWN_ERRORS

    def __init__(self, name: str, capacity: int = 2, delay: float = 0.01, die_after: int | None = None,
                 error: Exception | None = None) -> None:
        self.name, self.capacity, self.delay, self.die_after, self.error = name, capacity, delay, die_after, error
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.seen: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()

    def _run(self, req: GenerationRequest) -> GenerationResult:
        with self.lock:
            self.seen.append(req.key)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            n = len(self.seen)
        try:
            time.sleep(self.delay)
            if self.die_after is not None and n > self.die_after:
                raise self.error or ReplicaUnavailable(f"{self.name} is down")
            return GenerationResult(key=req.key, text=f"{self.name}:{req.key}", completion_tokens=3)
        finally:
            with self.lock:
                self.in_flight -= 1

    def submit(self, req: GenerationRequest) -> Future[GenerationResult]:
        return self.pool.submit(self._run, req)

    def close(self) -> None:
        self.pool.shutdown(wait=False)


class Pool(ReplicaPool):
    def __init__(self, replicas: list[ThreadReplica], **kw: float) -> None:
        super().__init__(PoolSettings(eject_s=kw.get("eject_s", 0.05), down_after=int(kw.get("down_after", 3))))
        self.set_replicas(replicas)

    def load(self) -> None:
        pass

    def info(self) -> ModelInfo:
        return ModelInfo("m", "0", None, "pool", "0")


def _reqs(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(key=f"r{i}", messages=[{"role": "user", "content": str(i)}], seed=i) for i in range(n)]


def test_every_request_answered_once_spread_by_least_in_flight() -> None:
    fast, slow = ThreadReplica("fast", delay=0.005), ThreadReplica("slow", delay=0.05)
    pool = Pool([fast, slow])
    keys = [r.key for r in pool.generate(iter(_reqs(60)))]
    assert sorted(keys) == sorted(f"r{i}" for i in range(60))
    assert len(fast.seen) > 2 * len(slow.seen) > 0  # the faster replica frees slots sooner, so gets more
    assert fast.max_in_flight <= 2 and slow.max_in_flight <= 2
    assert [s["done"] for s in pool.replica_stats()["replicas"]] == [len(fast.seen), len(slow.seen)]
    assert pool.status_line().startswith("2/2 up [0:")


def test_a_failing_replica_is_ejected_and_its_requests_resent() -> None:
    good, bad = ThreadReplica("good"), ThreadReplica("bad", die_after=3)
    pool = Pool([good, bad], eject_s=10)
    results = list(pool.generate(iter(_reqs(40))))
    keys = Counter(r.key for r in results)
    assert set(keys) == {f"r{i}" for i in range(40)} and set(keys.values()) == {1}
    assert all(r.text.startswith(("good:", "bad:")) for r in results)
    assert pool.resent >= 1
    failed = set(bad.seen[3:])
    assert failed and failed <= set(good.seen)  # what failed on "bad" was answered by "good"
    assert len(bad.seen) <= 3 + bad.capacity  # ejected for 10 s: no more traffic after its failures
    st = pool.replica_stats()["replicas"][1]
    assert st["up"] is False and "bad is down" in st["last_error"]
    assert "(down)" in pool.status_line()


def test_an_ejected_replica_comes_back_after_its_pause() -> None:
    flaky = ThreadReplica("flaky", capacity=1, die_after=1)
    good = ThreadReplica("good", capacity=1, delay=0.03)
    pool = Pool([flaky, good], eject_s=0.02)
    got = []
    for res in pool.generate(iter(_reqs(30))):
        got.append(res.key)
        if len(got) == 5:
            flaky.die_after = None  # repaired
    assert sorted(got) == sorted(f"r{i}" for i in range(30))
    assert pool.replica_stats()["replicas"][0]["up"] and pool.replica_stats()["replicas"][0]["done"] >= 2


def test_all_down_raises_one_clear_error() -> None:
    a, b = ThreadReplica("http://a/v1", die_after=0), ThreadReplica("http://b/v1", die_after=0)
    pool = Pool([a, b], eject_s=0.01, down_after=2)
    t0 = time.monotonic()
    with pytest.raises(BackendError) as err:
        list(pool.generate(iter(_reqs(10))))
    assert time.monotonic() - t0 < 5
    msg = str(err.value)
    assert "all 2 replicas are down" in msg and "http://a/v1: http://a/v1 is down" in msg and "rerun the same command" in msg
    assert not isinstance(err.value, ReplicaUnavailable)


def test_a_configuration_error_is_raised_at_once() -> None:
    bad = ThreadReplica("bad", die_after=0, error=BackendError("HTTP 400: bad model"))
    pool = Pool([ThreadReplica("good", delay=0.2), bad])
    with pytest.raises(BackendError, match="HTTP 400"):
        list(pool.generate(iter(_reqs(10))))


def test_the_feed_is_pulled_lazily() -> None:
    pulled = []

    def feed():
        for r in _reqs(100):
            pulled.append(r.key)
            yield r

    pool = Pool([ThreadReplica("a"), ThreadReplica("b")])
    gen = pool.generate(feed())
    next(gen)
    assert len(pulled) <= 5  # capacity 2 + 2, plus the one answered
    gen.close()
