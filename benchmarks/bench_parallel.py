"""Aggregate tokens/s of `--parallel N` (continuous batching) against sequential generation.

On the random-weight Qwen3-0.6B-shaped Q4_K_M model (built once with sarcgen.devtools and cached
under .bench/), the same requests (the generation plan's prompts, rendered as `sarcgen generate`
renders them) and the same token budget go through:

- the sequential backend (`LlamaCppBackend`, one sequence at a time, prefix-cache reuse), and
- `BatchedLlamaCppBackend` with parallel = 1, 2, 4, 8, 16,

and the table prints completion tokens/s (wall clock, model load excluded) with the ratio to
sequential. Random weights never emit end-of-turn, so every request uses its full max_tokens.

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_parallel.py
    ... --parallel 1,4,16 --requests 16 --max-tokens 48 --threads 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sarcgen.backends.base import GenerationRequest
from sarcgen.recipe import ModelSpec, load_recipe

BENCH_DIR = ROOT / ".bench"


def bench_model() -> Path:
    """The cached Qwen3-0.6B-shaped Q4_K_M GGUF (the same file bench_generate.py caches)."""
    from sarcgen.devtools.tiny_gguf import BENCH_MODEL_NAME, quantize_gguf, write_tiny_qwen3_gguf

    BENCH_DIR.mkdir(exist_ok=True)
    dst = BENCH_DIR / BENCH_MODEL_NAME
    if dst.exists() and dst.stat().st_size > 300_000_000:
        return dst
    f16 = BENCH_DIR / "qwen3-0.6b-random-F16.gguf"
    print(f"building {dst} (once; about a minute)", file=sys.stderr)
    write_tiny_qwen3_gguf(f16, shape="qwen3-0.6b", seed=0)
    quantize_gguf(f16, dst, "Q4_K_M", n_threads=os.cpu_count())
    f16.unlink()
    return dst


def plan_requests(n: int, max_tokens: int, seed: int) -> tuple[list[GenerationRequest], str]:
    """The first `n` requests of the default recipe's plan, as `sarcgen generate` would send them."""
    recipe = load_recipe(None, {"generate.seed": seed, "generate.sampling.max_tokens": max_tokens})
    from sarcgen.generate.plan import Plan
    from sarcgen.prompts import load_template, review_messages

    g = recipe.generate
    template = load_template(g.template)
    s = g.sampling
    reqs = [
        GenerationRequest(
            key=item.id, messages=review_messages(template, item, g.attributes), seed=item.seed,
            max_tokens=max_tokens, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k, min_p=s.min_p,
            repeat_penalty=s.repeat_penalty,
        )
        for item in Plan(g).items(n)
    ]
    return reqs, f"the default recipe's plan ({template.name}), as sarcgen generate renders it"


def run_one(backend, reqs: list[GenerationRequest]) -> dict[str, float]:
    backend.load()
    t0 = time.perf_counter()
    done = list(backend.generate(reqs))
    wall = time.perf_counter() - t0
    backend.close()
    completion = sum(r.completion_tokens for r in done)
    assert len(done) == len(reqs) and all(r.finish_reason != "error" for r in done), [r.error for r in done]
    return {"seconds": wall, "completion_tokens": completion, "tokens_per_s": completion / wall,
            "prompt_tokens": sum(r.prompt_tokens for r in done)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="GGUF to use (default: the cached random 0.6B Q4_K_M)")
    ap.add_argument("--parallel", default="1,2,4,8,16")
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-gpu-layers", type=int, default=-1)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternating rounds (the order of the modes rotates each round); prints each mode's per-round "
                         "ratio to the same round's sequential run and the median")
    args = ap.parse_args(argv)
    if args.rounds > 1:
        return alternating(args)

    from sarcgen.backends.llamacpp import LlamaCppBackend
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend

    model = args.model or bench_model()
    spec = ModelSpec(path=str(model))
    reqs, source = plan_requests(args.requests, args.max_tokens, args.seed)
    print(f"model {model.name} ({model.stat().st_size / 1e6:.0f} MB), {len(reqs)} requests from {source}, "
          f"{args.max_tokens} tokens each, {args.threads} threads", file=sys.stderr)

    rows = []
    # The prompt work (the static prefix once, then each request's variable tail) is the same in
    # every mode; a pass with max_tokens=1 measures it so the decode phase can be shown apart.
    one = [GenerationRequest(**{**r.__dict__, "max_tokens": 1}) for r in reqs]
    prompt_s = run_one(LlamaCppBackend(spec, n_ctx=4096, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers), one)["seconds"]
    print(f"  prompt evaluation alone (sequential, max_tokens=1): {prompt_s:.1f}s", file=sys.stderr)
    seq = run_one(LlamaCppBackend(spec, n_ctx=4096, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers), reqs)
    rows.append({"mode": "sequential", **seq})
    print(f"  sequential: {seq['tokens_per_s']:.1f} tok/s", file=sys.stderr)
    for n in [int(x) for x in args.parallel.split(",") if x]:
        be = BatchedLlamaCppBackend(spec, parallel=n, n_ctx=4096, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers)
        res = run_one(be, reqs)
        rows.append({"mode": f"parallel={n}", **res})
        print(f"  parallel={n}: {res['tokens_per_s']:.1f} tok/s", file=sys.stderr)

    base = rows[0]["tokens_per_s"]
    seq_decode = rows[0]["completion_tokens"] / max(rows[0]["seconds"] - prompt_s, 1e-9)
    print(f"\n{'mode':<14}{'seconds':>9}{'tokens':>8}{'tok/s':>9}{'vs seq':>8}{'decode tok/s*':>15}{'vs seq':>8}")
    for r in rows:
        r["ratio"] = r["tokens_per_s"] / base
        r["decode_tokens_per_s"] = r["completion_tokens"] / max(r["seconds"] - prompt_s, 1e-9)
        r["decode_ratio"] = r["decode_tokens_per_s"] / seq_decode
        print(f"{r['mode']:<14}{r['seconds']:>9.1f}{r['completion_tokens']:>8d}{r['tokens_per_s']:>9.1f}{r['ratio']:>7.2f}x"
              f"{r['decode_tokens_per_s']:>15.1f}{r['decode_ratio']:>7.2f}x")
    print(f"* decode phase: completion tokens / (seconds - {prompt_s:.1f}s of prompt evaluation, measured alone)")
    best = max(rows[1:], key=lambda r: r["tokens_per_s"]) if len(rows) > 1 else rows[0]
    print(f"\nbest: {best['mode']} at {best['ratio']:.2f}x sequential (goal >= 2x on 2 cores)")
    out = {"model": str(model), "requests": len(reqs), "source": source, "max_tokens": args.max_tokens,
           "prompt_seconds": prompt_s,
           "threads": args.threads, "rows": rows, "best": best["mode"], "best_ratio": best["ratio"]}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


def alternating(args: argparse.Namespace) -> dict:
    """Sequential and each --parallel mode once per round, in an order that rotates every round, so a
    machine's drift falls on every mode alike; the ratio is taken within a round, the median across."""
    import statistics

    from sarcgen.backends.llamacpp import LlamaCppBackend
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend

    model = args.model or bench_model()
    spec = ModelSpec(path=str(model))
    reqs, source = plan_requests(args.requests, args.max_tokens, args.seed)
    modes = ["sequential", *(f"parallel={int(x)}" for x in args.parallel.split(",") if x)]

    def backend(mode: str):
        if mode == "sequential":
            return LlamaCppBackend(spec, n_ctx=4096, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers)
        return BatchedLlamaCppBackend(spec, parallel=int(mode.split("=")[1]), n_ctx=4096, n_threads=args.threads,
                                      n_gpu_layers=args.n_gpu_layers)

    rounds: list[dict[str, float]] = []
    for k in range(args.rounds):
        order = modes[k % len(modes):] + modes[:k % len(modes)]
        tps = {m: run_one(backend(m), reqs)["tokens_per_s"] for m in order}
        rounds.append(tps)
        print(f"  round {k + 1} ({' -> '.join(order)}): " + ", ".join(f"{m} {tps[m]:.1f}" for m in modes), file=sys.stderr)
    print(f"\n{'mode':<14}{'ratio to sequential per round':<40}{'median':>8}")
    out_rows = []
    for m in modes[1:]:
        ratios = [r[m] / r["sequential"] for r in rounds]
        med = statistics.median(ratios)
        out_rows.append({"mode": m, "ratios": ratios, "median": med})
        print(f"{m:<14}{' '.join(f'{x:.2f}' for x in ratios):<40}{med:>7.2f}x")
    out = {"model": str(model), "requests": len(reqs), "source": source, "max_tokens": args.max_tokens,
           "threads": args.threads, "rounds": rounds, "ratios": out_rows, "command": " ".join(sys.argv)}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
