"""Diversity statistics for the filter report: distinct-1/2, mean pairwise similarity (sampled),
device x aspect coverage, and a length histogram (PNG via matplotlib's Agg backend + a table)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.records import Review
from sarcgen.text import tokens

if TYPE_CHECKING:
    from sarcgen.filter.report import Diversity, LengthBin

LENGTH_BINS = (0, 10, 20, 35, 50, 80, 120, 160, 250, 10**9)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / total n-grams over all texts (higher = more varied wording)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for t in texts:
        toks = tokens(t)
        grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else 0.0


def mean_pairwise_similarity(texts: Sequence[str], *, pairs: int = 2000, seed: int = 0) -> float | None:
    """Mean rapidfuzz token_sort_ratio / 100 over sampled pairs (all pairs when there are few)."""
    from rapidfuzz import fuzz

    n = len(texts)
    if n < 2:
        return None
    rng = random.Random(seed)
    if n * (n - 1) // 2 <= pairs:
        idx = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        idx = []
        while len(idx) < pairs:
            i, j = rng.randrange(n), rng.randrange(n)
            if i != j:
                idx.append((i, j))
    return round(sum(fuzz.token_sort_ratio(texts[i], texts[j]) for i, j in idx) / (100 * len(idx)), 4)


def coverage(reviews: Sequence[Review]) -> dict[str, dict[str, int]]:
    """Counts per device (rows) x aspect (columns)."""
    table: dict[str, dict[str, int]] = {}
    for r in reviews:
        row = table.setdefault(r.device, {})
        row[r.aspect] = row.get(r.aspect, 0) + 1
    return {d: dict(sorted(row.items())) for d, row in sorted(table.items())}


def length_histogram(texts: Sequence[str]) -> list[LengthBin]:
    """Word-count buckets: [{"bin": "20-34", "count": n}, ...]."""
    counts: Counter[int] = Counter()
    for t in texts:
        w = len(t.split())
        for k in range(len(LENGTH_BINS) - 1):
            if LENGTH_BINS[k] <= w < LENGTH_BINS[k + 1]:
                counts[k] += 1
                break
    out: list[LengthBin] = []
    for k in range(len(LENGTH_BINS) - 1):
        lo, hi = LENGTH_BINS[k], LENGTH_BINS[k + 1]
        label = f"{lo}+" if hi >= 10**9 else f"{lo}-{hi - 1}"
        out.append({"bin": label, "count": counts.get(k, 0)})
    return out


def plot_lengths(before: Sequence[str], after: Sequence[str], path: Path) -> Path:
    """Histogram of word counts before and after filtering, as a PNG (deterministic bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    lb = [len(t.split()) for t in before]
    la = [len(t.split()) for t in after]
    top = max(lb + la + [10])
    bins = list(range(0, top + 10, max(1, top // 30)))
    ax.hist(lb, bins=bins, alpha=0.5, label=f"before ({len(lb)})", color="#999999")
    ax.hist(la, bins=bins, alpha=0.8, label=f"after ({len(la)})", color="#1f77b4")
    ax.set_xlabel("words per review")
    ax.set_ylabel("reviews")
    ax.set_title("Review length")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def diversity_stats(reviews: Sequence[Review]) -> Diversity:
    texts = [r.text for r in reviews]
    return {
        "reviews": len(texts),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "mean_pairwise_similarity": mean_pairwise_similarity(texts),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 2) if texts else 0.0,
        "length_histogram": length_histogram(texts),
    }
