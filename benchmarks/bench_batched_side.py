"""One sarcgen side of bench_batched_peer.py, in its own process (as the peer runs in its own).

Reads a JSON job on stdin (model, requests, threads, flash_attn, kv_unified, profile path), runs
`BatchedLlamaCppBackend(parallel=len(requests))` once and prints its figures as one JSON line.
It imports sarcgen from wherever PYTHONPATH points, so bench_batched_peer.py --baseline-tree can
run an older checkout of the backend on the very same requests.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def time_phases(be: Any) -> dict[str, float]:
    """Wrap the backend's own step methods to split pure decode steps into llama_decode, sampling and
    the rest (batch building, bookkeeping). Works on any tree whose loop has _decode/_sample/_count_step
    (the tuned backend and the commit before it): one perf_counter pair per call, ~1 us."""
    t = {"decode_call_seconds": 0.0, "sample_seconds": 0.0, "decode_steps": 0, "last_decode": 0.0, "last_sample": 0.0}
    decode, sample, count = be._decode, be._sample, be._count_step

    def timed_decode(batch: Any) -> None:
        t0 = time.perf_counter()
        try:
            return decode(batch)
        finally:
            t["last_decode"] = time.perf_counter() - t0

    def timed_sample(slot: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return sample(slot)
        finally:
            t["last_sample"] += time.perf_counter() - t0

    def timed_count(t_step: float, prompt_step: bool, n_gen: int) -> None:
        if not prompt_step:
            t["decode_steps"] += 1
            t["decode_call_seconds"] += t["last_decode"]
            t["sample_seconds"] += t["last_sample"]
        t["last_sample"] = 0.0
        return count(t_step, prompt_step, n_gen)

    be._decode, be._sample, be._count_step = timed_decode, timed_sample, timed_count
    return t


def engine_loop(be: Any, batch_size: int, pp: int, tg: int, seed: int = 0) -> float:
    """llama-batched-bench's -pps loop, driven over ctypes in this process on the backend's own
    context: `pp` random prompt tokens on sequence 0, copied to the others, then `tg` steps of one
    random token per sequence (all logits, no sampling). Returns its decode tok/s, so the gap to the
    peer splits into this process and llama.cpp's work on real vs random tokens."""
    import random

    from sarcgen.backends.llamacpp_lowlevel import add_to_batch

    ll, ctx, rng = be._ll, be._ctx, random.Random(seed)
    n_vocab = ll.llama_vocab_n_tokens(be._vocab)
    mem = ll.llama_get_memory(ctx)
    batch = ll.llama_batch_init(max(512, batch_size), 0, 1)
    try:
        ll.llama_memory_clear(mem, False)
        for start in range(0, pp, 512):
            batch.n_tokens = 0
            for i in range(start, min(pp, start + 512)):
                add_to_batch(batch, rng.randrange(n_vocab), i, 0, i == pp - 1)
            ll.llama_decode(ctx, batch)
        for s in range(1, batch_size):
            ll.llama_memory_seq_cp(mem, 0, s, -1, -1)
        batch.n_tokens = 0
        add_to_batch(batch, rng.randrange(n_vocab), pp, 0, True)  # applies the copies, as the peer does
        ll.llama_decode(ctx, batch)
        ll.llama_memory_seq_rm(mem, 0, pp, -1)
        t0 = time.perf_counter()
        for i in range(tg):
            batch.n_tokens = 0
            for s in range(batch_size):
                add_to_batch(batch, rng.randrange(n_vocab), pp + i, s, True)
            ll.llama_decode(ctx, batch)
        return batch_size * tg / (time.perf_counter() - t0)
    finally:
        ll.llama_batch_free(batch)


def run(job: dict) -> dict:
    import sarcgen
    from sarcgen.backends.base import GenerationRequest
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend
    from sarcgen.recipe import ModelSpec

    reqs = [GenerationRequest(**{**r, "stop": tuple(r["stop"])}) for r in job["requests"]]
    be = BatchedLlamaCppBackend(ModelSpec(path=job["model"]), parallel=job.get("parallel") or len(reqs), n_ctx=4096,
                                n_threads=job["threads"], n_gpu_layers=0, flash_attn=job["flash_attn"],
                                kv_unified=job["kv_unified"])
    be.load()
    phases = time_phases(be)
    try:
        t0 = time.perf_counter()
        if job.get("profile"):
            import cProfile

            prof = cProfile.Profile()
            done = prof.runcall(lambda: list(be.generate(reqs)))
            prof.dump_stats(job["profile"])
        else:
            done = list(be.generate(reqs))
        wall = time.perf_counter() - t0
        kv = be.info().extra["kv_size"]
        engine = (engine_loop(be, len(reqs), round(statistics.mean(r.prompt_tokens for r in done)),
                              max(r.completion_tokens for r in done)) if job.get("engine_loop") else None)
    finally:
        be.close()
    assert all(r.finish_reason == "length" for r in done), [(r.finish_reason, r.error) for r in done]
    st = be.stats
    # The shared prefix, evaluated once (at B=1 there is none: the whole prompt is one prompt step).
    pp_tokens, pp_s = ((st["prefix_tokens"], st["prefix_seconds"]) if st["prefix_seconds"]
                       else (st["evaluated_prompt_tokens"], st["prompt_step_seconds"]))
    return {"decode_tps": st["decode_step_tokens"] / st["decode_step_seconds"],
            "prompt_tps": pp_tokens / pp_s, "prompt_tokens": pp_tokens,
            "decode_seconds": st["decode_step_seconds"], "prompt_step_seconds": st["prompt_step_seconds"],
            "decode_call_seconds": phases["decode_call_seconds"], "sample_seconds": phases["sample_seconds"],
            "decode_steps": phases["decode_steps"],
            "engine_loop_tps": engine, "wall_seconds": wall, "kv_size": kv, "mean_prompt_tokens": statistics.mean(r.prompt_tokens for r in done),
            "sarcgen": str(Path(sarcgen.__file__).parent),
            "texts_sha": hashlib.sha256(json.dumps(sorted((r.key, r.text) for r in done)).encode()).hexdigest()}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.stdin.read()))))
