"""Near-duplicate detection at scale, on real IMDB text with planted near-duplicates.

Builds 100,000 reviews from ../shared/data/imdb: the 50,000 real reviews, 45,000 "spliced"
reviews (runs of sentences from three different real reviews: new texts that share phrasing with
their sources but are not duplicates), and 5,000 planted near-duplicates of earlier items (light
edits: typos, dropped/inserted/substituted words; reordered clauses; changed names; and mixes).

Prints:
- the time of `sarcgen.filter.dedupe.dedupe` on all 100,000 (goal: <= 60 s on 2 cores) and how
  many planted copies it caught;
- recall and precision of the LSH candidate pipeline against exhaustive all-pairs rapidfuzz
  (`process.cdist`, same scorer, same de-templated comparison strings) on a 5,000-review sample
  (goal: recall >= 0.99).

Run: flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_dedupe.py [--n 100000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NAMES = ["John", "Mary", "Steven", "Meryl", "Tom", "Julia", "Keanu", "Sandra", "Robert", "Nicole", "Denzel", "Emma"]


def find_imdb() -> Path:
    env = os.environ.get("SARCGEN_IMDB_DIR")
    if env:
        return Path(env)
    for parent in [REPO, *REPO.parents]:
        cand = parent / "shared" / "data" / "imdb"
        if cand.is_dir():
            return cand
    sys.exit("IMDB data not found: set SARCGEN_IMDB_DIR or provide ../shared/data/imdb")


def load_imdb(d: Path) -> list[str]:
    csv.field_size_limit(2**31 - 1)
    texts = []
    for split in ("train", "test"):
        with gzip.open(d / f"{split}.csv.gz", "rt", encoding="utf-8", newline="") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    return texts


_SENT = re.compile(r"(?<=[.!?])\s+")


def light_edit(text: str, rng: random.Random) -> str:
    words = text.split()
    n_edits = max(1, int(len(words) * rng.uniform(0.01, 0.04)))
    for _ in range(n_edits):
        op = rng.random()
        k = rng.randrange(len(words))
        if op < 0.3 and len(words) > 5:
            del words[k]
        elif op < 0.55:
            words.insert(k, rng.choice(["really", "very", "just", "quite", "so", "truly"]))
        elif op < 0.8:
            w = words[k]
            if len(w) > 3:
                i = rng.randrange(len(w) - 1)
                words[k] = w[:i] + w[i + 1] + w[i] + w[i + 2 :]  # transposition typo
        else:
            words[k] = rng.choice(["film", "movie", "picture", "flick"])
    return " ".join(words)


def reorder(text: str, rng: random.Random) -> str:
    sents = _SENT.split(text)
    if len(sents) >= 2:
        i = rng.randrange(len(sents) - 1)
        sents[i], sents[i + 1] = sents[i + 1], sents[i]
        return " ".join(sents)
    parts = text.split(", ")
    if len(parts) >= 2:
        parts[0], parts[1] = parts[1], parts[0]
    return ", ".join(parts)


def rename(text: str, rng: random.Random) -> str:
    words = text.split()
    caps = [i for i in range(1, len(words)) if words[i][:1].isupper() and words[i].isalpha() and not words[i - 1].endswith((".", "!", "?"))]
    for i in rng.sample(caps, min(len(caps), 3)):
        words[i] = rng.choice(NAMES)
    return " ".join(words)


def plant(text: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["light", "reorder", "rename", "mixed"])
    if kind == "light":
        return light_edit(text, rng), kind
    if kind == "reorder":
        return reorder(text, rng), kind
    if kind == "rename":
        return rename(text, rng), kind
    return rename(reorder(light_edit(text, rng), rng), rng), kind


def build(n: int, seed: int = 0) -> tuple[list[str], dict[int, int]]:
    """n texts and {planted copy index: source index}."""
    rng = random.Random(seed)
    real = load_imdb(find_imdb())
    n_real = min(len(real), n // 2)
    n_planted = n // 20
    texts = real[:n_real]
    sents = [_SENT.split(t) for t in texts]
    while len(texts) < n - n_planted:
        pieces = []
        for src in rng.sample(range(n_real), 3):
            s = sents[src]
            k = rng.randrange(len(s))
            pieces += s[k : k + rng.randint(1, 4)]
        texts.append(" ".join(pieces))
    planted: dict[int, int] = {}
    for _ in range(n_planted):
        src = rng.randrange(len(texts))
        planted[len(texts)] = src
        texts.append(plant(texts[src], rng)[0])
    # shuffle, keeping track of planted copies
    order = list(range(len(texts)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    return [texts[i] for i in order], {where[c]: where[s] for c, s in planted.items()}


def planted_precision(found: list[tuple[int, int, float]], planted: dict[int, int], texts: list[str]) -> None:
    """Precision against what is known to be a duplicate: a pair found is right when it is a planted
    (copy, source) pair or two identical texts (IMDB itself repeats about 100 reviews per split); a
    pair of spliced reviews, or of two different real reviews, counts as a false positive. (Against
    the exhaustive scorer precision is 1.0 by construction: every candidate is verified with it.)"""
    known = {tuple(sorted(p)) for p in planted.items()}
    right = sum(1 for i, j, _ in found if (min(i, j), max(i, j)) in known or texts[i] == texts[j])
    wrong = [(i, j) for i, j, _ in found if (min(i, j), max(i, j)) not in known and texts[i] != texts[j]]
    print(f"\nprecision against planted pairs and identical texts, all {len(texts):,} reviews: "
          f"{right}/{len(found)} = {right / max(1, len(found)):.4f}")
    for i, j in wrong[:5]:
        print(f"  not planted: {texts[i][:70]!r} | {texts[j][:70]!r}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=5_000)
    ap.add_argument("--threshold", type=float, default=90.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bands", type=int, default=None)
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--skip-full", action="store_true")
    args = ap.parse_args()

    import numpy as np
    from rapidfuzz import fuzz, process

    from sarcgen.filter.dedupe import LshParams, dedupe, near_duplicate_pairs

    kw = {"threads": args.threads}
    if args.bands:
        kw["bands"] = args.bands
    if args.rows:
        kw["rows"] = args.rows
    params = LshParams(**kw)
    t = time.perf_counter()
    texts, planted = build(args.n)
    print(f"built {len(texts):,} texts ({len(planted):,} planted near-duplicates) in {time.perf_counter() - t:.1f} s")
    print(f"LSH: {params.bands} bands x {params.rows} rows, threshold {args.threshold}")

    if not args.skip_full:
        t = time.perf_counter()
        res = dedupe(texts, args.threshold, params=params)
        secs = time.perf_counter() - t
        caught = sum(1 for c, s in planted.items() if c in res.dropped or s in res.dropped)
        print(f"\nfull run: {len(texts):,} reviews in {secs:.1f} s (goal <= 60 s)")
        print(f"  stats: {res.stats}")
        print(f"  planted pairs where one side was dropped: {caught}/{len(planted)} ({caught / len(planted):.3f})")

    # recall / precision against exhaustive all-pairs on a sample holding planted pairs
    rng = random.Random(1)
    pairs = list(planted.items())
    rng.shuffle(pairs)
    chosen: set[int] = set()
    for c, s in pairs[: args.sample // 10]:
        chosen.update((c, s))
    rest = [i for i in range(len(texts)) if i not in chosen]
    chosen.update(rng.sample(rest, args.sample - len(chosen)))
    idx = sorted(chosen)

    def exhaustive(cmp: list[str]) -> tuple[set[tuple[int, int]], float]:
        t = time.perf_counter()
        m = process.cdist(cmp, cmp, scorer=fuzz.ratio, score_cutoff=args.threshold, dtype=np.uint8, workers=args.threads)
        iu, ju = np.nonzero(np.triu(m >= max(1, int(np.floor(args.threshold))), 1))
        # cdist rounds scores to uint8; re-score the candidates exactly
        truth = {(int(i), int(j)) for i, j in zip(iu, ju) if fuzz.ratio(cmp[i], cmp[j]) >= args.threshold}
        return truth, time.perf_counter() - t

    def show(title: str, truth: set[tuple[int, int]], got: set[tuple[int, int]], cmp: list[str], sample: list[str]) -> None:
        tp = len(truth & got)
        recall = tp / len(truth) if truth else 1.0
        precision = tp / len(got) if got else 1.0
        print(f"\n{title}: exhaustive pairs >= {args.threshold}: {len(truth)}; LSH pipeline found {len(got)}")
        print(f"  recall {recall:.4f} (goal >= 0.99), precision {precision:.4f}")
        for i, j in sorted(truth - got)[:5]:
            print(f"  missed: {fuzz.ratio(cmp[i], cmp[j]):.1f} | {sample[i][:70]!r} | {sample[j][:70]!r}")

    sample = [texts[i] for i in idx]
    # (a) the pipeline at full scale: pairs found among all 100,000, restricted to the sample,
    #     against exhaustive scoring of the sample's comparison strings (same de-templating)
    if not args.skip_full:
        t = time.perf_counter()
        full_pairs, full_prep = near_duplicate_pairs(texts, args.threshold, params=params)
        t_full = time.perf_counter() - t
        pos = {g: k for k, g in enumerate(idx)}
        got = {(pos[i], pos[j]) for i, j, _ in full_pairs if i in pos and j in pos}
        cmp = [full_prep.cmp(i) for i in idx]
        truth, t_all = exhaustive(cmp)
        show(f"full-scale run ({len(texts):,} reviews, {t_full:.1f} s) on a {len(idx):,}-review sample", truth, got, cmp, sample)
        print(f"  exhaustive cdist ({len(idx) ** 2:,} pairs): {t_all:.1f} s")
        planted_precision(full_pairs, planted, texts)
    # (b) the pipeline run on the sample alone
    t = time.perf_counter()
    found, prep = near_duplicate_pairs(sample, args.threshold, params=params)
    t_lsh = time.perf_counter() - t
    cmp = [prep.cmp(i) for i in range(len(sample))]
    truth, t_all = exhaustive(cmp)
    show(f"sample-only run ({len(sample):,} reviews, {t_lsh:.1f} s)", truth, {(i, j) for i, j, _ in found}, cmp, sample)
    print(f"  exhaustive cdist ({len(sample) ** 2:,} pairs): {t_all:.1f} s")


if __name__ == "__main__":
    main()
