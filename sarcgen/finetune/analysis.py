"""From finished runs to results: metrics, intervals, slices, contrast pairs, flips, the chosen mix.

Every number is computed from the runs' stored P(negative) per example (`runs/<key>.json`), so the
analysis is cheap, deterministic (seeded bootstrap) and reruns after every resume. A prediction is
Negative when P(negative) >= 0.5; across seeds, an example's prediction is that of the mean
P(negative) (which is what the per-example tables and the flip list show). Every registered
metric (`sarcgen.finetune.metrics`) gets its paired interval; accuracy, the first, also per group,
contrast pair and slice. The result is one typed `CompareResults` (`sarcgen.finetune.results`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from sarcgen.finetune.data import BaseSplits, TextSet, present
from sarcgen.finetune.metrics import METRICS, PRIMARY, Metric, predictions
from sarcgen.finetune.results import (
    Balance,
    ChallengePrediction,
    ChallengeRow,
    CompareResults,
    Flip,
    MixComparison,
    Prediction,
    RunSummary,
    SeedRun,
    SeedSentence,
    SelectionSummary,
    SetMetrics,
    Spread,
)
from sarcgen.finetune.runs import Fingerprints, RunRecord, RunSpec, mix_label
from sarcgen.finetune.stats import PairedStats, SliceStats, holm, paired_stats
from sarcgen.recipe import FinetuneSettings


class ComparedData(Protocol):
    """What the analysis reads of the comparison's inputs (`sarcgen.finetune.compare.CompareData`,
    whose module imports this one)."""

    base: BaseSplits
    synthetic: dict[str, TextSet]
    challenges: list[TextSet]
    synthetic_source: str

    def eval_sets(self) -> dict[str, TextSet]: ...


SLICE_COLUMNS = ("device", "aspect", "genre", "length")
LABEL_WORDS = {0: "negatives", 1: "positives"}
# How corpora spell the two groups (an ironic/regular corpus reads as sarcastic/sincere).
GROUP_SYNONYMS = {"ironic": "sarcastic", "irony": "sarcastic", "sarcasm": "sarcastic",
                  "regular": "sincere", "literal": "sincere", "plain": "sincere", "non-sarcastic": "sincere"}


def group_of(meta: Mapping[str, object]) -> str | None:
    """'sarcastic' / 'sincere' for an example, when the set says so (kind column or sarcastic flag)."""
    kind = meta.get("kind")
    if isinstance(kind, str) and kind.strip():
        return GROUP_SYNONYMS.get(kind.strip().lower(), kind.strip().lower())
    sarcastic = meta.get("sarcastic")
    if not present(sarcastic):
        return None
    if isinstance(sarcastic, str):
        sarcastic = sarcastic.strip().lower() in ("1", "true", "yes", "sarcastic", "ironic", "irony")
    return "sarcastic" if bool(sarcastic) else "sincere"


def _mean(xs: list[float]) -> float:
    return sum(xs) / max(len(xs), 1)


def classification_metrics(labels: list[int], p_negative: list[float], meta: Sequence[Mapping[str, object]] | None = None,
                           keep_predictions: bool = False) -> SetMetrics:
    """Every registered metric's mean (accuracy first), F1 (positive class) and macro F1; accuracy per
    group (sarcastic / sincere) when known."""
    preds = predictions(p_negative)

    def f1(cls: int) -> float:
        tp = sum(1 for p, y in zip(preds, labels) if p == cls and y == cls)
        fp = sum(1 for p, y in zip(preds, labels) if p == cls and y != cls)
        fn = sum(1 for p, y in zip(preds, labels) if p != cls and y == cls)
        return 2 * tp / max(2 * tp + fp + fn, 1)

    means = {name: _mean(m.per_example(p_negative, labels)) for name, m in METRICS.items()}
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(meta or []):
        g = group_of(m)
        if g:
            groups.setdefault(g, []).append(i)
    per_group: dict[str, int | float] = {}
    for g, idx in sorted(groups.items()):
        per_group[f"{g}_accuracy"] = sum(int(preds[i] == labels[i]) for i in idx) / len(idx)
        per_group[f"{g}_n"] = len(idx)
    kept = [Prediction(pred=p, p_negative=q) for p, q in zip(preds, p_negative)] if keep_predictions else None
    return SetMetrics.model_validate({"n": len(labels), **means, "f1": f1(1), "f1_macro": (f1(0) + f1(1)) / 2,
                                      **per_group, "predictions": kept})


def aggregate(runs: list[SeedRun]) -> dict[str, dict[str, Spread]]:
    """Mean, sample standard deviation and values over seeds, per run and metric ("<set>.<metric>")."""
    agg: dict[str, dict[str, Spread]] = {}
    for r in ("A", "B"):
        flats = [{f"{name}.{k}": v for name, m in seed_run.of(r).metrics.items() for k, v in m.scores().items()}
                 for seed_run in runs]
        agg[r] = {}
        for key in flats[0]:
            vals = [f[key] for f in flats if key in f]
            agg[r][key] = Spread(mean=statistics.fmean(vals), std=statistics.stdev(vals) if len(vals) > 1 else 0.0, values=vals)
    return agg


# ------------------------------------------------------------------------------------ matrices
def scores(records: list[RunRecord], name: str, ts: TextSet, metric: Metric) -> np.ndarray:
    """(seeds, n) matrix: run k's score on example i (for accuracy 1 when it got it right)."""
    return np.asarray([metric.per_example(rec.eval[name].p_negative, ts.labels) for rec in records], dtype=np.float64)


def mean_p(records: list[RunRecord], name: str) -> np.ndarray:
    return np.asarray([rec.eval[name].p_negative for rec in records], dtype=np.float64).mean(axis=0)


def subsets(ts: TextSet) -> dict[str, list[int]]:
    """Named groups of rows: 'sarcastic negatives', 'sincere positives', ... (group x label)."""
    out: dict[str, list[int]] = {}
    for i, m in enumerate(ts.meta or []):
        g = group_of(m)
        if g:
            out.setdefault(f"{g} {LABEL_WORDS[ts.labels[i]]}", []).append(i)
    return dict(sorted(out.items()))


def pair_groups(ts: TextSet) -> list[list[int]]:
    """Contrast pairs: rows sharing a pair_id whose labels include both classes."""
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(ts.meta or []):
        pid = m.get("pair_id")
        if isinstance(pid, str) and pid:
            groups.setdefault(pid, []).append(i)
    return [g for _, g in sorted(groups.items()) if len({ts.labels[i] for i in g}) == 2]


def cluster_ids(ts: TextSet) -> list[str | None] | None:
    """Per row its resampling cluster (the pair_id: a sarcastic review and its twin, a challenge cue); None: its own.

    None for a set without any pair_id, so its bootstrap is the plain example bootstrap."""
    ids: list[str | None] = []
    for m in ts.meta or []:
        pid = m.get("pair_id")
        ids.append(str(pid).strip() or None if present(pid) else None)
    return ids if len(ids) == len(ts.labels) and any(ids) else None


def slice_values(ts: TextSet) -> dict[str, dict[str, list[int]]]:
    """{column: {value: rows}} for slice columns with at least two values."""
    out: dict[str, dict[str, list[int]]] = {}
    for col in SLICE_COLUMNS:
        vals: dict[str, list[int]] = {}
        for i, m in enumerate(ts.meta or []):
            v = m.get(col)
            if present(v):
                vals.setdefault(str(v), []).append(i)
        if len(vals) >= 2:
            out[col] = dict(sorted(vals.items()))
    return out


# ------------------------------------------------------------------------------------ per mix
def mark_exploratory(slices: dict[str, dict[str, PairedStats]]) -> dict[str, dict[str, SliceStats]]:
    """Slice verdicts are exploratory: each slice is tested alone at alpha, uncorrected. Each slice's stats
    get `exploratory`, `family_size` (the slices of its set, all columns) and `holm_p` (its exact test's
    p, Holm-adjusted over that family) so the report can say how many were looked at."""
    family = [st for values in slices.values() for st in values.values()]
    adjusted = iter(holm([st.test_p for st in family]))
    return {col: {v: SliceStats(**st.model_dump(), family_size=len(family), holm_p=next(adjusted)) for v, st in values.items()}
            for col, values in slices.items()}


def compare_mix(sets: dict[str, TextSet], a_recs: list[RunRecord], b_recs: list[RunRecord], n_boot: int) -> MixComparison:
    """Statistics of B (at one mix) against A on every set, its groups, pairs and slices, and every
    other registered metric per set."""
    out = MixComparison(selection=selection_summary(b_recs), sets={}, groups={}, pairs={}, slices={},
                        n_synthetic=[r.n_synthetic for r in b_recs])
    for name, ts in sets.items():
        ca, cb = scores(a_recs, name, ts, METRICS[PRIMARY]), scores(b_recs, name, ts, METRICS[PRIMARY])
        cl = cluster_ids(ts)

        def sub(idx: list[int], cl: list[str | None] | None = cl) -> list[str | None] | None:
            return None if cl is None else [cl[i] for i in idx]

        out.sets[name] = paired_stats(ca, cb, n_boot, clusters=cl)
        for g, idx in subsets(ts).items():
            out.groups[f"{name}: {g}"] = paired_stats(ca[:, idx], cb[:, idx], n_boot, clusters=sub(idx))
        pairs = pair_groups(ts)
        if pairs:
            both_a = np.stack([ca[:, g].min(axis=1) for g in pairs], axis=1)
            both_b = np.stack([cb[:, g].min(axis=1) for g in pairs], axis=1)
            out.pairs[name] = paired_stats(both_a, both_b, n_boot)
        sl = {col: {v: paired_stats(ca[:, idx], cb[:, idx], n_boot, clusters=sub(idx)) for v, idx in values.items()}
              for col, values in slice_values(ts).items()}
        if sl:
            out.slices[name] = mark_exploratory(sl)
        for metric in METRICS.values():
            if metric.name != PRIMARY:
                out.metrics.setdefault(metric.name, {})[name] = paired_stats(
                    scores(a_recs, name, ts, metric), scores(b_recs, name, ts, metric), n_boot, clusters=cl)
    return out


TIE = 1e-3  # IMDB validation losses closer than this are a tie, broken by the synthetic validation loss


def choose_mix(selections: dict[str, SelectionSummary]) -> str:
    """The mix with the lowest IMDB validation loss (mean over seeds); within `TIE` of it, the one with
    the lowest synthetic validation loss. The synthetic loss never outweighs the IMDB one."""
    best = min(sel.selection for sel in selections.values())
    tied = [m for m, sel in selections.items() if sel.selection <= best + TIE]
    order = list(selections)
    return min(tied, key=lambda m: (selections[m].synthetic_validation or float("inf"), order.index(m)))


def selection_summary(records: list[RunRecord]) -> SelectionSummary:
    """Mean over seeds of each selection loss."""
    syn = [r.selection.synthetic_validation for r in records if r.selection.synthetic_validation is not None]
    return SelectionSummary(imdb_validation=statistics.fmean(r.selection.imdb_validation for r in records),
                            synthetic_validation=statistics.fmean(syn) if syn else None,
                            selection=statistics.fmean(r.selection.selection for r in records),
                            per_seed=[r.selection.selection for r in records])


def flips(sets: dict[str, TextSet], a_recs: list[RunRecord], b_recs: list[RunRecord]) -> list[Flip]:
    """Every example whose (seed-mean) prediction went from wrong to right ('fixed') or back ('broken')."""
    rows: list[Flip] = []
    for name, ts in sets.items():
        pa, pb = mean_p(a_recs, name), mean_p(b_recs, name)
        pred_a, pred_b = predictions(pa.tolist()), predictions(pb.tolist())
        for i, y in enumerate(ts.labels):
            ok_a, ok_b = pred_a[i] == y, pred_b[i] == y
            if ok_a != ok_b:
                rows.append(Flip(set=name, index=i, text=ts.texts[i], label=y, kind=group_of(ts.meta[i]) if ts.meta else None,
                                 p_negative_A=float(pa[i]), p_negative_B=float(pb[i]), change="fixed" if ok_b else "broken"))
    rows.sort(key=lambda r: (r.set, r.change, -abs(r.p_negative_B - r.p_negative_A)))
    return rows


# ------------------------------------------------------------------------------- legacy tables
def legacy_runs(sets: dict[str, TextSet], a_recs: list[RunRecord], b_recs: list[RunRecord]) -> list[SeedRun]:
    """Per seed, A and B (one mix) with metrics per set: the shape the loss plot and summaries read."""
    def summary(rec: RunRecord) -> RunSummary:
        metrics = {name: classification_metrics(ts.labels, rec.eval[name].p_negative, ts.meta,
                                                keep_predictions=name not in ("imdb_test", "synthetic_test"))
                   for name, ts in sets.items()}
        return RunSummary.model_validate({**rec.model_dump(exclude={"eval"}), "metrics": metrics})

    return [SeedRun(seed=ra.seed, A=summary(ra), B=summary(rb)) for ra, rb in zip(a_recs, b_recs)]


def challenge_table(challenges: list[TextSet], a_recs: list[RunRecord], b_recs: list[RunRecord]) -> list[ChallengeRow]:
    """One row per challenge example: text, label, kind, and per run the mean P(negative) over seeds.
    The boundary pairs (490 full reviews) are left out: their numbers are in the sets and pairs tables."""
    def under(recs: list[RunRecord], name: str, i: int) -> ChallengePrediction:
        ps = [rec.eval[name].p_negative[i] for rec in recs]
        p = statistics.fmean(ps)
        return ChallengePrediction(p_negative=p, p_negative_std=statistics.stdev(ps) if len(ps) > 1 else 0.0,
                                   pred=predictions([p])[0])

    return [ChallengeRow(set=ch.name, text=text, label=ch.labels[i], kind=group_of(ch.meta[i]) if ch.meta else None,
                         A=under(a_recs, ch.name, i), B=under(b_recs, ch.name, i))
            for ch in challenges if ch.name != "boundary" for i, text in enumerate(ch.texts)]


def seed_sentences(data: ComparedData, a_recs: list[RunRecord], b_by_mix: dict[str, list[RunRecord]]) -> list[SeedSentence]:
    """The seed's three sentences: P(negative) under A and under B at every mix (mean and per seed)."""
    from sarcgen.challenge import SEED_EXAMPLES

    ch = data.challenges[0]
    rows = []
    for item in SEED_EXAMPLES:
        i = ch.texts.index(item.text)
        rows.append(SeedSentence(text=item.text, label=item.label, A=[rec.eval[ch.name].p_negative[i] for rec in a_recs],
                                 B={m: [rec.eval[ch.name].p_negative[i] for rec in recs] for m, recs in b_by_mix.items()}))
    return rows


# --------------------------------------------------------------------------------------- build
def build_results(data: ComparedData, settings: FinetuneSettings, specs: list[RunSpec], records: dict[str, RunRecord],
                  inputs: Fingerprints, bal: Balance) -> CompareResults:
    """Everything the report shows, for every mix (results.json)."""
    sets = data.eval_sets()
    a_recs = [records[s.key] for s in specs if s.run == "A"]
    b_by_mix: dict[str, list[RunRecord]] = {}
    for s in specs:
        if s.run == "B":
            b_by_mix.setdefault(mix_label(s.mix), []).append(records[s.key])
    mixes = {m: compare_mix(sets, a_recs, recs, settings.bootstrap) for m, recs in b_by_mix.items()}
    chosen = choose_mix({m: mx.selection for m, mx in mixes.items()})
    b_recs = b_by_mix[chosen]
    runs = legacy_runs(sets, a_recs, b_recs)
    return CompareResults(
        settings=settings, fingerprints=inputs, synthetic_source=data.synthetic_source, base_source=data.base.source,
        sizes={"imdb_train": len(data.base.train), "imdb_validation": len(data.base.validation),
               "imdb_test": len(data.base.test), **{f"synthetic_{s}": len(t) for s, t in data.synthetic.items()},
               **{f"challenge:{c.name}": len(c) for c in data.challenges}},
        seeds=[r.seed for r in a_recs], balance=bal, selection_A=selection_summary(a_recs), chosen_mix=chosen,
        mixes=mixes, runs=runs, aggregate=aggregate(runs), challenge_table=challenge_table(data.challenges, a_recs, b_recs),
        flips=flips(sets, a_recs, b_recs), seed_sentences=seed_sentences(data, a_recs, b_by_mix),
        checkpoints={s.key: records[s.key].checkpoint for s in specs}, first_keys={"A": a_recs[0].key, "B": b_recs[0].key},
    )
