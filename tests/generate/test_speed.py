"""sarcgen.generate.speed: one warning when the speed falls far below the early pace or the machine is
oversubscribed, driven by a synthetic clock and load average (no real timings)."""

from __future__ import annotations

import logging

from sarcgen.generate.speed import SpeedWatch, watch_speed
from sarcgen.recipe import Recipe


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _watch(clock: Clock, *, load: float = 2.0, threads: int = 2, cpus: int = 2) -> tuple[SpeedWatch, list[str]]:
    shown: list[str] = []
    watch = SpeedWatch(threads, cpus=cpus, clock=clock, load=lambda: load, emit=shown.append)
    return watch, shown


def _run(watch: SpeedWatch, clock: Clock, rate: float, seconds: float, step: float = 2.0) -> list[str | None]:
    """Results every `step` seconds at `rate` tok/s for `seconds`; what each add returned."""
    out = []
    for _ in range(int(seconds / step)):
        clock.t += step
        out.append(watch.add(int(rate * step)))
    return out


def test_a_sustained_fall_warns_once_with_the_fix() -> None:
    clock = Clock()
    watch, shown = _watch(clock, load=2.9)
    assert _run(watch, clock, rate=20, seconds=40) == [None] * 20
    assert watch.early_rate == 20
    _run(watch, clock, rate=2, seconds=60)
    assert len(shown) == 1
    line = shown[0]
    assert line.startswith("[generate] speed fell from 20.0 to ")
    assert "another process is using the cores (load 2.9 on 2 cores)" in line
    assert line.endswith("rerun with --threads 1 or stop the other job")
    assert watch.warning == line


def test_one_slow_reply_or_a_mild_dip_says_nothing() -> None:
    clock = Clock()
    watch, shown = _watch(clock)
    _run(watch, clock, rate=20, seconds=30)
    clock.t += 15  # one long reply: 15 s for 40 tokens, then the pace comes back
    watch.add(40)
    _run(watch, clock, rate=20, seconds=20)
    _run(watch, clock, rate=9, seconds=60)  # slower, but above a third of 20
    assert shown == [] and watch.warning is None


def test_a_short_run_is_never_judged() -> None:
    clock = Clock()
    watch, shown = _watch(clock, load=50.0)
    _run(watch, clock, rate=20, seconds=8)
    _run(watch, clock, rate=1, seconds=20)  # early_s + window_s not reached yet
    assert shown == []


def test_oversubscribed_machine_warns_even_before_the_speed_falls() -> None:
    clock = Clock()
    watch, shown = _watch(clock, load=8.0, threads=4, cpus=4)
    _run(watch, clock, rate=10, seconds=60)
    assert len(shown) == 1
    assert "oversubscribed (load 8.0 on 4 cores, llama.cpp runs 4 threads" in shown[0]
    assert shown[0].endswith("rerun with --threads 1 or stop the other job")  # 4 other threads' worth of load


def test_fewer_threads_than_cores_is_not_oversubscription() -> None:
    clock = Clock()
    watch, shown = _watch(clock, load=8.0, threads=2, cpus=4)
    _run(watch, clock, rate=10, seconds=60)
    assert shown == []


def test_one_thread_is_told_only_to_stop_the_other_job() -> None:
    clock = Clock()
    watch, shown = _watch(clock, load=3.0, threads=1, cpus=2)
    _run(watch, clock, rate=12, seconds=30)
    _run(watch, clock, rate=1, seconds=30)
    assert len(shown) == 1 and shown[0].endswith("; stop the other job")


def test_the_warning_goes_to_the_log_too(caplog) -> None:
    clock = Clock()
    shown: list[str] = []
    log = logging.getLogger("tests.speed")
    watch = SpeedWatch(2, cpus=2, log=log, clock=clock, load=lambda: 0.5, emit=shown.append)
    _run(watch, clock, rate=30, seconds=30)
    with caplog.at_level(logging.WARNING, logger="tests.speed"):
        _run(watch, clock, rate=3, seconds=30)
    assert "or the machine is throttling" in shown[0]
    assert [r.getMessage() for r in caplog.records] == shown


def test_only_the_local_llama_cpp_backend_is_watched() -> None:
    log = logging.getLogger("tests.speed")
    local = Recipe.model_validate({"generate": {"llamacpp": {"n_threads": 3}}})
    watch = watch_speed(local, log)
    assert watch is not None and watch.n_threads == 3
    assert watch_speed(Recipe.model_validate({"generate": {"backend": "openai"}}), log) is None
    assert watch_speed(Recipe.model_validate({"generate": {"executor": "ray"}}), log) is None
