"""Grounded generation: real reviews as rewrite sources, the user's own examples as few-shots.

`generate.grounding` (a recipe section) selects it:

- `mode: rewrite` turns each plan item into an edit of a real review from `sources` (the user's
  base data: an IMDB folder's *train* files, one text,label file, or `embedded`): a sarcastic item
  rewrites a real negative review as ironic praise that keeps its complaints and its length; its
  sincere twin rewrites a real positive review, kept close to the source. A source is drawn from
  the item's length bucket; every source is used once before any is used again. Evaluation texts
  (the comparison's built-in sets, `filter.against`) are never sources. The source's id (`source_key`, a hash of its cleaned text,
  which finetune-compare uses to keep sources out of its validation and test samples), its label
  and the edit size travel in each record's provenance.
- `examples: FILE` (text, label, optionally device): each group's few-shot examples are drawn
  from the user's real examples (label 0: sarcastic negatives, label 1: sincere positives)
  instead of the template's fixed ones. `examples_block` groups share one draw, so llama.cpp
  reuses the KV cache of the prefix within a block (1: a new draw, and a new prefix, per group).

Everything is a pure function of (settings, seed, group index), as the plan is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sarcgen.errors import InputError

if TYPE_CHECKING:
    from sarcgen.finetune.data import TextSet
    from sarcgen.recipe import GroundingSettings

REWRITE_TEMPLATE = "rewrite.j2"
UNCHANGED = "unchanged_source"
UNCHANGED_EDIT = 0.1  # a reply this close to its source (word edit distance) is a copy, not a rewrite


class Shot(TypedDict):
    """One few-shot example as a prompt template sees it (`item.examples`)."""

    text: str
    label: int
    sarcastic: bool
    device: str | None


def template_name(template: str, grounding: GroundingSettings) -> str:
    """The template a run renders: rewrite mode swaps the default review.j2 for rewrite.j2."""
    return REWRITE_TEMPLATE if grounding.mode == "rewrite" and template == "review.j2" else template


def edit_size(source: str, text: str) -> float:
    """How much of the source a rewrite changed: the word-level Levenshtein distance over the longer
    length (0 = the same words, 1 = nothing kept)."""
    from rapidfuzz.distance import Levenshtein

    from sarcgen.text import tokens

    return round(float(Levenshtein.normalized_distance(tokens(source), tokens(text))), 3)


@dataclass(frozen=True)
class Source:
    key: str
    text: str
    label: int
    words: int


@dataclass
class SourcePool:
    """Real reviews by (label, length bucket)."""

    origin: str
    buckets: dict[tuple[int, str], list[Source]] = field(default_factory=dict)
    removed: int = 0

    def draw(self, label: int, bucket: str, k: int, seed: int) -> Source:
        """The source of the k-th group of this length bucket: a shuffled pass over the bucket's
        reviews of this label, then the next pass, so no source repeats before all were used.
        (Preferring reviews that name the item's aspect broke that promise: the aspect lists overlap.)"""
        pool = self.buckets.get((label, bucket)) or []
        if not pool:
            kind = "negative" if label == 0 else "positive"
            raise InputError(f"{self.origin}: no {kind} review fits the length bucket {bucket!r}",
                             "give generate.grounding.sources with more reviews, or change generate.attributes.lengths")
        order = list(range(len(pool)))
        random.Random(f"{seed}|{label}|{bucket}|{k // len(pool)}").shuffle(order)
        return pool[order[k % len(pool)]]


def build_pool(texts: TextSet, origin: str, lengths: list[tuple[str, int, int]], exclude: list[TextSet]) -> SourcePool:
    """Bucket the cleaned texts of `texts` by label and length, leaving out every evaluation text."""
    from sarcgen.finetune.data import clean_pool, clean_text, source_key

    clean, removed = clean_pool(texts, exclude) if exclude else (texts, {})
    pool = SourcePool(origin, removed=sum(removed.values()))
    seen: set[str] = set()
    for text, label in zip(clean.texts, clean.labels):
        t = clean_text(text)
        words = len(t.split())
        bucket = next((name for name, lo, hi in lengths if lo <= words <= hi), None)
        key = source_key(t)
        if bucket is None or key in seen:
            continue
        seen.add(key)
        pool.buckets.setdefault((int(label), bucket), []).append(Source(key, t, int(label), words))
    return pool


@lru_cache(maxsize=4)
def load_sources(spec: str, lengths: tuple[tuple[str, int, int], ...], against: tuple[str, ...]) -> SourcePool:
    """The rewrite sources of `spec`: the train pool only (an IMDB folder's test files never), less
    the evaluation texts (the comparison's built-in sets and `against` files)."""
    from sarcgen.finetune.data import load_pools
    from sarcgen.finetune.evalsets import load_challenge_sets

    train, _test, origin = load_pools(spec, "stanfordnlp/imdb")
    return build_pool(train, origin, list(lengths), load_challenge_sets(list(against)))


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    device: str | None


@lru_cache(maxsize=4)
def load_examples(path: str) -> tuple[Example, ...]:
    """The user's few-shot examples: a text,label file (csv/jsonl/parquet), optionally a device column."""
    from sarcgen.finetune.data import clean_text, load_labelled_file

    if not Path(path).is_file():
        raise InputError(f"{path}: examples file not found", "pass --examples FILE with text and label columns")
    ts = load_labelled_file(path)
    meta = ts.meta or [{}] * len(ts)
    out = tuple(Example(clean_text(t), int(y), str(m["device"]) if m.get("device") else None) for t, y, m in zip(ts.texts, ts.labels, meta))
    if not any(e.label == 0 for e in out):
        raise InputError(f"{path}: no example with label 0 (a sarcastic negative)", "the examples teach the writer sarcasm: add some")
    return out


def draw_examples(examples: tuple[Example, ...], k: int, seed: int, block: int) -> list[Shot]:
    """k examples for one block of groups: two thirds sarcastic negatives, the rest sincere positives
    (when the file has them), in a seeded order."""
    rng = random.Random(f"{seed}|examples|{block}")
    neg = [e for e in examples if e.label == 0]
    pos = [e for e in examples if e.label == 1]
    n_pos = min(len(pos), k // 3)
    picked = rng.sample(neg, min(len(neg), k - n_pos)) + rng.sample(pos, n_pos)
    rng.shuffle(picked)
    return [{"text": e.text, "label": e.label, "sarcastic": e.label == 0, "device": e.device} for e in picked]


def without_source(messages: list[dict[str, str]], source: str | None) -> list[dict[str, str]]:
    """The prompt less the rewrite source, for the prompt-copy check: a rewrite is meant to reuse its
    source's words (`rewrite_problem` rejects an unchanged copy instead)."""
    if not source:
        return messages
    return [{**m, "content": m["content"].replace(source, "")} for m in messages]


def rewrite_problem(edit: float | None) -> str | None:
    """Why a rewrite is rejected (`UNCHANGED`), or None: one that hardly changed its source (word edit
    distance below UNCHANGED_EDIT) would put a real review, maybe one of the comparison's, into the
    synthetic data verbatim."""
    if edit is None or edit >= UNCHANGED_EDIT:
        return None
    return f"word edit distance {edit:.2f} from its source (below {UNCHANGED_EDIT})"
