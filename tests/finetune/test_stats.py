"""Planted effects: the intervals cover the truth, the verdicts follow the intervals, McNemar is exact.

Pure statistics on planted predictions (numpy), then the whole analysis (build_results) on planted
runs: a set where B is planted better, one where it is planted worse, one with no effect.
"""

from __future__ import annotations

import numpy as np
import pytest

from sarcgen.finetune.analysis import build_results
from sarcgen.finetune.compare import CompareData
from sarcgen.finetune.data import BaseSplits, TextSet, builtin_challenge
from sarcgen.finetune.runs import RunSpec, plan_runs
from sarcgen.finetune.stats import BETTER, NO_CHANGE, WORSE, bootstrap_interval, mcnemar_exact, paired_stats
from sarcgen.recipe import FinetuneSettings


def planted(n: int, acc_a: float, acc_b: float, seeds: int, rng: np.random.Generator,
            seed_sd: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Paired correctness: each example has a difficulty; B's accuracy is shifted by the planted effect."""
    u = rng.random(n)
    a, b = [], []
    for _ in range(seeds):
        jitter = rng.normal(0, seed_sd)
        # difficulty shared by A and B (so they are correlated, as paired runs are) plus own noise
        a.append((0.7 * u + 0.3 * rng.random(n) < acc_a + jitter).astype(int))
        b.append((0.7 * u + 0.3 * rng.random(n) < acc_b + jitter + rng.normal(0, seed_sd)).astype(int))
    return np.array(a), np.array(b)


def test_mcnemar_exact_matches_the_binomial() -> None:
    assert mcnemar_exact(0, 6) == pytest.approx(2 * 0.5 ** 6)
    assert mcnemar_exact(3, 3) == pytest.approx(1.0)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 2 ** 10)


def test_planted_effects_give_the_right_verdicts() -> None:
    rng = np.random.default_rng(1)
    a, b = planted(500, 0.70, 0.85, 3, rng)
    st = paired_stats(a, b)
    assert st.verdict == BETTER and st.diff_low > 0 and st.a_low < st.a < st.a_high
    assert st.mcnemar_p < 1e-6 and st.mcnemar_b_only > st.mcnemar_a_only
    assert paired_stats(b, a).verdict == WORSE
    a, b = planted(500, 0.80, 0.80, 3, rng)
    st = paired_stats(a, b)
    assert st.verdict == NO_CHANGE and st.diff_low < 0 < st.diff_high
    # 25 examples: a planted +8 points is not detectable, and the tool must say so
    a, b = planted(25, 0.60, 0.68, 1, rng)
    assert paired_stats(a, b).verdict == NO_CHANGE


def test_intervals_cover_the_planted_difference() -> None:
    """Over 120 planted experiments the 95% interval of B - A covers the true difference >= 88% of the time."""
    rng = np.random.default_rng(7)
    big_a, big_b = planted(400_000, 0.75, 0.80, 1, rng)
    truth = big_b.mean() - big_a.mean()  # about +5.4 points (the planted thresholds are not accuracies)
    covered = 0
    trials = 120
    for t in range(trials):
        a, b = planted(300, 0.75, 0.80, 1, rng)
        st = paired_stats(a, b, n_boot=600, seed=t)
        covered += st.diff_low <= truth <= st.diff_high
    assert covered / trials >= 0.88, covered


def test_seed_noise_widens_the_interval() -> None:
    """With run-to-run noise planted, the two-level bootstrap gives a wider interval than one seed would."""
    rng = np.random.default_rng(3)
    a, b = planted(400, 0.78, 0.80, 5, rng, seed_sd=0.06)
    multi = paired_stats(a, b)
    single = paired_stats(a[:1], b[:1])
    assert (multi.diff_high - multi.diff_low) > (single.diff_high - single.diff_low)
    mean, low, high = bootstrap_interval(a)
    assert low < mean < high and multi.seeds == 5


def _record(key: str, spec: RunSpec, sets: dict[str, TextSet], correct: dict[str, np.ndarray], sel: float) -> dict:
    ev = {}
    for name, ts in sets.items():
        ok = correct[name]
        p = [0.9 if (y == 0) == bool(c) else 0.1 for y, c in zip(ts.labels, ok)]
        ev[name] = {"sha256": "x", "p_negative": p}
    return {"key": key, "run": spec.run, "seed": spec.seed, "mix": spec.mix, "checkpoint": f"/ckpt/{key}",
            "best_epoch": 1, "best_val_loss": sel, "history": [{"epoch": 1, "train_loss": 0.5, "val_loss": sel}],
            "n_train": 10, "n_synthetic": 0 if spec.run == "A" else 5, "eval": ev,
            "selection": {"imdb_validation": sel, "synthetic_validation": sel, "selection": sel}}


def test_build_results_on_planted_runs() -> None:
    """Through the whole analysis: verdicts per set, the mix chosen by selection loss, pairs, flips, slices."""
    rng = np.random.default_rng(11)
    n = 400
    labels = [i % 2 for i in range(n)]
    meta = [{"device": "sincere" if y else ["irony", "deadpan"][i % 4 // 2], "sarcastic": not y,
             "pair_id": f"p{i // 2}"} for i, y in enumerate(labels)]
    imdb = TextSet("imdb-test", [f"review {i}" for i in range(n)], labels, [{} for _ in range(n)])
    syn = TextSet("synthetic-test", [f"syn {i}" for i in range(n)], labels, meta)
    empty = TextSet("x", [], [], [])
    data = CompareData(BaseSplits(empty, empty, imdb, "planted"), {"train": syn, "validation": empty, "test": syn},
                       [builtin_challenge()], "planted.jsonl")
    sets = data.eval_sets()
    settings = FinetuneSettings(seeds=3, mix=[0.1, 0.3], bootstrap=500)
    specs = plan_runs(42, 3, [0.1, 0.3])
    records = {}
    for spec in specs:
        a_imdb, b_imdb = planted(n, 0.85, 0.85, 1, rng)  # IMDB: no effect
        a_syn, b_syn = planted(n, 0.55, 0.80, 1, rng)  # synthetic test: planted better
        a_ch, b_ch = planted(25, 0.5, 0.5, 1, rng)
        if spec.run == "A":
            corr = {"imdb_test": a_imdb[0], "synthetic_test": a_syn[0], "challenge": a_ch[0]}
        else:
            corr = {"imdb_test": b_imdb[0], "synthetic_test": b_syn[0], "challenge": b_ch[0]}
        sel = 0.5 if spec.run == "A" else (0.3 if spec.mix == 0.3 else 0.4)
        records[spec.key] = _record(spec.key, spec, sets, corr, sel)
    res = build_results(data, settings, specs, records, {"model": {}}, {"split": {}, "mixes": {}})
    assert res["chosen_mix"] == "0.3" and set(res["mixes"]) == {"0.1", "0.3"}
    chosen = res["mixes"]["0.3"]
    assert chosen["sets"]["synthetic_test"]["verdict"] == BETTER
    assert chosen["sets"]["synthetic_test"]["seeds"] == 3
    assert chosen["sets"]["imdb_test"]["verdict"] == NO_CHANGE
    assert {"synthetic_test: sarcastic negatives", "synthetic_test: sincere positives"} <= set(chosen["groups"])
    assert chosen["pairs"]["synthetic_test"]["n"] == n // 2
    assert set(chosen["slices"]["synthetic_test"]["device"]) == {"irony", "deadpan", "sincere"}
    assert res["flips"] and {f["change"] for f in res["flips"]} == {"fixed", "broken"}
    assert len(res["seed_sentences"]) == 3 and len(res["seed_sentences"][0]["A"]) == 3
    assert res["first_keys"] == {"A": "A-seed42", "B": "B-seed42-mix0.3"}
