"""sarcgen's batched backend against llama.cpp's own `llama-batched-bench`, side by side.

Both sides run the same random-weight Qwen3-0.6B-shaped Q4_K_M model (cached under .bench/ by
bench_parallel.bench_model), the same threads, the same context (sarcgen's KV size is passed to the
peer as -c), the same batch sizes (n_batch = n_ubatch = 512), flash attention and KV layout (one
stream per sequence unless --kv-unified), the same prompt length (the mean of sarcgen's prompts,
~660 tokens) shared by every sequence, and the same number of new tokens. For each batch size B:

- sarcgen: `BatchedLlamaCppBackend(parallel=B)` on B requests of the default recipe's plan; decode
  tok/s = tokens fed in pure decode steps / their time (batch building, llama_decode, sampling with
  the full sampler chain, detokenisation, stop checks); prompt = the shared-prefix evaluation;
- peer: `llama-batched-bench -npp PP -ntg TG -npl B -pps` (shared prompt, random tokens, no
  sampling); its S_TG and S_PP columns.

Rounds alternate (sarcgen first in even rounds, the peer first in odd ones, each B back to back)
because the shared machine is noisy; the ratio is taken per round and reported min/median/max.

The peer is built once from the installed llama-cpp-python's sdist (the llama.cpp it vendors,
only the llama-batched-bench target, ~10 min on 2 cores) under .bench/peer/, and by default runs
on the installed llama-cpp-python's own libllama/libggml (LD_LIBRARY_PATH), so both sides run the
very same engine build; --peer-libs built uses the libraries built beside it instead.

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_batched_peer.py
    ... --batch 8,16 --rounds 3 --tokens 96 --threads 2 --json .bench/bench_batched_peer.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_parallel import BENCH_DIR, bench_model, plan_requests

from sarcgen.backends.base import GenerationRequest

PEER_DIR = BENCH_DIR / "peer"
FA_NAMES = {0: "off", 1: "on", -1: "auto"}


# -- the peer ---------------------------------------------------------------------------------


def llama_cpp_lib_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def peer_binary(jobs: int) -> Path:
    """llama-batched-bench built from the installed llama-cpp-python's sdist (cached)."""
    import llama_cpp

    version = llama_cpp.__version__
    build = PEER_DIR / f"build-{version}"
    exe = build / "bin" / "llama-batched-bench"
    if exe.exists():
        return exe
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    src = PEER_DIR / f"llama_cpp_python-{version}"
    if not src.exists():
        sdist = PEER_DIR / f"llama_cpp_python-{version}.tar.gz"
        if not sdist.exists():
            print(f"downloading the llama-cpp-python {version} sdist", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            f"llama-cpp-python=={version}", "-d", str(PEER_DIR)], check=True)
        with tarfile.open(sdist) as tar:
            tar.extractall(PEER_DIR, filter="data")
    print(f"building {exe} (once; ~10 min on 2 cores)", file=sys.stderr)
    # The defaults the wheel was built with (Release, GGML_NATIVE), shared libraries, only the tools.
    flags = ["-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON", "-DLLAMA_BUILD_TOOLS=ON",
             "-DLLAMA_BUILD_COMMON=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
             "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_OPENSSL=OFF"]
    nice = ["nice", "-n", "10"]
    subprocess.run([*nice, "cmake", "-S", str(src / "vendor" / "llama.cpp"), "-B", str(build), *flags], check=True)
    subprocess.run([*nice, "cmake", "--build", str(build), f"-j{jobs}", "--target", "llama-batched-bench"], check=True)
    return exe


def run_peer(exe: Path, model: Path, *, batch: int, pp: int, tg: int, ctx: int, threads: int,
             flash_attn: int, kv_unified: bool, libs: str) -> dict[str, float]:
    cmd = [str(exe), "-m", str(model), "-c", str(ctx), "-b", "512", "-ub", "512", "-npp", str(pp),
           "-ntg", str(tg), "-npl", str(batch), "-pps", "-t", str(threads), "-fa", FA_NAMES[flash_attn],
           "--output-format", "jsonl"]
    if kv_unified:
        cmd.append("-kvu")
    env = dict(os.environ)
    if libs == "installed":
        env["LD_LIBRARY_PATH"] = str(llama_cpp_lib_dir())
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    rows = [json.loads(x) for x in proc.stdout.splitlines() + proc.stderr.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not rows:
        raise SystemExit(f"peer failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    r = rows[-1]
    return {"decode_tps": r["speed_tg"], "prompt_tps": r["speed_pp"], "prompt_tokens": pp,
            "decode_seconds": r["t_tg"], "tg": tg, "n_kv_max": r["n_kv_max"]}


# -- sarcgen ----------------------------------------------------------------------------------


def side_job(model: Path, reqs: list[GenerationRequest], *, threads: int, flash_attn: int, kv_unified: bool,
             profile: Path | None = None, engine_loop: bool = False) -> dict[str, Any]:
    """The JSON job bench_batched_side.py reads on stdin."""
    return {"model": str(model), "requests": [dataclasses.asdict(r) for r in reqs], "threads": threads,
            "flash_attn": flash_attn, "kv_unified": kv_unified, "profile": str(profile) if profile else None,
            "engine_loop": engine_loop}


def run_sarcgen(tree: Path, model: Path, reqs: list[GenerationRequest], *, threads: int, flash_attn: int,
                kv_unified: bool, profile: Path | None = None, engine_loop: bool = False) -> dict[str, float]:
    """One sarcgen side in its own process (bench_batched_side.py), importing sarcgen from `tree`."""
    job = side_job(model, reqs, threads=threads, flash_attn=flash_attn, kv_unified=kv_unified, profile=profile,
                   engine_loop=engine_loop)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_batched_side.py")], input=json.dumps(job),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"sarcgen side ({tree}) failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- rounds and table -------------------------------------------------------------------------


def summarise(rows: list[dict[str, Any]], batches: list[int], sides: list[str]) -> list[dict[str, Any]]:
    """Per batch size and sarcgen side: medians of both sides' tok/s, and the per-round ratio's spread."""
    out = []
    for b in batches:
        for side in sides:
            mine = [r for r in rows if r["batch"] == b and side in r]
            if not mine:
                continue
            ratios = [r[side]["decode_tps"] / r["peer"]["decode_tps"] for r in mine]

            def med(who: str, key: str, mine: list[dict[str, Any]] = mine) -> float:
                return statistics.median(r[who][key] for r in mine)

            out.append({"batch": b, "side": side, "rounds": len(mine), "sarcgen_tps": med(side, "decode_tps"),
                        "peer_tps": med("peer", "decode_tps"), "ratio_min": min(ratios),
                        "ratio_median": statistics.median(ratios), "ratio_max": max(ratios),
                        "sarcgen_pp_tps": med(side, "prompt_tps"), "peer_pp_tps": med("peer", "prompt_tps"),
                        "sarcgen_pp_tokens": mine[0][side]["prompt_tokens"],
                        "peer_pp_tokens": mine[0]["peer"]["prompt_tokens"]})
    return out


def print_table(summary: list[dict[str, Any]]) -> None:
    print(f"\n{'B':>3} {'side':>9} {'rounds':>6} {'sarcgen tok/s':>14} {'peer tok/s':>11} {'ratio min/med/max':>18}"
          f" {'prefix tok/s (n)':>17} {'peer S_PP (n)':>15}")
    for s in summary:
        print(f"{s['batch']:>3} {s['side']:>9} {s['rounds']:>6} {s['sarcgen_tps']:>14.2f} {s['peer_tps']:>11.2f}"
              f"   {s['ratio_min']:.2f}/{s['ratio_median']:.2f}/{s['ratio_max']:.2f}"
              f" {s['sarcgen_pp_tps']:>9.1f} ({s['sarcgen_pp_tokens']:>3}) {s['peer_pp_tps']:>8.1f} ({s['peer_pp_tokens']})")


def step_breakdown(rows: list[dict[str, Any]], batches: list[int], sides: list[str]) -> list[dict[str, Any]]:
    """Where one pure decode step's time goes (median ms over rounds): llama_decode, sampling (the
    sampler chain, detokenisation, stop checks) and the rest of the loop; the peer's whole step."""
    out = []
    for b in batches:
        for side in sides:
            mine = [r for r in rows if r["batch"] == b and r.get(side, {}).get("decode_steps")]
            if not mine:
                continue

            def ms(key: str, mine: list[dict[str, Any]] = mine, side: str = side) -> float:
                return 1000 * statistics.median(r[side][key] / r[side]["decode_steps"] for r in mine)

            step, call, sample = ms("decode_seconds"), ms("decode_call_seconds"), ms("sample_seconds")
            peer_steps = [r["peer"]["decode_seconds"] / r["peer"]["tg"] for r in mine if "tg" in r["peer"]]
            peer = 1000 * statistics.median(peer_steps) if peer_steps else float("nan")
            loops = [b * 1000 / r[side]["engine_loop_tps"] for r in mine if r[side].get("engine_loop_tps")]
            out.append({"batch": b, "side": side, "rounds": len(mine), "step_ms": step, "llama_decode_ms": call,
                        "engine_loop_step_ms": statistics.median(loops) if loops else float("nan"),
                        "sample_ms": sample, "other_ms": step - call - sample, "outside_decode": 1 - call / step,
                        "peer_step_ms": peer})
    return out


def print_breakdown(breakdown: list[dict[str, Any]]) -> None:
    if not breakdown:
        return
    print(f"\n{'B':>3} {'side':>9} {'rounds':>6} {'step ms':>8} {'llama_decode':>12} {'sampling':>9} {'other':>6}"
          f" {'outside decode':>14} {'peer loop here':>14} {'peer step ms':>12}")
    for s in breakdown:
        print(f"{s['batch']:>3} {s['side']:>9} {s['rounds']:>6} {s['step_ms']:>8.1f} {s['llama_decode_ms']:>12.1f}"
              f" {s['sample_ms']:>9.2f} {s['other_ms']:>6.2f} {100 * s['outside_decode']:>13.1f}%"
              f" {s['engine_loop_step_ms']:>14.1f} {s['peer_step_ms']:>12.1f}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: the cached random 0.6B Q4_K_M)")
    ap.add_argument("--batch", default="1,4,8,16,32", help="batch sizes (sequences decoded at once)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=96, help="new tokens per sequence")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--flash-attn", choices=["off", "on", "auto"], default="off",
                    help="both sides (off: sarcgen's CPU default)")
    ap.add_argument("--kv-unified", action="store_true", help="one KV pool for all sequences, both sides")
    ap.add_argument("--peer-libs", choices=["installed", "built"], default="installed")
    ap.add_argument("--tree", type=Path, default=None,
                    help="the sarcgen checkout to measure (default: this one; a snapshot keeps edits out of a long run)")
    ap.add_argument("--baseline-tree", type=Path, default=None,
                    help="also run the backend of another sarcgen checkout (e.g. a git worktree of an older commit)")
    ap.add_argument("--resume", type=Path, default=None,
                    help="keep the rounds of an earlier run's --json and add --rounds more after them")
    ap.add_argument("--first-round", type=int, default=None, help="number of the first round (who goes first)")
    ap.add_argument("--engine-loop", action="store_true",
                    help="after each sarcgen side, run the peer's own loop (random tokens, no sampling) over ctypes "
                         "in that process and context: separates this process from the tokens llama.cpp works on")
    ap.add_argument("--build-jobs", type=int, default=2)
    ap.add_argument("--profile", type=Path, default=None, help="cProfile sarcgen's first round into DIR/<side>-B<n>.prof")
    ap.add_argument("--json", type=Path, default=BENCH_DIR / "bench_batched_peer.json")
    args = ap.parse_args(argv)

    exe = peer_binary(args.build_jobs)
    model = args.model or bench_model()
    fa = {v: k for k, v in FA_NAMES.items()}[args.flash_attn]
    batches = [int(x) for x in args.batch.split(",") if x]
    trees = {"sarcgen": (args.tree or ROOT).resolve(), **({"baseline": args.baseline_tree.resolve()} if args.baseline_tree else {})}
    print(f"model {model.name}, {args.threads} threads, {args.tokens} new tokens, flash-attn {args.flash_attn}, "
          f"kv {'unified' if args.kv_unified else 'one stream per sequence'}, peer {exe} on {args.peer_libs} libs, "
          f"sides {trees}", file=sys.stderr)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = json.loads(args.resume.read_text())["rows"] if args.resume else []
    first = args.first_round if args.first_round is not None else max((r["round"] for r in rows), default=-1) + 1
    for rnd in range(first, first + args.rounds):
        for b in batches:
            reqs, _ = plan_requests(b, args.tokens, args.seed)
            order = [*trees, "peer"]  # round 0: sarcgen first (the peer is given its KV size)
            order = order[rnd % len(order):] + order[:rnd % len(order)]  # then who goes first rotates
            if not any(r["batch"] == b for r in rows):
                order = [*trees, "peer"]
            res: dict[str, Any] = {}
            for side in order:
                if side == "peer":
                    ref = res.get("sarcgen") or next(r["sarcgen"] for r in rows if r["batch"] == b)
                    res["peer"] = run_peer(exe, model, batch=b, pp=round(ref["mean_prompt_tokens"]), tg=args.tokens,
                                           ctx=ref["kv_size"], threads=args.threads, flash_attn=fa,
                                           kv_unified=args.kv_unified, libs=args.peer_libs)
                else:
                    prof = args.profile / f"{side}-B{b}.prof" if args.profile and rnd == 0 else None
                    res[side] = run_sarcgen(trees[side], model, reqs, threads=args.threads, flash_attn=fa,
                                            kv_unified=args.kv_unified, profile=prof, engine_loop=args.engine_loop)
            rows.append({"round": rnd, "batch": b, "order": order, **res})
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"rows": rows}, indent=2))  # so far (--resume can go on from here)
            figures = ", ".join(f"{k} {res[k]['decode_tps']:.2f}" for k in [*trees, "peer"])
            print(f"  round {rnd} B={b} ({' > '.join(order)}): decode tok/s {figures}; "
                  f"ratio {res['sarcgen']['decode_tps'] / res['peer']['decode_tps']:.3f}", file=sys.stderr, flush=True)
    sides = [k for k in ("sarcgen", "baseline") if any(k in r for r in rows)]
    summary = summarise(rows, batches, sides)
    print_table(summary)
    breakdown = step_breakdown(rows, batches, sides)
    print_breakdown(breakdown)
    same = {b: len({r[s]["texts_sha"] for r in rows if r["batch"] == b for s in sides if s in r}) == 1 for b in batches}
    print(f"\nsame texts on every sarcgen side and round: {same}")
    out = {"model": str(model), "threads": args.threads, "tokens": args.tokens, "flash_attn": args.flash_attn,
           "kv_unified": args.kv_unified, "peer": str(exe), "peer_libs": args.peer_libs,
           "trees": {k: str(v) for k, v in trees.items()}, "rows": rows, "summary": summary, "step_breakdown": breakdown, "same_texts": same}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
