"""Throughput of `sarcgen generate` against a minimal raw llama-cpp-python loop, side by side.

Builds (once, cached under .bench/) a random-weight GGUF with the exact Qwen3-0.6B shape, quantized
to Q4_K_M with llama.cpp's own quantizer, then on the same prompts, seeds, token budget and threads:

1. raw:      llama_cpp.Llama + create_chat_completion in a plain loop (what a user would write);
2. sarcgen:  `generate_run` (plan -> template -> chat template -> create_completion -> parse ->
             fsynced JSONL + manifest), sequential backend;
3. structured output: the same prompts with a JSON-schema grammar (what we chose *not* to do)
   against unconstrained decoding, and the cost of our plain-text parse path per reply;
4. prefix cache: one prompt evaluated cold, and the same static prefix with another item's tail.

Random weights never emit end-of-turn, so every reply runs to the token budget (the sarcgen run
keeps replies cut at max_tokens via the benchmark-only `accept_truncated`).

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_generate.py [--items 8 --tokens 64 --threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sarcgen.devtools.tiny_gguf import BENCH_MODEL_NAME, quantize_gguf, write_tiny_qwen3_gguf
from sarcgen.generate.reply import parse_reply
from sarcgen.generate.run import dry_run, generate_run
from sarcgen.recipe import load_recipe

REVIEW_SCHEMA = {"type": "object", "properties": {"review": {"type": "string"}}, "required": ["review"]}


def build_model(cache: Path, threads: int) -> Path:
    """The Qwen3-0.6B-shaped random Q4_K_M GGUF (built once: ~1 min, ~400 MB)."""
    q = cache / BENCH_MODEL_NAME
    if q.exists():
        return q
    cache.mkdir(parents=True, exist_ok=True)
    f16 = cache / "qwen3-0.6b-random-F16.gguf"
    t = time.perf_counter()
    write_tiny_qwen3_gguf(f16, shape="qwen3-0.6b", seed=0)
    t_write = time.perf_counter() - t
    quantize_gguf(f16, q, "Q4_K_M", n_threads=threads)
    print(f"built {q.name}: F16 written in {t_write:.0f}s ({f16.stat().st_size / 1e6:.0f} MB), "
          f"Q4_K_M in {time.perf_counter() - t - t_write:.0f}s ({q.stat().st_size / 1e6:.0f} MB)", flush=True)
    f16.unlink()
    return q


def load_llama(model: Path, threads: int, n_ctx: int):
    import llama_cpp

    return llama_cpp.Llama(model_path=str(model), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                           n_gpu_layers=0, verbose=False)


def sampling_kwargs(recipe) -> dict:
    s = recipe.generate.sampling
    return dict(temperature=s.temperature, top_p=s.top_p, top_k=s.top_k, min_p=s.min_p, repeat_penalty=s.repeat_penalty)


def run_raw(model: Path, prompts, recipe, tokens: int, threads: int) -> dict:
    """A minimal user loop: create_chat_completion per item, same seeds and budget."""
    llm = load_llama(model, threads, recipe.generate.llamacpp.n_ctx)
    kw = sampling_kwargs(recipe)
    t0 = time.perf_counter()
    completion, per_item = 0, []
    for item, messages in prompts:
        t = time.perf_counter()
        out = llm.create_chat_completion(messages=messages, max_tokens=tokens, seed=item.seed_for(0), **kw)
        per_item.append(time.perf_counter() - t)
        completion += out["usage"]["completion_tokens"]
    secs = time.perf_counter() - t0
    llm.close()
    return {"seconds": secs, "completion_tokens": completion, "tok_s": completion / secs, "per_item": per_item}


def run_sarcgen(model: Path, recipe, out: Path) -> dict:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    s = generate_run(recipe, out_dir=out, progress=False, accept_truncated=True)
    return {"seconds": s.seconds, "completion_tokens": s.completion_tokens, "tok_s": s.tokens_per_s,
            "accepted": s.accepted}


def run_structured(model: Path, prompts, recipe, tokens: int, threads: int) -> dict:
    """JSON-schema grammar vs unconstrained on the same prompts (same Llama, prefix cache warm)."""
    import llama_cpp

    llm = load_llama(model, threads, recipe.generate.llamacpp.n_ctx)
    kw = sampling_kwargs(recipe)
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(REVIEW_SCHEMA), verbose=False)
    llm.create_chat_completion(messages=prompts[0][1], max_tokens=1)  # warm the shared prefix
    res = {}
    for name, extra in (("plain", {}), ("json_grammar", {"grammar": grammar})):
        secs, comp, texts = 0.0, 0, []
        for item, messages in prompts:
            t = time.perf_counter()
            out = llm.create_chat_completion(messages=messages, max_tokens=tokens, seed=item.seed_for(0), **kw, **extra)
            secs += time.perf_counter() - t
            comp += out["usage"]["completion_tokens"]
            texts.append((out["choices"][0]["message"]["content"] or "", out["choices"][0]["finish_reason"]))
        res[name] = {"seconds": secs, "completion_tokens": comp, "tok_s": comp / secs, "texts": texts}
    # our parse path on plain text: microseconds per reply
    texts = res["plain"]["texts"]
    reps = 2000
    t = time.perf_counter()
    for _ in range(reps):
        for text, fin in texts:
            parse_reply(text, fin, accept_truncated=True)
    parse_us = (time.perf_counter() - t) / (reps * len(texts)) * 1e6
    per_reply_s = res["plain"]["seconds"] / len(texts)
    llm.close()
    return {
        "plain_tok_s": res["plain"]["tok_s"],
        "grammar_tok_s": res["json_grammar"]["tok_s"],
        "grammar_slowdown": res["plain"]["tok_s"] / res["json_grammar"]["tok_s"],
        "parse_us_per_reply": parse_us,
        "parse_cost_pct": parse_us / 1e6 / per_reply_s * 100,
    }


def run_prefix(model: Path, prompts, recipe, threads: int) -> dict:
    """Prompt evaluation cold vs with the static prefix already in the KV cache."""
    from sarcgen.backends.llamacpp import ChatTemplate

    llm = load_llama(model, threads, recipe.generate.llamacpp.n_ctx)
    chat = ChatTemplate(llm.metadata.get("tokenizer.chat_template"))
    a, b = (chat.render(m) for _, m in prompts[:2])
    ta, tb = llm.tokenize(a.encode(), add_bos=False, special=True), llm.tokenize(b.encode(), add_bos=False, special=True)
    shared = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
    llm.reset()
    t = time.perf_counter()
    llm.create_completion(a, max_tokens=1)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    llm.create_completion(b, max_tokens=1)  # prefix of a is cached: only b's tail is evaluated
    warm = time.perf_counter() - t
    llm.close()
    return {"prompt_tokens": len(tb), "shared_prefix_tokens": shared, "cold_s": cold, "warm_s": warm,
            "prompt_eval_tok_s": len(ta) / cold}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--repeats", type=int, default=2, help="alternating raw/sarcgen rounds (best of each)")
    ap.add_argument("--structured-items", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=ROOT / ".bench")
    ap.add_argument("--skip", nargs="*", default=[], choices=["structured", "prefix"])
    args = ap.parse_args()

    model = build_model(args.cache, args.threads)
    recipe = load_recipe(ROOT / "recipes" / "imdb-sarcasm.yaml", {
        "model": {"path": str(model)}, "output_dir": str(args.cache / "runs"), "generate.n": args.items,
        "generate.sampling.max_tokens": args.tokens, "generate.n_threads": args.threads, "generate.max_retries": 0,
        "generate.n_gpu_layers": 0,
    })
    prompts = dry_run(recipe, args.items)
    print(f"model {model.name} ({model.stat().st_size / 1e6:.0f} MB), {args.items} items x {args.tokens} tokens, "
          f"{args.threads} threads", flush=True)

    raw, ours = [], []
    for r in range(args.repeats):
        raw.append(run_raw(model, prompts, recipe, args.tokens, args.threads))
        print(f"  round {r + 1} raw llama-cpp-python: {raw[-1]['completion_tokens']} tokens in {raw[-1]['seconds']:.1f}s "
              f"= {raw[-1]['tok_s']:.2f} tok/s", flush=True)
        ours.append(run_sarcgen(model, recipe, args.cache / "runs" / "bench"))
        print(f"  round {r + 1} sarcgen generate:     {ours[-1]['completion_tokens']} tokens in {ours[-1]['seconds']:.1f}s "
              f"= {ours[-1]['tok_s']:.2f} tok/s ({ours[-1]['accepted']} records)", flush=True)
    best_raw, best_ours = max(x["tok_s"] for x in raw), max(x["tok_s"] for x in ours)
    result: dict = {
        "model": model.name, "items": args.items, "tokens": args.tokens, "threads": args.threads,
        "raw_tok_s": best_raw, "sarcgen_tok_s": best_ours, "ratio": best_ours / best_raw,
        "raw_rounds": [x["tok_s"] for x in raw], "sarcgen_rounds": [x["tok_s"] for x in ours],
    }
    print(f"sarcgen / raw tokens/s: {best_ours:.2f} / {best_raw:.2f} = {best_ours / best_raw:.3f}x (goal >= 0.9x); "
          f"median rounds {statistics.median(result['sarcgen_rounds']):.2f} / {statistics.median(result['raw_rounds']):.2f}",
          flush=True)
    if "structured" not in args.skip:
        st = run_structured(model, prompts[: args.structured_items], recipe, args.tokens, args.threads)
        result["structured"] = st
        print(f"structured output: JSON-schema grammar {st['grammar_tok_s']:.2f} tok/s vs plain {st['plain_tok_s']:.2f} "
              f"tok/s ({st['grammar_slowdown']:.1f}x slower); sarcgen's plain-text parse: {st['parse_us_per_reply']:.0f} us "
              f"per reply = {st['parse_cost_pct']:.4f}% of generation time (goal <= 10%)", flush=True)
    if "prefix" not in args.skip:
        px = run_prefix(model, prompts, recipe, args.threads)
        result["prefix_cache"] = px
        print(f"prefix cache: a {px['prompt_tokens']}-token prompt ({px['shared_prefix_tokens']} tokens shared with the "
              f"previous item) evaluates in {px['warm_s']:.2f}s warm vs {px['cold_s']:.2f}s cold "
              f"({px['prompt_eval_tok_s']:.0f} prompt tok/s)", flush=True)
    (args.cache / "bench_generate.json").write_text(json.dumps(result, indent=2))
    print(f"figures saved to {args.cache / 'bench_generate.json'}")


if __name__ == "__main__":
    main()
