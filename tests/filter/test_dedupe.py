"""Exact and near-duplicate removal, template stripping, LSH candidates (and recall on real IMDB)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from sarcgen.filter import minhash as ix
from sarcgen.filter.dedupe import EXACT, NEAR, LshParams, dedupe, near_duplicate_pairs

BASE = [
    "The pacing is brilliant if your favourite hobby is watching a kettle slowly refuse to boil all afternoon.",
    "A stunning lead performance, assuming the director asked for a mannequin with a cold and a grudge.",
    "I loved the ending, mostly because it meant the lights came on and I was allowed to leave at last.",
    "Truly a masterpiece of editing: every scene lasts exactly twice as long as anyone could possibly want.",
    "What a fantastic soundtrack, if you have always wanted to hear one violin sample played for two hours.",
]


def test_exact_duplicates_ignore_case_and_punctuation() -> None:
    texts = [BASE[0], BASE[1], BASE[0].upper().replace(",", ""), "  " + BASE[1] + "  "]
    res = dedupe(texts)
    assert {i: (d.reason, d.kept) for i, d in res.dropped.items()} == {2: (EXACT, 0), 3: (EXACT, 1)}


def test_near_duplicates_keep_first_by_order_and_report_clusters() -> None:
    edited = BASE[2].replace("lights came on", "house lights came up")
    reordered = "Every scene lasts exactly twice as long as anyone could possibly want: truly a masterpiece of editing."
    texts = [*BASE, edited, reordered]
    res = dedupe(texts, 85)
    assert res.dropped[5].reason == NEAR and res.dropped[5].kept == 2
    assert res.dropped[6].kept == 3
    assert set(res.dropped) == {5, 6}
    assert {c["kept"] for c in res.clusters} == {2, 3}
    # a stricter threshold lets the edited one through
    assert 5 not in dedupe(texts, 99).dropped


def test_chains_do_not_over_merge() -> None:
    # b is close to a and c is close to b, but c is not close to a: a and c both stay
    a = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixty"
    c = "one two three four five six seven eight nine ten eleven twelve thirteen forty fifty sixty"
    res = dedupe([a, b, c], 93)
    assert set(res.dropped) == {1}


def test_template_openers_are_stripped_before_comparing() -> None:
    opener = "Oh wow, what an absolutely wonderful evening at the cinema this turned out to be, truly:"
    bodies = [
        "the plot went nowhere.",
        "the actors forgot their lines.",
        "the effects looked like cardboard.",
        "the music drowned every word.",
        "the ending came as a relief.",
        "the popcorn was the highlight.",
    ]
    texts = [f"{opener} {b}" for b in bodies]
    # without stripping, the long shared opener makes every pair look like a duplicate
    assert len(dedupe(texts, 85, strip_template=False).dropped) >= 2
    res = dedupe(texts, 85)
    assert res.dropped == {}
    assert res.template_openers and res.template_openers[0].startswith("oh wow, what an absolutely wonderful")


def test_template_found_from_data_and_at_most_half_stripped() -> None:
    texts = ["same start here then " + w for w in ["alpha beta gamma delta", "x", "epsilon zeta eta theta", "iota kappa lambda mu"]]
    corpus = ix.tokenize_corpus(texts)
    tpl = ix.find_template(corpus, texts, min_share=0.5, min_count=3)
    assert tpl.prefixes[0] == "same start here then"
    assert tpl.start.tolist() == [4, 0, 4, 4]  # the 5-word text keeps its words
    assert ix.stripped_text(corpus, tpl, texts, 0) == "alpha beta gamma delta"


def test_corpus_tokenisation_and_fingerprints() -> None:
    c = ix.tokenize_corpus(["Hello, World!", "hello world", "", "héllo wörld"])
    assert np.diff(c.offsets).tolist() == [2, 2, 0, 2]
    assert c.word_hash[0] == c.word_hash[2] and c.fingerprint[0] == c.fingerprint[1]
    assert c.fingerprint[3] != c.fingerprint[0]


def test_lsh_finds_planted_pairs_among_many() -> None:
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(vocab) for _ in range(40)) for _ in range(1500)]
    planted = {}
    for _ in range(50):
        src = rng.randrange(1500)
        words = texts[src].split()
        words[rng.randrange(40)] = "changed"
        planted[len(texts)] = src
        texts.append(" ".join(words))
    pairs, _ = near_duplicate_pairs(texts, 90, params=LshParams(threads=1))
    found = {(i, j) for i, j, _ in pairs}
    assert all((min(c, s), max(c, s)) in found for c, s in planted.items())
    assert len(found) == len(planted)


def test_empty_and_tiny_inputs() -> None:
    assert dedupe([]).dropped == {}
    assert dedupe(["just one"]).dropped == {}
    assert dedupe(["!!!", "???"]).dropped[1].reason == EXACT  # no words: same (empty) normal form


@pytest.mark.slow
def test_recall_on_real_imdb_with_planted_duplicates(imdb_dir: Path) -> None:
    """LSH + verification finds >= 99% of the pairs exhaustive rapidfuzz finds (3,000 reviews)."""
    import sys

    from rapidfuzz import fuzz, process

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_dedupe

    rng = random.Random(3)
    real = bench_dedupe.load_imdb(imdb_dir)
    texts = rng.sample(real, 2700)
    for _ in range(300):
        texts.append(bench_dedupe.plant(texts[rng.randrange(2700)], rng)[0])
    found, prep = near_duplicate_pairs(texts, 90)
    cmp = [prep.cmp(i) for i in range(len(texts))]
    m = process.cdist(cmp, cmp, scorer=fuzz.ratio, score_cutoff=90, dtype=np.uint8, workers=2)
    iu, ju = np.nonzero(np.triu(m >= 90, 1))
    truth = {(int(i), int(j)) for i, j in zip(iu, ju) if fuzz.ratio(cmp[i], cmp[j]) >= 90}
    got = {(i, j) for i, j, _ in found}
    assert len(truth) >= 200
    assert len(truth & got) / len(truth) >= 0.99
    assert got <= truth | {(i, j) for i, j in got if fuzz.ratio(cmp[i], cmp[j]) >= 90}


def test_fingerprints_with_empty_docs_around() -> None:
    c = ix.tokenize_corpus(["", "alpha beta", "", "alpha", ""])
    d = ix.tokenize_corpus(["alpha beta"])
    assert c.fingerprint[1] == d.fingerprint[0] and c.fingerprint[3] != c.fingerprint[1]
    assert c.fingerprint[0] == c.fingerprint[2] == c.fingerprint[4] == 0
