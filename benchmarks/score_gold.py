"""Label precision, kept share and yield of one run folder against a blind reading (gold.jsonl).

The run folder holds generated.jsonl, filtered.jsonl (what the gates kept), manifest.json and a
gold.jsonl of {id, sentiment, sarcastic, coherent} read blind from the texts alone (the format of
../shared/data/labelled). A record's label is right when the gold sentiment is negative for label 0
and positive for label 1; "good" adds coherent and, for label 0, really sarcastic.

    .venv/bin/python benchmarks/score_gold.py RUN [GOLD]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def score(run: Path, gold_path: Path) -> dict:
    gold = {g["id"]: g for g in map(json.loads, gold_path.read_text().splitlines())}
    gen = [json.loads(x) for x in (run / "generated.jsonl").read_text().splitlines()]
    kept_path = run / "filtered.jsonl"
    kept = [json.loads(x) for x in kept_path.read_text().splitlines()] if kept_path.is_file() else []

    def right(r: dict) -> bool:
        return gold[r["id"]]["sentiment"] == ("negative" if r["label"] == 0 else "positive")

    def good(r: dict) -> bool:
        g = gold[r["id"]]
        return right(r) and g["coherent"] and (g["sarcastic"] if r["label"] == 0 else True)

    def row(recs: list[dict]) -> dict:
        s = [r for r in recs if r["label"] == 0]
        t = [r for r in recs if r["label"] == 1]
        return {"n": len(recs), "label_right": sum(map(right, recs)), "sarcastic_n": len(s),
                "sarcastic_right": sum(map(right, s)), "sarcastic_good": sum(map(good, s)), "sincere_n": len(t),
                "sincere_right": sum(map(right, t)), "good": sum(map(good, recs)),
                "incoherent": sum(not gold[r["id"]]["coherent"] for r in recs)}

    tokens = json.loads((run / "manifest.json").read_text()).get("tokens") or {}
    out = {"generated": row(gen), "kept": row(kept), "tokens": tokens}
    if tokens.get("completion"):
        out["kept_per_1k_completion_tokens"] = round(1000 * len(kept) / tokens["completion"], 2)
        out["right_sarcastic_kept_per_1k_completion_tokens"] = round(1000 * out["kept"]["sarcastic_right"] / tokens["completion"], 2)
    return out


if __name__ == "__main__":
    run = Path(sys.argv[1])
    print(json.dumps(score(run, Path(sys.argv[2]) if len(sys.argv) > 2 else run / "gold.jsonl"), indent=1))
