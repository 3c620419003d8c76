"""Decontamination: drop synthetic items that near-match any evaluation text.

Evaluation texts: the built-in sarcasm challenge set, the IMDB test split (when given) and any
`--against` files. Candidates come from a sparse shingle-containment index (the same hashed word
unigrams/bigrams as dedupe), so 25,000 IMDB test reviews cost seconds; each candidate is verified
with rapidfuzz:

- whole text: token_sort_ratio (catches paraphrased copies and reordered clauses);
- part of a text: partial_ratio of the shorter text inside the longer one (a challenge sentence
  inside a longer review, or a review copied out of a longer test review), when the shorter one
  is long enough to be more than a stock phrase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sarcgen.errors import InputError
from sarcgen.filter import minhash as ix
from sarcgen.filter.check import Drop, KeepOrDrop
from sarcgen.tables import read_texts

if TYPE_CHECKING:
    from sarcgen.filter.report import FilterReport
    from sarcgen.recipe import FilterSettings
    from sarcgen.records import Review

REASON = "contaminated"


@dataclass(frozen=True)
class EvalSet:
    """Named evaluation texts (e.g. "challenge", "imdb_test", or a file name)."""

    name: str
    texts: list[str]


@dataclass(frozen=True)
class Contamination:
    index: int  # item index
    source: str  # EvalSet name
    eval_index: int  # position in that set
    matched_text: str
    score: float
    method: str  # "whole" or "partial"

    def detail(self, width: int = 160) -> str:
        t = self.matched_text if len(self.matched_text) <= width else self.matched_text[: width - 1] + "\u2026"
        return f"{self.source}#{self.eval_index} {self.method} {self.score:.1f}: {t}"


def challenge_set() -> EvalSet:
    from sarcgen.challenge import challenge_texts

    return EvalSet("challenge", challenge_texts())


def resolve_imdb_test(path: str | Path) -> Path:
    """A file, a folder holding test.csv.gz / test.csv / test.jsonl / test.parquet, or `embedded`
    (the packaged IMDB sample, train and test reviews both)."""
    from sarcgen.embedded import EMBEDDED, imdb_sample

    if str(path) == EMBEDDED:
        return imdb_sample()
    p = Path(path)
    if p.is_dir():
        for name in ("test.csv.gz", "test.csv", "test.jsonl", "test.jsonl.gz", "test.parquet"):
            if (p / name).is_file():
                return p / name
        raise InputError(f"{p}: no test.csv.gz, test.csv, test.jsonl or test.parquet in this folder",
                         "pass the IMDB test file itself with --imdb-test")
    if not p.is_file():
        raise InputError(f"{p}: IMDB test split not found", "pass a csv/csv.gz/jsonl/parquet file with a text column, or drop --imdb-test")
    return p


def load_eval_sets(against: Sequence[str | Path] = (), imdb_test: str | Path | None = None) -> list[EvalSet]:
    """The challenge set, then the IMDB test split (if given), then each `against` file."""
    sets = [challenge_set()]
    if imdb_test:
        sets.append(EvalSet("imdb_test", read_texts(resolve_imdb_test(imdb_test))))
    for f in against:
        texts = read_texts(f)
        if not texts:
            raise InputError(f"{f}: no texts in this evaluation file", "check the file, or drop it from --against")
        sets.append(EvalSet(Path(f).name, texts))
    return sets


def _shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    corpus = ix.tokenize_corpus(texts)
    parts = ix.shingle_hashes(corpus)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _drop_common(h: np.ndarray, d: np.ndarray, counts: np.ndarray, max_count: int, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    keep = counts[(h >> np.uint64(40)).astype(np.int64)] <= max_count
    has = np.zeros(n_docs, dtype=bool)
    has[d[keep]] = True
    keep |= ~has[d]  # a text made only of common phrases keeps them all
    return h[keep], d[keep]


def decontaminate(
    texts: Sequence[str],
    eval_sets: Sequence[EvalSet],
    threshold: float = 85.0,
    *,
    min_containment: float = 0.3,
    min_partial_words: int = 6,
    min_excerpt_words: int = 10,
) -> dict[int, Contamination]:
    """Items (by index) that near-match an evaluation text, with the best match for each.

    Partial matching needs `min_partial_words` words in a short evaluation text found inside an
    item, and `min_excerpt_words` in an item found inside a longer evaluation text (a stock phrase
    such as "one of the worst films I have ever seen" alone should not count as a copy)."""
    from rapidfuzz import fuzz
    from rapidfuzz.utils import default_process

    refs: list[tuple[str, int, str]] = [(s.name, i, t) for s in eval_sets for i, t in enumerate(s.texts)]
    if not texts or not refs:
        return {}
    q_h, q_d = _shingles(texts)
    r_h, r_d = _shingles([t for _, _, t in refs])
    counts = np.bincount((r_h >> np.uint64(40)).astype(np.int64), minlength=1 << 24)
    max_count = max(50, int(0.01 * len(refs)))
    q_h, q_d = _drop_common(q_h, q_d, counts, max_count, len(texts))
    r_h, r_d = _drop_common(r_h, r_d, counts, max_count, len(refs))
    pairs = ix.containment_pairs(q_h, q_d, len(texts), r_h, r_d, len(refs), min_containment=min_containment)

    proc_q: dict[int, str] = {}
    proc_r: dict[int, str] = {}
    best: dict[int, Contamination] = {}
    for qi, ri in pairs.tolist():
        a = proc_q.setdefault(qi, default_process(texts[qi]))
        b = proc_r.setdefault(ri, default_process(refs[ri][2]))
        score, method = fuzz.token_sort_ratio(a, b, processor=None), "whole"
        item_shorter = len(a) <= len(b)
        short, long_ = (a, b) if item_shorter else (b, a)
        need = min_excerpt_words if item_shorter else min_partial_words
        if score < threshold and len(short.split()) >= need:
            p = fuzz.partial_ratio(short, long_, processor=None)
            if p > score:
                score, method = p, "partial"
        if score >= threshold:
            prev = best.get(qi)
            if prev is None or score > prev.score:
                name, idx, text = refs[ri]
                best[qi] = Contamination(qi, name, idx, text, round(float(score), 2), method)
    return dict(sorted(best.items()))


class Decontaminate:
    """Near-copies of evaluation texts as one filter stage; every match goes into the report."""

    def __init__(self, settings: FilterSettings) -> None:
        self.settings = settings

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        """A Drop with the matched evaluation text for each contaminated review."""
        fs = self.settings
        sets = load_eval_sets(fs.against, fs.imdb_test)
        report.eval_sets = {s.name: len(s.texts) for s in sets}
        hits = decontaminate([r.text for r in reviews], sets, fs.decontam_threshold)
        verdicts: list[KeepOrDrop] = [None] * len(reviews)
        for i, c in hits.items():
            verdicts[i] = Drop(REASON, c.detail())
            report.decontamination.append({"id": reviews[i].id, "text": reviews[i].text, "source": c.source,
                                           "eval_index": c.eval_index, "matched_text": c.matched_text, "score": c.score,
                                           "method": c.method})
        return verdicts
