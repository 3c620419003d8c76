"""A word when generation slows to a crawl because something else is using the cores.

llama.cpp splits each token's work over `n_threads` threads that wait for one another, so one
thread that loses its core to another process holds up all of them: with every core busy, a
second CPU-bound job can cut its speed several-fold with no sign on the progress bar but a falling
tok/s (benchmarks/bench_threads.py measures it). `SpeedWatch` sees the results as they come and
warns once, on stderr and in generate.log, with what to do:

- the speed over the last `window_s` seconds fell below `ratio` of the speed of the first
  `early_s` seconds (a window, not one slow reply: a long prompt or a long reply is not a fall);
- or the 1-minute load average is above `overload` x the cores while llama.cpp runs a thread on
  every core.

Both wait `early_s + window_s` seconds, so a short run (the tests' tiny model) is never judged.
Only the local llama.cpp backend is watched: a server's speed says nothing about this machine.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable

from sarcgen.recipe import Recipe


def _load1() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return 0.0


def _to_terminal(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)  # above the progress bar, not through it


class SpeedWatch:
    """Feed it each result's completion tokens (`add`); it warns at most once. The clock, the load
    average and the output are parameters so tests drive it with synthetic timings."""

    def __init__(self, n_threads: int, *, cpus: int | None = None, log: logging.Logger | None = None,
                 early_s: float = 10.0, window_s: float = 20.0, ratio: float = 1 / 3, overload: float = 1.5,
                 clock: Callable[[], float] = time.monotonic, load: Callable[[], float] = _load1,
                 emit: Callable[[str], None] = _to_terminal) -> None:
        self.n_threads, self.cpus = n_threads, cpus or os.cpu_count() or 1
        self.log, self.early_s, self.window_s, self.ratio, self.overload = log, early_s, window_s, ratio, overload
        self.clock, self.load, self.emit = clock, load, emit
        self.t0 = clock()
        self.tokens = 0
        self.early_rate: float | None = None  # tok/s over the first early_s seconds
        self.early_end = 0.0  # when early_rate was taken
        self.samples: deque[tuple[float, int]] = deque([(self.t0, 0)])  # (time, tokens so far)
        self.warning: str | None = None

    def add(self, tokens: int) -> str | None:
        """Count a result's tokens; the warning line when this result is the one that trips it."""
        now = self.clock()
        self.tokens += tokens
        self.samples.append((now, self.tokens))
        if self.warning is not None:
            return None
        if self.early_rate is None:
            if now - self.t0 >= self.early_s and len(self.samples) > 2:
                self.early_rate = self.tokens / (now - self.t0)
                self.early_end = now
            return None
        if now - self.early_end < self.window_s:
            return None
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window_s:
            self.samples.popleft()  # keep one sample at or before the window's start
        t_ref, n_ref = self.samples[0]
        rate = (self.tokens - n_ref) / (now - t_ref) if now > t_ref else self.early_rate
        load = self.load()
        if rate < self.ratio * self.early_rate:
            return self._warn(f"speed fell from {self.early_rate:.1f} to {rate:.1f} tok/s: "
                              f"{self._cause(load)}; {self._fix(load)}")
        if self.n_threads >= self.cpus and load > self.overload * self.cpus:
            return self._warn(f"the machine is oversubscribed (load {load:.1f} on {self.cpus} cores, llama.cpp runs "
                              f"{self.n_threads} threads; {rate:.1f} tok/s now, {self.early_rate:.1f} at the start); "
                              f"{self._fix(load)}")
        return None

    def _cause(self, load: float) -> str:
        if load > self.cpus + 0.5:
            return f"another process is using the cores (load {load:.1f} on {self.cpus} cores)"
        return "another process may be using the cores, or the machine is throttling"

    def _fix(self, load: float) -> str:
        if self.n_threads == 1:
            return "stop the other job"
        others = max(0.0, load - self.n_threads)
        threads = max(1, min(self.n_threads - 1, self.cpus - math.ceil(others)))
        return f"rerun with --threads {threads} or stop the other job"

    def _warn(self, message: str) -> str:
        self.warning = f"[generate] {message}"
        if self.log is not None:
            self.log.warning("%s", self.warning)
        self.emit(self.warning)
        return self.warning


def watch_speed(recipe: Recipe, log: logging.Logger) -> SpeedWatch | None:
    """A `SpeedWatch` for a generate run on the local llama.cpp backend (None for a server or Ray)."""
    g = recipe.generate
    if g.backend != "llamacpp" or g.executor != "local":
        return None
    return SpeedWatch(g.llamacpp.n_threads or os.cpu_count() or 1, log=log)
