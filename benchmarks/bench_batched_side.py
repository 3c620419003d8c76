"""One sarcgen side of bench_batched_peer.py, in its own process (as the peer runs in its own).

Reads a JSON job on stdin (model, requests, threads, flash_attn, kv_unified, profile path), runs
`BatchedLlamaCppBackend(parallel=len(requests))` once and prints its figures as one JSON line.
It imports sarcgen from wherever PYTHONPATH points, so bench_batched_peer.py --baseline-tree can
run an older checkout of the backend on the very same requests.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path


def run(job: dict) -> dict:
    import sarcgen
    from sarcgen.backends.base import GenerationRequest
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend
    from sarcgen.recipe import ModelSpec

    reqs = [GenerationRequest(**{**r, "stop": tuple(r["stop"])}) for r in job["requests"]]
    be = BatchedLlamaCppBackend(ModelSpec(path=job["model"]), parallel=len(reqs), n_ctx=4096,
                                n_threads=job["threads"], n_gpu_layers=0, flash_attn=job["flash_attn"],
                                kv_unified=job["kv_unified"])
    be.load()
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
            "wall_seconds": wall, "kv_size": kv, "mean_prompt_tokens": statistics.mean(r.prompt_tokens for r in done),
            "sarcgen": str(Path(sarcgen.__file__).parent),
            "texts_sha": __import__("hashlib").sha256(json.dumps(sorted((r.key, r.text) for r in done)).encode()).hexdigest()}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.stdin.read()))))
