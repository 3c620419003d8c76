"""Statistics for A/B comparisons on paired predictions: bootstrap intervals, exact McNemar, verdicts.

Everything here works on *correctness matrices*: `correct[k, i]` is 1 when the model trained with
seed k got example i right. A and B share both axes (same seeds, same examples), so the difference
B - A is paired. numpy and scipy only, no torch: the statistics can be recomputed from results.json.

Intervals are percentile bootstraps. With one seed only the examples are resampled; with K > 1
seeds the bootstrap is two-level: each replicate resamples the seeds (with replacement) and,
independently, the examples, so the interval carries both the test-set noise and the
run-to-run noise of fine-tuning (with 3 seeds the seed part is coarse, but no longer ignored).
The verdict is read from the interval of B - A, never from the point difference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

BETTER, WORSE, NO_CHANGE = "better", "worse", "no detectable change"
DEFAULT_BOOTSTRAP = 2000
DEFAULT_CONFIDENCE = 0.95
_CHUNK = 250  # bootstrap replicates per vectorised chunk (bounds memory at about CHUNK * seeds * n bytes)


@dataclass
class PairedStats:
    """A against B on one evaluation set (or one group of it)."""

    n: int
    seeds: int
    a: float
    a_low: float
    a_high: float
    b: float
    b_low: float
    b_high: float
    diff: float
    diff_low: float
    diff_high: float
    mcnemar_b_only: int  # examples B gets right and A gets wrong (majority over seeds)
    mcnemar_a_only: int  # examples A gets right and B gets wrong
    mcnemar_p: float
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_matrix(correct: Any) -> np.ndarray:
    """A (seeds, n) float array from a list of per-seed 0/1 lists (or a 1-D list for one seed)."""
    arr = np.asarray(correct, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"correctness must be (seeds, n), got shape {arr.shape}")
    return arr


def _replicate_means(mats: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bootstrap means of each matrix, all resampled with the *same* seed and example indices."""
    k, n = mats[0].shape
    out: list[list[np.ndarray]] = [[] for _ in mats]
    done = 0
    while done < n_boot:
        m = min(_CHUNK, n_boot - done)
        ex = rng.integers(0, n, size=(m, n))
        sd = rng.integers(0, k, size=(m, k)) if k > 1 else np.zeros((m, 1), dtype=np.int64)
        for j, mat in enumerate(mats):
            per_seed = mat[:, ex].mean(axis=2)  # (k, m): each seed's accuracy on each resampled test set
            out[j].append(np.take_along_axis(per_seed.T, sd, axis=1).mean(axis=1))
        done += m
    return [np.concatenate(parts) for parts in out]


def bootstrap_interval(correct: Any, n_boot: int = DEFAULT_BOOTSTRAP, confidence: float = DEFAULT_CONFIDENCE,
                       seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): accuracy and its percentile-bootstrap interval over examples (and seeds)."""
    mat = as_matrix(correct)
    if mat.size == 0:
        return float("nan"), float("nan"), float("nan")
    (reps,) = _replicate_means([mat], n_boot, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    return float(mat.mean()), float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs against 1/2."""
    from scipy.stats import binomtest

    n = a_only + b_only
    if n == 0:
        return 1.0
    return float(binomtest(b_only, n, 0.5, alternative="two-sided").pvalue)


def majority(correct: np.ndarray) -> np.ndarray:
    """Per-example correctness of the seed majority (ties count as wrong), shape (n,)."""
    return (correct.mean(axis=0) > 0.5).astype(np.int64)


def verdict_from_interval(low: float, high: float) -> str:
    """"better" when the whole interval of B - A is above 0, "worse" when below, else no change."""
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return NO_CHANGE


def paired_stats(correct_a: Any, correct_b: Any, n_boot: int = DEFAULT_BOOTSTRAP,
                 confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> PairedStats:
    """Accuracy of A and B with intervals, the paired difference B - A with its interval, McNemar.

    `correct_a[k][i]` and `correct_b[k][i]` must be the same seed k and the same example i. The
    McNemar test uses the seed-majority prediction of each example, so its pairs stay independent.
    """
    a, b = as_matrix(correct_a), as_matrix(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"A and B must be paired: shapes {a.shape} and {b.shape}")
    k, n = a.shape
    if n == 0:
        nan = float("nan")
        return PairedStats(0, k, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, 0, 1.0, NO_CHANGE)
    ra, rb = _replicate_means([a, b], n_boot, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2

    def q(x: np.ndarray) -> tuple[float, float]:
        return float(np.quantile(x, alpha)), float(np.quantile(x, 1 - alpha))

    d_low, d_high = q(rb - ra)
    ma, mb = majority(a), majority(b)
    a_only, b_only = int(((ma == 1) & (mb == 0)).sum()), int(((ma == 0) & (mb == 1)).sum())
    return PairedStats(
        n=n, seeds=k, a=float(a.mean()), a_low=q(ra)[0], a_high=q(ra)[1], b=float(b.mean()), b_low=q(rb)[0],
        b_high=q(rb)[1], diff=float(b.mean() - a.mean()), diff_low=d_low, diff_high=d_high,
        mcnemar_b_only=b_only, mcnemar_a_only=a_only, mcnemar_p=mcnemar_exact(a_only, b_only),
        verdict=verdict_from_interval(d_low, d_high),
    )
