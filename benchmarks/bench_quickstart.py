"""Wall and CPU seconds per stage of the offline quickstart (recipes/quickstart.yaml).

Runs generate -> filter -> publish -> finetune-compare through the library functions `sarcgen run`
chains, one stage at a time, and prints for each: wall seconds, process CPU seconds (all threads)
and the stage's own figures (tokens/s, reviews kept, examples/s). On a machine shared with other
work, wall time says little; CPU seconds with `--threads 1` (no llama.cpp or OpenMP spin-waiting)
are the work itself, and their sum bounds the quickstart's wall time on 2 free cores from above
(2 threads divide most of it by 1.5-2).

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_quickstart.py --threads 1 --out /tmp/qs
    ... --n 24 --json out.json    (fewer reviews; generate and judge costs scale with n)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(name: str, fn: Callable[[], Any], rows: list[dict[str, Any]]) -> Any:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    row = {"stage": name, "wall_s": round(time.perf_counter() - w0, 1), "cpu_s": round(time.process_time() - c0, 1)}
    rows.append(row)
    print(f"[{name}] wall {row['wall_s']} s, cpu {row['cpu_s']} s", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "quickstart.yaml")
    ap.add_argument("--out", type=Path, required=True, help="run folder (must not exist, or holds a run to resume)")
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp and torch threads (default: the recipe's / all cores)")
    ap.add_argument("--n", type=int, default=None, help="reviews to generate (default: the recipe's)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from sarcgen.filter.run import run_filter
    from sarcgen.finetune.compare import run_compare
    from sarcgen.generate.run import generate_run
    from sarcgen.publish.run import publish_run
    from sarcgen.recipe import load_recipe

    recipe = load_recipe(args.recipe, {"generate.n": args.n, "generate.n_threads": args.threads})
    run, rows = args.out, []
    gen = timed("generate", lambda: generate_run(recipe, out_dir=run, progress=False), rows)
    rows[-1].update(accepted=gen.accepted, rejected=sum(gen.rejected.values()), completion_tokens=gen.completion_tokens,
                    tokens_per_s=round(gen.tokens_per_s, 2))
    rep = timed("filter", lambda: run_filter([run], recipe, run, recipe_source=str(args.recipe), progress=False), rows)
    rows[-1].update(kept=rep.kept, rejected=rep.rejected, reasons=rep.counts, classes=rep.classes,
                    calibration=(rep.judge or {}).get("calibration"))
    pub = timed("publish", lambda: publish_run(run, run / "dataset", recipe.publish), rows)
    rows[-1].update(split_sizes=pub.split_sizes)
    res = timed("finetune", lambda: run_compare(recipe.finetune, str(run / "dataset"), run / "finetune",
                                               num_threads=args.threads, progress=False), rows)
    rows[-1].update(report=str(run / "finetune" / "report.md"), headline=res.model_dump(mode="json")["aggregate"])
    total = {"stage": "total", "wall_s": round(sum(r["wall_s"] for r in rows), 1),
             "cpu_s": round(sum(r["cpu_s"] for r in rows), 1)}
    print(f"\n{'stage':<10} {'wall s':>8} {'cpu s':>8}")
    for r in [*rows, total]:
        print(f"{r['stage']:<10} {r['wall_s']:>8} {r['cpu_s']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "stages": rows, "total": total}, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
