"""Statistics for A/B comparisons on paired predictions: bootstrap intervals, exact paired tests, verdicts.

Everything here works on *score matrices*: `score[k, i]` is the per-example score of the model
trained with seed k on example i (`sarcgen.finetune.metrics`: for accuracy 1 when it got it right,
else 0). A and B share both axes (same seeds, same examples), so the difference B - A is paired.
numpy and scipy only, no torch: the statistics can be recomputed from results.json.

Intervals are percentile bootstraps. With one seed only the examples are resampled; with K > 1
seeds the bootstrap is two-level: each replicate resamples the seeds (with replacement) and,
independently, the examples, so the interval carries both the test-set noise and the
run-to-run noise of fine-tuning (with 3 seeds the seed part is coarse, but no longer ignored).

Examples are resampled by *cluster* when cluster ids are given (`clusters`, e.g. the pair_id of a
sarcastic review and its sincere twin): a replicate draws whole clusters, so twins and template
siblings are not counted as independent evidence. A row without a cluster id is its own cluster,
and without `clusters` every row is, which is the plain example bootstrap.

The verdict needs two things to agree at alpha = 1 - confidence: the bootstrap interval of B - A
must exclude 0, and the exact paired test must reject, in the same direction. The exact test is
McNemar's (a two-sided binomial test of the discordant examples of the seed-majority predictions);
with clusters it is the same exact sign test on clusters (a cluster counts for B when B's majority
predictions get more of its rows right than A's, for A when fewer), which is McNemar when every
cluster is one row. Anything else is "no detectable change". When A and B are right on exactly the
same examples the interval has zero width: that is flagged (`degenerate`, note "no discordant
pairs"), not presented as certainty (the verdict is then "no detectable change": McNemar has
nothing to count). A score that is not 0/1 (a probability) takes the mean over seeds in place of
the majority, and its test is the exact sign test of the examples (or clusters) whose score rose
against those whose score fell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

BETTER, WORSE, NO_CHANGE = "better", "worse", "no detectable change"
DEFAULT_BOOTSTRAP = 2000
DEFAULT_CONFIDENCE = 0.95
NO_DISCORDANT = "no discordant pairs"
ZERO_WIDTH = "zero-width interval: every example discordant the same way"
MCNEMAR, CLUSTER_SIGN, SIGN = "McNemar exact", "exact sign test over clusters", "exact sign test over examples"
_CHUNK = 250  # bootstrap replicates per vectorised chunk (bounds memory at about CHUNK * seeds * n bytes)


class PairedStats(BaseModel):
    """A against B on one evaluation set (or one group of it), as results.json holds it."""

    model_config = ConfigDict(extra="forbid")

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
    clusters: int = 0  # resampling units (== n when no cluster ids were given)
    test: str = MCNEMAR  # the exact paired test the verdict uses
    test_b_wins: int = 0  # its units (examples, or clusters) in B's favour ...
    test_a_wins: int = 0  # ... and in A's
    test_p: float = 1.0  # its two-sided p-value (== mcnemar_p without clusters)
    alpha: float = 1 - DEFAULT_CONFIDENCE
    degenerate: bool = False  # zero-width interval of B - A: nothing to resample, not certainty
    note: str = ""  # why it is degenerate ("no discordant pairs"), else empty


class SliceStats(PairedStats):
    """A slice's statistics: exploratory, one of `family_size` slices of its set, with its exact
    test's p Holm-adjusted over that family (`sarcgen.finetune.analysis.mark_exploratory`)."""

    exploratory: bool = True
    family_size: int
    holm_p: float


def as_matrix(correct: ArrayLike) -> np.ndarray:
    """A (seeds, n) float array from a list of per-seed score lists (or a 1-D list for one seed)."""
    arr = np.asarray(correct, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"correctness must be (seeds, n), got shape {arr.shape}")
    return arr


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def cluster_codes(clusters: Sequence[object] | None, n: int) -> np.ndarray:
    """(n,) integer cluster code per row: rows sharing an id share a code; no id (None, NaN, '') is its own cluster."""
    if clusters is None:
        return np.arange(n)
    if len(clusters) != n:
        raise ValueError(f"clusters must give one id per example: {len(clusters)} ids for {n} examples")
    codes: dict[tuple[str, object], int] = {}
    out = np.empty(n, dtype=np.int64)
    for i, c in enumerate(clusters):
        key: tuple[str, object] = ("row", i) if _missing(c) else ("id", c)
        out[i] = codes.setdefault(key, len(codes))
    return out


def _replicate_means(mats: list[np.ndarray], n_boot: int, rng: np.random.Generator,
                     codes: np.ndarray | None = None) -> list[np.ndarray]:
    """Bootstrap means of each matrix, all resampled with the *same* seed and cluster indices.

    Each replicate draws as many clusters as there are, with replacement; its accuracy is the rows
    right over the rows drawn. With one row per cluster this is the plain example bootstrap (and
    draws the same random numbers as it always did).
    """
    k, n = mats[0].shape
    if codes is None:
        codes = np.arange(n)
    n_clusters = int(codes.max()) + 1 if n else 0
    sizes = np.bincount(codes, minlength=n_clusters).astype(np.float64)
    sums = [np.stack([np.bincount(codes, weights=row, minlength=n_clusters) for row in mat]) for mat in mats]
    out: list[list[np.ndarray]] = [[] for _ in mats]
    done = 0
    while done < n_boot:
        m = min(_CHUNK, n_boot - done)
        ex = rng.integers(0, n_clusters, size=(m, n_clusters))
        sd = rng.integers(0, k, size=(m, k)) if k > 1 else np.zeros((m, 1), dtype=np.int64)
        drawn = sizes[ex].sum(axis=1)  # (m,): rows in each replicate
        for j, s in enumerate(sums):
            per_seed = s[:, ex].sum(axis=2) / drawn  # (k, m): each seed's accuracy on each resampled test set
            out[j].append(np.take_along_axis(per_seed.T, sd, axis=1).mean(axis=1))
        done += m
    return [np.concatenate(parts) for parts in out]


def bootstrap_interval(correct: ArrayLike, n_boot: int = DEFAULT_BOOTSTRAP, confidence: float = DEFAULT_CONFIDENCE,
                       seed: int = 0, clusters: Sequence[object] | None = None) -> tuple[float, float, float]:
    """(mean, low, high): accuracy and its percentile-bootstrap interval over examples or clusters (and seeds)."""
    mat = as_matrix(correct)
    if mat.size == 0:
        return float("nan"), float("nan"), float("nan")
    (reps,) = _replicate_means([mat], n_boot, np.random.default_rng(seed), cluster_codes(clusters, mat.shape[1]))
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


def binary(scores: np.ndarray) -> bool:
    """Whether every score is 0 or 1 (right / wrong), so the exact test is McNemar's."""
    return bool(np.isin(scores, (0.0, 1.0)).all())


def across_seeds(scores: np.ndarray, is_binary: bool) -> np.ndarray:
    """Each example's score over the seeds, shape (n,): the majority of a 0/1 score, else the mean."""
    return majority(scores).astype(np.float64) if is_binary else scores.mean(axis=0)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given), for a family of tests such as the slices of a set."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def verdict_from_interval(low: float, high: float) -> str:
    """What the interval alone says: "better" when the whole interval of B - A is above 0, "worse" when below.

    Not a verdict on its own: `verdict` also asks the exact paired test."""
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return NO_CHANGE


def verdict(low: float, high: float, test_p: float, b_wins: int, a_wins: int, alpha: float = 1 - DEFAULT_CONFIDENCE) -> str:
    """"better" / "worse" only when the interval of B - A excludes 0 *and* the exact paired test rejects
    at `alpha` (p <= alpha) in the same direction; otherwise "no detectable change"."""
    if test_p > alpha:
        return NO_CHANGE
    side = verdict_from_interval(low, high)
    if side == BETTER and b_wins > a_wins:
        return BETTER
    if side == WORSE and a_wins > b_wins:
        return WORSE
    return NO_CHANGE


def paired_stats(correct_a: ArrayLike, correct_b: ArrayLike, n_boot: int = DEFAULT_BOOTSTRAP,
                 confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                 clusters: Sequence[object] | None = None) -> PairedStats:
    """Mean score (accuracy) of A and B with intervals, the paired difference B - A with its interval,
    the exact paired test (McNemar for 0/1 scores), a verdict.

    `correct_a[k][i]` and `correct_b[k][i]` must be the same seed k and the same example i. The
    McNemar test uses the seed-majority prediction of each example, so its pairs stay independent
    (a score that is not 0/1: the seed mean, and the exact sign test).
    `clusters[i]` (optional) is example i's cluster id (a contrast pair, a template): the bootstrap
    resamples whole clusters and the exact test counts clusters; None is a cluster of its own.
    """
    a, b = as_matrix(correct_a), as_matrix(correct_b)
    if a.shape != b.shape:
        raise ValueError(f"A and B must be paired: shapes {a.shape} and {b.shape}")
    k, n = a.shape
    alpha = round(1 - confidence, 12)  # 0.05, not 0.050000000000000044
    if n == 0:
        nan = float("nan")
        return PairedStats(n=0, seeds=k, a=nan, a_low=nan, a_high=nan, b=nan, b_low=nan, b_high=nan, diff=nan, diff_low=nan,
                           diff_high=nan, mcnemar_b_only=0, mcnemar_a_only=0, mcnemar_p=1.0, verdict=NO_CHANGE, alpha=alpha)
    codes = cluster_codes(clusters, n)
    ra, rb = _replicate_means([a, b], n_boot, np.random.default_rng(seed), codes)
    half = alpha / 2

    def q(x: np.ndarray) -> tuple[float, float]:
        return float(np.quantile(x, half)), float(np.quantile(x, 1 - half))

    d_low, d_high = q(rb - ra)
    is_binary = binary(a) and binary(b)
    ma, mb = across_seeds(a, is_binary), across_seeds(b, is_binary)
    a_only, b_only = int((ma > mb).sum()), int((mb > ma).sum())
    mc_p = mcnemar_exact(a_only, b_only)
    n_clusters = int(codes.max()) + 1
    if n_clusters == n:  # every example its own cluster: the test is McNemar (the sign test, for other scores)
        test, b_wins, a_wins, test_p = MCNEMAR if is_binary else SIGN, b_only, a_only, mc_p
    else:
        net = np.bincount(codes, weights=(mb - ma).astype(np.float64), minlength=n_clusters)
        test, b_wins, a_wins = CLUSTER_SIGN, int((net > 0).sum()), int((net < 0).sum())
        test_p = mcnemar_exact(a_wins, b_wins)
    degenerate, note = False, ""
    if np.array_equal(a, b):
        degenerate, note = True, NO_DISCORDANT
    elif d_high - d_low <= 1e-12:
        degenerate, note = True, ZERO_WIDTH
    return PairedStats(
        n=n, seeds=k, a=float(a.mean()), a_low=q(ra)[0], a_high=q(ra)[1], b=float(b.mean()), b_low=q(rb)[0],
        b_high=q(rb)[1], diff=float(b.mean() - a.mean()), diff_low=d_low, diff_high=d_high,
        mcnemar_b_only=b_only, mcnemar_a_only=a_only, mcnemar_p=mc_p,
        verdict=verdict(d_low, d_high, test_p, b_wins, a_wins, alpha),
        clusters=n_clusters, test=test, test_b_wins=b_wins, test_a_wins=a_wins, test_p=test_p, alpha=alpha,
        degenerate=degenerate, note=note,
    )
