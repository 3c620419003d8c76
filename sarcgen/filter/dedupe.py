"""Exact and near-duplicate removal that scales to 100,000+ reviews.

1. Exact: a fingerprint of the normalised word sequence (case and punctuation ignored).
2. Template: openers and closers that many items share ("Oh wow, what a ...") are found from the
   data and removed before comparing, so templated data is not over-merged.
3. Candidates: MinHash over word unigrams + bigrams (stop phrases dropped), banded LSH (numpy).
4. Verification: rapidfuzz `ratio` on the sorted words of the stripped text, i.e. token_sort_ratio,
   so reordered clauses still match; only candidate pairs are scored.
5. Keep the first by plan order: an item is dropped when it matches an earlier *kept* item.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sarcgen.filter import minhash as ix
from sarcgen.filter.check import Drop, KeepOrDrop
from sarcgen.text import tokens

if TYPE_CHECKING:
    from sarcgen.filter.report import FilterReport
    from sarcgen.records import Review

EXACT = "exact_duplicate"
NEAR = "near_duplicate"


@dataclass(frozen=True)
class LshParams:
    """Candidate generation knobs. bands x rows permutations; a pair with Jaccard J (on shingles)
    becomes a candidate with probability 1 - (1 - J^rows)^bands (J=0.4 -> 0.9994 at 40 x 3)."""

    bands: int = 40
    rows: int = 3
    max_df_share: float = 0.002  # drop shingles seen more often than this share of docs ...
    min_max_df: int = 200  # ... but never below this count (small runs keep every shingle)
    max_bucket: int = 200
    threads: int = 2
    seed: int = 7


@dataclass
class Duplicate:
    index: int
    kept: int
    reason: str
    score: float


@dataclass
class DedupeResult:
    """Which items to drop (index -> Duplicate), the clusters, the template found, and stats."""

    dropped: dict[int, Duplicate] = field(default_factory=dict)
    clusters: list[dict] = field(default_factory=list)
    template_openers: list[str] = field(default_factory=list)
    template_closers: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)


@dataclass
class Prepared:
    corpus: ix.Corpus
    template: ix.Template
    texts: Sequence[str]
    _cmp: dict[int, str] = field(default_factory=dict)

    def cmp(self, i: int) -> str:
        """The comparison string of item i: sorted lower-case words of its de-templated text."""
        s = self._cmp.get(i)
        if s is None:
            s = " ".join(sorted(tokens(ix.stripped_text(self.corpus, self.template, self.texts, i))))
            self._cmp[i] = s
        return s


def prepare(texts: Sequence[str], *, strip_template: bool = True) -> Prepared:
    corpus = ix.tokenize_corpus(texts)
    if strip_template:
        tpl = ix.find_template(corpus, texts)
    else:
        lengths = np.diff(corpus.offsets)
        tpl = ix.Template(start=np.zeros(len(texts), np.int64), end=lengths.copy())
    return Prepared(corpus, tpl, texts)


def candidate_pairs(prep: Prepared, docs: np.ndarray, params: LshParams = LshParams()) -> np.ndarray:
    """LSH candidate pairs (i < j) among the item indices `docs`."""
    n = len(prep.corpus)
    sel = np.zeros(n, dtype=bool)
    sel[docs] = True
    start, end = prep.template.start.copy(), prep.template.end.copy()  # type: ignore[union-attr]
    end[~sel] = start[~sel]  # unselected docs contribute no shingles
    parts = ix.shingle_hashes(prep.corpus, start, end)
    max_df = max(params.min_max_df, int(params.max_df_share * len(docs)))
    parts = ix.drop_frequent(parts, n, max_df)
    sig, present = ix.minhash(parts, n, params.bands * params.rows, seed=params.seed, threads=params.threads)
    return ix.lsh_pairs(sig, present, params.bands, params.rows, max_bucket=params.max_bucket, seed=params.seed + 1)


def verify(prep: Prepared, pairs: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Score candidate pairs with rapidfuzz; keep those at or above `threshold`."""
    from rapidfuzz import fuzz

    out = []
    for i, j in pairs.tolist():
        s = fuzz.ratio(prep.cmp(i), prep.cmp(j), score_cutoff=threshold)
        if s >= threshold and s > 0:
            out.append((i, j, round(float(s), 2)))
    return out


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = 90.0, *, params: LshParams = LshParams(), strip_template: bool = True
) -> tuple[list[tuple[int, int, float]], Prepared]:
    """All verified near-duplicate pairs (i < j, score) among texts (exact duplicates included),
    plus the prepared corpus (its `cmp(i)` strings are what was compared)."""
    prep = prepare(texts, strip_template=strip_template)
    pairs = candidate_pairs(prep, np.arange(len(texts)), params)
    return verify(prep, pairs, threshold), prep


def dedupe(
    texts: Sequence[str], threshold: float = 90.0, *, params: LshParams = LshParams(), strip_template: bool = True
) -> DedupeResult:
    """Find exact and near duplicates among `texts`, given in plan order (the first is kept)."""
    t0 = time.perf_counter()
    result = DedupeResult()
    n = len(texts)
    if n == 0:
        return result
    prep = prepare(texts, strip_template=strip_template)
    result.template_openers = prep.template.prefixes
    result.template_closers = prep.template.suffixes
    t1 = time.perf_counter()

    # exact: same fingerprint as an earlier item
    fp = prep.corpus.fingerprint
    _, first = np.unique(fp, return_index=True)
    first_of = dict(zip(fp[first].tolist(), first.tolist()))
    for i, f in enumerate(fp.tolist()):
        k = first_of[f]
        if k != i:
            result.dropped[i] = Duplicate(i, k, EXACT, 100.0)
    unique_docs = np.sort(first)

    pairs = candidate_pairs(prep, unique_docs, params)
    t2 = time.perf_counter()
    verified = verify(prep, pairs, threshold)
    t3 = time.perf_counter()

    # greedy in plan order: j goes when it matches an earlier item that was kept
    earlier: dict[int, list[tuple[float, int]]] = {}
    for i, j, s in verified:
        earlier.setdefault(j, []).append((-s, i))
    for j in sorted(earlier):
        for neg_s, i in sorted(earlier[j]):
            if i not in result.dropped:
                result.dropped[j] = Duplicate(j, i, NEAR, -neg_s)
                break
    for d in result.dropped.values():  # exact copies of an item that was itself dropped
        if d.kept in result.dropped:
            d.kept = result.dropped[d.kept].kept

    members: dict[int, list[Duplicate]] = {}
    for d in result.dropped.values():
        members.setdefault(d.kept, []).append(d)
    result.clusters = [
        {"kept": k, "duplicates": [{"index": d.index, "reason": d.reason, "score": d.score} for d in sorted(ms, key=lambda d: d.index)]}
        for k, ms in sorted(members.items())
    ]
    result.stats = {
        "items": n,
        "exact_duplicates": sum(d.reason == EXACT for d in result.dropped.values()),
        "near_duplicates": sum(d.reason == NEAR for d in result.dropped.values()),
        "candidate_pairs": int(len(pairs)),
        "verified_pairs": len(verified),
        "seconds_prepare": round(t1 - t0, 3),
        "seconds_candidates": round(t2 - t1, 3),
        "seconds_verify": round(t3 - t2, 3),
    }
    return result


class Dedupe:
    """Exact and near duplicates as one filter stage: the first in plan order stays."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """A Drop naming the kept original for each duplicate; the clusters go into the report."""
        res = dedupe([r.text for r in reviews], self.threshold)
        report.dedupe = {
            "template_openers": res.template_openers,
            "template_closers": res.template_closers,
            "clusters": [{"kept": reviews[c["kept"]].id,
                          "duplicates": [{"id": reviews[m["index"]].id, "reason": m["reason"], "score": m["score"]}
                                         for m in c["duplicates"]]} for c in res.clusters],
            "stats": {k: v for k, v in res.stats.items() if not k.startswith("seconds")},
        }
        verdicts: list[KeepOrDrop] = [None] * len(reviews)
        for i, d in res.dropped.items():
            verdicts[i] = Drop(d.reason, f"duplicate of {reviews[d.kept].id} (score {d.score:.1f})")
        return verdicts
