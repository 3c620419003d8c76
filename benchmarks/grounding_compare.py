"""Free vs rewrite vs rewrite + loop, on the same number of kept rows (issue 23's measurement).

Each arm is a filtered.jsonl (records the gates kept) of one writer; the first N kept records of
each (by plan position, a sarcastic review and its twin together; N = the smallest arm's count, or
`--rows`) go through `sarcgen finetune-compare --freeze-encoder` (mean-pooled all-MiniLM-L6-v2,
IMDB 1,000/300/500 from the clean pool (as in benchmarks/results/compare-qwen-seed2027), max
length 128, `--seeds` seeds, all N rows added to B's training data once, none held out as a
synthetic test split), so the arms differ only in their rows (and in the rewrite sources that
finetune-compare takes out of the IMDB pool, which changes A's sample a little). Per arm it also
prints the kept rows per class and the yield per generated token (kept rows / completion tokens of
the run's manifest).

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/grounding_compare.py \\
        --arm free=/work/study/audit-work/qwen-seed2027 --arm rewrite=/work/study/rewrite-seed2027 \\
        --arm loop=/work/study/loop-qwen --out benchmarks/results/grounding

A loop folder's rounds (round-01, round-02, ...) are read together.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def arm_rows(folder: Path) -> tuple[list[dict], int, int]:
    """(kept records, generated records, completion tokens) of a run folder or a loop folder."""
    from sarcgen.jsonl import read_jsonl

    runs = sorted(p for p in folder.glob("round-*") if (p / "filtered.jsonl").is_file()) or [folder]
    kept, generated, tokens = [], 0, 0
    for run in runs:
        rows = read_jsonl(run / "filtered.jsonl")
        for r in rows:
            r["id"] = f"{run.name}:{r['id']}" if run != folder else r["id"]
            r["pair_id"] = f"{run.name}:{r['pair_id']}" if r.get("pair_id") and run != folder else r.get("pair_id")
        kept += sorted(rows, key=lambda r: (r["id"].split(":")[0], r["plan_index"]))
        m = json.loads((run / "manifest.json").read_text())
        generated += int(m.get("accepted", 0))
        tokens += int((m.get("tokens") or {}).get("completion") or 0)
    return kept, generated, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arm", action="append", required=True, metavar="NAME=FOLDER")
    ap.add_argument("--rows", type=int, default=None, help="rows per arm (default: the smallest arm's kept count)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-validation", type=int, default=300)
    ap.add_argument("--imdb", default=str(REPO.parent / "shared/data/imdb"))
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/grounding"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arms = {a.split("=", 1)[0]: arm_rows(Path(a.split("=", 1)[1])) for a in args.arm}
    n = args.rows or min(len(k) for k, _, _ in arms.values())
    summary = {}
    for name, (kept, generated, tokens) in arms.items():
        subset = [{**r, "split": "train"} for r in kept[:n]]  # all N rows train B: no synthetic test split
        path = out / f"{name}-{n}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in subset))
        classes = {"sarcastic_kept": sum(r["label"] == 0 for r in kept), "sincere_kept": sum(r["label"] == 1 for r in kept)}
        summary[name] = {"generated": generated, "kept": len(kept), **classes, "completion_tokens": tokens,
                         "kept_per_1k_tokens": round(1000 * len(kept) / tokens, 2) if tokens else None,
                         "rows_compared": len(subset), "sarcastic_compared": sum(r["label"] == 0 for r in subset)}
        cmp_dir = out / name
        if not (cmp_dir / "results.json").is_file():
            cmd = [str(REPO / ".venv/bin/sarcgen"), "finetune-compare", "--synthetic", str(path), "--base-data", args.imdb,
                   "--base-model", "sentence-transformers/all-MiniLM-L6-v2", "--freeze-encoder", "--max-length", "128",
                   "--seeds", str(args.seeds), "--synthetic-ratio", "1", "--n-train", str(args.n_train), "--n-validation",
                   str(args.n_validation), "--n-test", "500", "--out", str(cmp_dir), "-q"]
            print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        res = json.loads((cmp_dir / "results.json").read_text())
        chosen = res["mixes"][res["chosen_mix"]]
        keys = ("n", "a", "b", "diff", "diff_low", "diff_high", "verdict")
        summary[name]["diff"] = {k: {d: v.get(d) for d in keys} for part in ("sets", "groups") for k, v in chosen[part].items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "diff"} for k, v in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
