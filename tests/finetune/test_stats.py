"""Planted effects: the intervals cover the truth, the verdicts need the interval and the exact test to agree.

Pure statistics on planted predictions (numpy): planted effects, the 4-of-25 case the bootstrap alone
called "better", identical runs (degenerate, not certain), a simulated null (false verdicts <= alpha),
the cluster bootstrap on twins; then the whole analysis (build_results) on planted runs and the report's
wording of verdicts.
"""

from __future__ import annotations

import numpy as np
import pytest

from sarcgen.finetune.analysis import build_results
from sarcgen.finetune.compare import CompareData
from sarcgen.finetune.data import BaseSplits, TextSet
from sarcgen.finetune.evalsets import builtin_challenge
from sarcgen.finetune.results import Balance, ClassBalance, CompareResults, MixComparison
from sarcgen.finetune.runs import Fingerprints, ModelFingerprint, RunRecord, RunSpec, plan_runs
from sarcgen.finetune.stats import (
    BETTER,
    CLUSTER_SIGN,
    MCNEMAR,
    NO_CHANGE,
    NO_DISCORDANT,
    WORSE,
    SliceStats,
    bootstrap_interval,
    holm,
    mcnemar_exact,
    paired_stats,
    verdict_from_interval,
)
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


def discordant(n: int, b_only: int, a_only: int, seeds: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n examples, both right on the rest: B alone right on `b_only`, A alone on `a_only` (same for every seed)."""
    a, b = np.ones(n, dtype=int), np.ones(n, dtype=int)
    b[b_only:b_only + a_only] = 0
    a[:b_only] = 0
    return np.tile(a, (seeds, 1)), np.tile(b, (seeds, 1))


def test_planted_discordance_one_way_is_better() -> None:
    a, b = discordant(100, 30, 10)
    st = paired_stats(a, b, n_boot=500)
    assert (st.mcnemar_b_only, st.mcnemar_a_only) == (30, 10) and st.mcnemar_p < 0.01
    assert st.diff_low > 0 and st.verdict == BETTER and st.test == MCNEMAR and st.test_p == st.mcnemar_p
    assert paired_stats(b, a, n_boot=500).verdict == WORSE
    assert paired_stats(*discordant(100, 30, 10, seeds=3), n_boot=500).verdict == BETTER


def test_four_of_twentyfive_is_not_better() -> None:
    """The issue's case: the percentile interval alone excludes 0, McNemar says p = 0.125; no verdict."""
    a, b = discordant(25, 4, 0)
    st = paired_stats(a, b)
    assert st.mcnemar_p == pytest.approx(0.125) and (st.mcnemar_b_only, st.mcnemar_a_only) == (4, 0)
    assert verdict_from_interval(st.diff_low, st.diff_high) == BETTER  # what the old rule said
    assert st.verdict == NO_CHANGE and not st.degenerate


def test_identical_runs_are_degenerate_not_certain() -> None:
    rng = np.random.default_rng(5)
    a = (rng.random((3, 60)) < 0.7).astype(int)
    st = paired_stats(a, a.copy(), n_boot=500)
    assert st.degenerate and st.note == NO_DISCORDANT and st.verdict == NO_CHANGE
    assert st.diff == 0 and st.mcnemar_p == 1.0 and (st.mcnemar_b_only, st.mcnemar_a_only) == (0, 0)
    other = paired_stats(*discordant(60, 3, 1), n_boot=500)
    assert not other.degenerate and other.note == ""


def test_simulated_null_fires_at_most_alpha() -> None:
    """300 comparisons with A and B independent and equally good (70%, n = 50, one seed): the false
    better/worse rate stays at or below alpha = 0.05 (the interval alone fired 3.4-4.1%)."""
    rng = np.random.default_rng(2024)
    trials, fired, interval_only = 300, 0, 0
    for t in range(trials):
        a = (rng.random(50) < 0.7).astype(int)
        b = (rng.random(50) < 0.7).astype(int)
        st = paired_stats(a, b, n_boot=500, seed=t)
        fired += st.verdict != NO_CHANGE
        interval_only += verdict_from_interval(st.diff_low, st.diff_high) != NO_CHANGE
    assert fired / trials <= 0.05, (fired, interval_only)
    assert fired <= interval_only


def test_cluster_bootstrap_on_perfect_twins() -> None:
    """Twins that always agree are one piece of evidence: the cluster interval is at least as wide as the
    row interval, and the exact test counts pairs, not rows."""
    rng = np.random.default_rng(9)
    half_a = (rng.random(40) < 0.7).astype(int)
    half_b = (rng.random(40) < 0.75).astype(int)
    a, b = np.repeat(half_a, 2), np.repeat(half_b, 2)  # rows 2j and 2j+1 are twins
    pairs = [f"p{i // 2}" for i in range(80)]
    rows = paired_stats(a, b, n_boot=500)
    clus = paired_stats(a, b, n_boot=500, clusters=pairs)
    assert clus.clusters == 40 and rows.clusters == 80 and clus.diff == rows.diff
    assert (clus.diff_high - clus.diff_low) >= (rows.diff_high - rows.diff_low)
    _, lo_r, hi_r = bootstrap_interval(a, n_boot=500)
    _, lo_c, hi_c = bootstrap_interval(a, n_boot=500, clusters=pairs)
    assert hi_c - lo_c >= hi_r - lo_r
    # 4 twin pairs B-only: 8 rows look like p = 0.008, but it is 4 pairs, p = 0.125
    a, b = discordant(40, 8, 0)
    pairs = [f"p{i // 2}" for i in range(40)]
    assert paired_stats(a, b, n_boot=500).verdict == BETTER
    st = paired_stats(a, b, n_boot=500, clusters=pairs)
    assert st.test == CLUSTER_SIGN and (st.test_b_wins, st.test_a_wins) == (4, 0) and st.test_p == pytest.approx(0.125)
    assert st.mcnemar_p == pytest.approx(2 * 0.5 ** 8) and st.verdict == NO_CHANGE


def test_clusters_default_and_missing_ids() -> None:
    """No clusters = rows (same numbers as before); rows without an id stand alone; a wrong length is an error."""
    a, b = discordant(30, 6, 1)
    plain = paired_stats(a, b, n_boot=500)
    assert paired_stats(a, b, n_boot=500, clusters=[None] * 30).model_dump() == plain.model_dump()
    assert paired_stats(a, b, n_boot=500, clusters=[f"x{i}" for i in range(30)]).model_dump() == plain.model_dump()
    assert paired_stats(a, b, n_boot=500, clusters=["p0", "p0"] + [None] * 28).clusters == 29
    with pytest.raises(ValueError):
        paired_stats(a, b, clusters=["p0"])


def test_holm() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # monotone: never below a smaller p's adjustment
    assert holm([0.2, 0.01]) == pytest.approx([0.2, 0.02])
    assert holm([]) == []


def _record(key: str, spec: RunSpec, sets: dict[str, TextSet], correct: dict[str, np.ndarray], sel: float) -> RunRecord:
    ev = {}
    for name, ts in sets.items():
        ok = correct[name]
        p = [0.9 if (y == 0) == bool(c) else 0.1 for y, c in zip(ts.labels, ok)]
        ev[name] = {"sha256": "x", "p_negative": p}
    return RunRecord.model_validate({
        "key": key, "run": spec.run, "seed": spec.seed, "mix": spec.mix, "fingerprint": "f", "checkpoint": f"/ckpt/{key}",
        "best_epoch": 1, "best_val_loss": sel, "history": [{"epoch": 1, "train_loss": 0.5, "val_loss": sel}],
        "train_seconds": 1.0, "train_examples_per_s": 10.0, "device": "cpu", "stopped_early": False,
        "n_train": 10, "n_synthetic": 0 if spec.run == "A" else 5, "eval": ev, "elapsed_s": 1.0,
        "selection": {"imdb_validation": sel, "synthetic_validation": sel, "selection": sel}})


def planted_results() -> CompareResults:
    """build_results on planted runs: 3 seeds, mixes 0.1 and 0.3 (0.3 has the lower selection loss); IMDB
    test without an effect, the synthetic test set (twins, devices) planted better under B."""
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
    fp = Fingerprints(sarcgen_version="0", model=ModelFingerprint(name="m", path="m", weights_sha256=None),
                      synthetic_source="planted.jsonl", synthetic_sha256=None, synthetic_rows_sha256={}, imdb_source="planted",
                      imdb_train_ids_sha256="x", imdb_validation_ids_sha256="x", imdb_test_ids_sha256="x")
    empty_balance = ClassBalance(n=0, negative=0, positive=0, class_ratio=1.0, kinds={}, devices={}, pairs=0)
    return build_results(data, settings, specs, records, fp, Balance(split=empty_balance, mixes={}))


def test_build_results_on_planted_runs() -> None:
    """Through the whole analysis: verdicts per set, the mix chosen by selection loss, pairs, flips, slices."""
    n = 400
    res = planted_results()
    assert res.chosen_mix == "0.3" and set(res.mixes) == {"0.1", "0.3"}
    chosen = res.mixes["0.3"]
    assert chosen.sets["synthetic_test"].verdict == BETTER
    assert chosen.sets["synthetic_test"].seeds == 3
    assert chosen.sets["imdb_test"].verdict == NO_CHANGE
    assert {"synthetic_test: sarcastic negatives", "synthetic_test: sincere positives"} <= set(chosen.groups)
    assert chosen.pairs["synthetic_test"].n == n // 2
    assert set(chosen.slices["synthetic_test"]["device"]) == {"irony", "deadpan", "sincere"}
    # the synthetic set has pair_ids: its bootstrap resamples pairs, its test counts them
    assert chosen.sets["synthetic_test"].clusters == n // 2 and chosen.sets["imdb_test"].clusters == n
    assert chosen.sets["synthetic_test"].test == CLUSTER_SIGN
    sl = chosen.slices["synthetic_test"]["device"]["irony"]
    assert sl.exploratory and sl.family_size == 3 and sl.holm_p >= sl.test_p
    assert res.flips and {f.change for f in res.flips} == {"fixed", "broken"}
    assert len(res.seed_sentences) == 3 and len(res.seed_sentences[0].A) == 3
    assert res.first_keys == {"A": "A-seed42", "B": "B-seed42-mix0.3"}
    # the built-in second metric: B is surer of the right class on the synthetic set, by the same rule
    assert chosen.metrics["p_true"]["synthetic_test"].verdict == BETTER


def test_a_metric_registered_by_a_test_gets_its_paired_interval() -> None:
    """Adding a metric is one class and one registration: build_results gives it a paired interval per set
    and a mean per run, and results.json carries it under its name."""
    from sarcgen.finetune import metrics

    class WrongNegatives(metrics.Metric):
        """1 for each example that is not a negative review called positive."""

        name = "no_missed_negatives"
        title = "negatives not missed"

        def per_example(self, p_negative: list[float], labels: list[int]) -> list[float]:
            return [0.0 if y == 0 and p < 0.5 else 1.0 for p, y in zip(p_negative, labels)]

    metrics.register(WrongNegatives())
    try:
        with pytest.raises(ValueError, match="already registered"):
            metrics.register(WrongNegatives())
        res = planted_results()
    finally:
        del metrics.METRICS[WrongNegatives.name]  # registered for this test only
    st = res.mixes["0.3"].metrics["no_missed_negatives"]["synthetic_test"]
    assert st.n == 400 and st.diff_low <= st.diff <= st.diff_high and st.a_low <= st.a <= st.a_high
    assert st.test == CLUSTER_SIGN and res.mixes["0.3"].metrics["no_missed_negatives"]["imdb_test"].test == MCNEMAR  # 0/1
    assert "imdb_test.no_missed_negatives" in res.aggregate["A"]
    assert "no_missed_negatives" in res.runs[0].A.metrics["imdb_test"].scores()
    saved = res.model_dump(mode="json")
    assert saved["mixes"]["0.3"]["metrics"]["no_missed_negatives"]["synthetic_test"]["diff_high"] == st.diff_high


def _st(**kw: float) -> SliceStats:
    base = paired_stats(*discordant(40, 6, 2), n_boot=200).model_dump()
    return SliceStats(**{**base, **kw})


def test_report_words_verdicts() -> None:
    """The report states the two-part rule, shows 'no discordant pairs' instead of a zero-width interval,
    and marks slice verdicts exploratory with their Holm p."""
    from sarcgen.finetune import report

    same = paired_stats(*discordant(40, 0, 0), n_boot=200)
    assert report._ci(same, "diff") == NO_DISCORDANT and "+0.0 [+0.0, +0.0]" not in report.stats_row("x", same)
    assert "[" in report._ci(_st(family_size=2, holm_p=0.4), "diff")
    clustered = paired_stats(*discordant(40, 8, 0), n_boot=200, clusters=[f"p{i // 2}" for i in range(40)])
    assert "by cluster 0.125 (4 / 0 of 20 clusters)" in report.stats_row("x", clustered)
    results = planted_results()
    selection = results.mixes["0.1"].selection
    results.mixes = {"0.1": MixComparison(selection=selection, sets={"s": same}, groups={}, pairs={}, n_synthetic=[5],
                                          slices={"s": {"device": {"irony": _st(family_size=2, holm_p=0.4),
                                                                   "deadpan": _st(family_size=2, holm_p=0.4)}}})}
    results.chosen_mix, results.seeds, results.settings = "0.1", [1], FinetuneSettings(bootstrap=200)
    head = "\n".join(report.headline(results))
    assert "exact paired test" in head and "McNemar" in head and "95% bootstrap intervals" in head
    assert "| **s** | 40 |" in head and NO_DISCORDANT in head
    sl = "\n".join(report.pairs_and_slices(results))
    assert "Exploratory, not corrected for the 2 slices" in sl and "(exploratory; Holm p 0.4 over 2 slices)" in sl
