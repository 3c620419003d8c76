"""From finished runs to results: metrics, intervals, slices, contrast pairs, flips, the chosen mix.

Every number is computed from the runs' stored P(negative) per example (`runs/<key>.json`), so the
analysis is cheap, deterministic (seeded bootstrap) and reruns after every resume. A prediction is
Negative when P(negative) >= 0.5; across seeds, an example's prediction is that of the mean
P(negative) (which is what the per-example tables and the flip list show).
"""

from __future__ import annotations

import statistics
from typing import Any, Protocol

import numpy as np

from sarcgen.finetune.data import BaseSplits, TextSet, present
from sarcgen.finetune.runs import RunSpec, mix_label
from sarcgen.finetune.stats import holm, paired_stats
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


def group_of(meta: dict[str, Any]) -> str | None:
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


def classification_metrics(labels: list[int], p_negative: list[float], meta: list[dict[str, Any]] | None = None,
                           keep_predictions: bool = False) -> dict[str, Any]:
    """Accuracy, F1 (positive class) and macro F1; accuracy per group (sarcastic / sincere) when known."""
    preds = [0 if p >= 0.5 else 1 for p in p_negative]
    n = len(labels)
    acc = sum(int(p == y) for p, y in zip(preds, labels)) / max(n, 1)

    def f1(cls: int) -> float:
        tp = sum(1 for p, y in zip(preds, labels) if p == cls and y == cls)
        fp = sum(1 for p, y in zip(preds, labels) if p == cls and y != cls)
        fn = sum(1 for p, y in zip(preds, labels) if p != cls and y == cls)
        return 2 * tp / max(2 * tp + fp + fn, 1)

    out: dict[str, Any] = {"n": n, "accuracy": acc, "f1": f1(1), "f1_macro": (f1(0) + f1(1)) / 2}
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(meta or []):
        g = group_of(m)
        if g:
            groups.setdefault(g, []).append(i)
    for g, idx in sorted(groups.items()):
        out[f"{g}_accuracy"] = sum(int(preds[i] == labels[i]) for i in idx) / len(idx)
        out[f"{g}_n"] = len(idx)
    if keep_predictions:
        out["predictions"] = [{"pred": p, "p_negative": q} for p, q in zip(preds, p_negative)]
    return out


def _flatten(metrics: dict[str, Any]) -> dict[str, float]:
    flat = {}
    for set_name, m in metrics.items():
        for k, v in m.items():
            if isinstance(v, float) and not k.endswith("_n"):
                flat[f"{set_name}.{k}"] = v
    return flat


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mean, sample standard deviation and values over seeds, per run and metric."""
    agg: dict[str, dict[str, dict[str, Any]]] = {}
    for r in ("A", "B"):
        flats = [_flatten(seed_run[r]["metrics"]) for seed_run in runs]
        agg[r] = {}
        for key in flats[0]:
            vals = [f[key] for f in flats if key in f]
            agg[r][key] = {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                           "values": vals}
    return agg


# ------------------------------------------------------------------------------------ matrices
def correctness(records: list[dict[str, Any]], name: str, ts: TextSet) -> np.ndarray:
    """(seeds, n) 0/1 matrix: run k got example i right."""
    labels = np.asarray(ts.labels)
    p = np.asarray([rec["eval"][name]["p_negative"] for rec in records], dtype=np.float64)
    return ((p < 0.5).astype(np.int64) == labels[None, :]).astype(np.int64)


def mean_p(records: list[dict[str, Any]], name: str) -> np.ndarray:
    return np.asarray([rec["eval"][name]["p_negative"] for rec in records], dtype=np.float64).mean(axis=0)


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
def mark_exploratory(slices: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Slice verdicts are exploratory: each slice is tested alone at alpha, uncorrected. Each slice's stats
    get `exploratory`, `family_size` (the slices of its set, all columns) and `holm_p` (its exact test's
    p, Holm-adjusted over that family) so the report can say how many were looked at."""
    family = [st for values in slices.values() for st in values.values()]
    for st, p in zip(family, holm([st["test_p"] for st in family])):
        st.update(exploratory=True, family_size=len(family), holm_p=p)


def compare_mix(sets: dict[str, TextSet], a_recs: list[dict[str, Any]], b_recs: list[dict[str, Any]],
                n_boot: int) -> dict[str, Any]:
    """Statistics of B (at one mix) against A on every set, its groups, pairs and slices."""
    out: dict[str, Any] = {"sets": {}, "groups": {}, "pairs": {}, "slices": {}}
    for name, ts in sets.items():
        ca, cb = correctness(a_recs, name, ts), correctness(b_recs, name, ts)
        cl = cluster_ids(ts)

        def sub(idx: list[int], cl: list[str | None] | None = cl) -> list[str | None] | None:
            return None if cl is None else [cl[i] for i in idx]

        out["sets"][name] = paired_stats(ca, cb, n_boot, clusters=cl).to_dict()
        for g, idx in subsets(ts).items():
            out["groups"][f"{name}: {g}"] = paired_stats(ca[:, idx], cb[:, idx], n_boot, clusters=sub(idx)).to_dict()
        pairs = pair_groups(ts)
        if pairs:
            both_a = np.stack([ca[:, g].min(axis=1) for g in pairs], axis=1)
            both_b = np.stack([cb[:, g].min(axis=1) for g in pairs], axis=1)
            out["pairs"][name] = paired_stats(both_a, both_b, n_boot).to_dict()
        sl = {}
        for col, values in slice_values(ts).items():
            sl[col] = {v: paired_stats(ca[:, idx], cb[:, idx], n_boot, clusters=sub(idx)).to_dict() for v, idx in values.items()}
        if sl:
            mark_exploratory(sl)
            out["slices"][name] = sl
    return out


TIE = 1e-3  # IMDB validation losses closer than this are a tie, broken by the synthetic validation loss


def choose_mix(mixes: dict[str, Any]) -> str:
    """The mix with the lowest IMDB validation loss (mean over seeds); within `TIE` of it, the one with
    the lowest synthetic validation loss. The synthetic loss never outweighs the IMDB one."""
    best = min(mixes[m]["selection"]["selection"] for m in mixes)
    tied = [m for m in mixes if mixes[m]["selection"]["selection"] <= best + TIE]
    return min(tied, key=lambda m: (mixes[m]["selection"].get("synthetic_validation") or float("inf"), list(mixes).index(m)))


def selection_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over seeds of each selection loss."""
    out: dict[str, Any] = {}
    for k in ("imdb_validation", "synthetic_validation", "selection"):
        vals = [r["selection"][k] for r in records if r["selection"].get(k) is not None]
        out[k] = statistics.fmean(vals) if vals else None
    out["per_seed"] = [r["selection"]["selection"] for r in records]
    return out


def flips(sets: dict[str, TextSet], a_recs: list[dict[str, Any]], b_recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every example whose (seed-mean) prediction went from wrong to right ('fixed') or back ('broken')."""
    rows: list[dict[str, Any]] = []
    for name, ts in sets.items():
        pa, pb = mean_p(a_recs, name), mean_p(b_recs, name)
        for i, y in enumerate(ts.labels):
            ok_a, ok_b = int(pa[i] < 0.5) == y, int(pb[i] < 0.5) == y
            if ok_a != ok_b:
                rows.append({"set": name, "index": i, "text": ts.texts[i], "label": y,
                             "kind": group_of(ts.meta[i]) if ts.meta else None,
                             "p_negative_A": float(pa[i]), "p_negative_B": float(pb[i]),
                             "change": "fixed" if ok_b else "broken"})
    rows.sort(key=lambda r: (r["set"], r["change"], -abs(r["p_negative_B"] - r["p_negative_A"])))
    return rows


# ------------------------------------------------------------------------------- legacy tables
def legacy_runs(sets: dict[str, TextSet], a_recs: list[dict[str, Any]], b_recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{seed, A: {..., metrics}, B: {...}}] for one mix: the shape the loss plot and summaries read."""
    out = []
    for ra, rb in zip(a_recs, b_recs):
        seed_run: dict[str, Any] = {"seed": ra["seed"]}
        for r, rec in (("A", ra), ("B", rb)):
            metrics = {name: classification_metrics(ts.labels, rec["eval"][name]["p_negative"], ts.meta,
                                                    keep_predictions=name not in ("imdb_test", "synthetic_test"))
                       for name, ts in sets.items()}
            seed_run[r] = {**{k: v for k, v in rec.items() if k != "eval"}, "metrics": metrics}
        out.append(seed_run)
    return out


def challenge_table(challenges: list[TextSet], a_recs: list[dict[str, Any]], b_recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per challenge example: text, label, kind, and per run the mean P(negative) over seeds.
    The boundary pairs (490 full reviews) are left out: their numbers are in the sets and pairs tables."""
    rows = []
    for ch in challenges:
        if ch.name == "boundary":
            continue
        for i, text in enumerate(ch.texts):
            row: dict[str, Any] = {"set": ch.name, "text": text, "label": ch.labels[i],
                                   "kind": group_of(ch.meta[i]) if ch.meta else None}
            for r, recs in (("A", a_recs), ("B", b_recs)):
                ps = [rec["eval"][ch.name]["p_negative"][i] for rec in recs]
                p = statistics.fmean(ps)
                row[r] = {"p_negative": p, "p_negative_std": statistics.stdev(ps) if len(ps) > 1 else 0.0,
                          "pred": 0 if p >= 0.5 else 1}
            rows.append(row)
    return rows


def seed_sentences(data: ComparedData, a_recs: list[dict[str, Any]], b_by_mix: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The seed's three sentences: P(negative) under A and under B at every mix (mean and per seed)."""
    from sarcgen.challenge import SEED_EXAMPLES

    ch = data.challenges[0]
    rows = []
    for item in SEED_EXAMPLES:
        i = ch.texts.index(item.text)
        row: dict[str, Any] = {"text": item.text, "label": item.label,
                               "A": [rec["eval"][ch.name]["p_negative"][i] for rec in a_recs]}
        row["B"] = {m: [rec["eval"][ch.name]["p_negative"][i] for rec in recs] for m, recs in b_by_mix.items()}
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------- build
def build_results(data: ComparedData, settings: FinetuneSettings, specs: list[RunSpec], records: dict[str, dict[str, Any]],
                  inputs: dict[str, Any], bal: dict[str, Any]) -> dict[str, Any]:
    """The results dictionary (results.json): everything the report shows, for every mix."""
    sets = data.eval_sets()
    a_recs = [records[s.key] for s in specs if s.run == "A"]
    b_by_mix: dict[str, list[dict[str, Any]]] = {}
    for s in specs:
        if s.run == "B":
            b_by_mix.setdefault(mix_label(s.mix), []).append(records[s.key])
    mixes = {m: {"selection": selection_summary(recs), **compare_mix(sets, a_recs, recs, settings.bootstrap),
                 "n_synthetic": [r["n_synthetic"] for r in recs]} for m, recs in b_by_mix.items()}
    chosen = choose_mix(mixes)
    b_recs = b_by_mix[chosen]
    runs = legacy_runs(sets, a_recs, b_recs)
    return {
        "settings": settings.model_dump(mode="json"),
        "fingerprints": inputs,
        "synthetic_source": data.synthetic_source,
        "base_source": data.base.source,
        "sizes": {"imdb_train": len(data.base.train), "imdb_validation": len(data.base.validation),
                  "imdb_test": len(data.base.test), **{f"synthetic_{s}": len(t) for s, t in data.synthetic.items()},
                  **{f"challenge:{c.name}": len(c) for c in data.challenges}},
        "seeds": [r["seed"] for r in a_recs],
        "balance": bal,
        "selection_A": selection_summary(a_recs),
        "chosen_mix": chosen,
        "mixes": mixes,
        "runs": runs,
        "aggregate": aggregate(runs),
        "challenge_table": challenge_table(data.challenges, a_recs, b_recs),
        "flips": flips(sets, a_recs, b_recs),
        "seed_sentences": seed_sentences(data, a_recs, b_by_mix),
        "checkpoints": {s.key: records[s.key]["checkpoint"] for s in specs},
        "first_keys": {"A": a_recs[0]["key"], "B": b_recs[0]["key"]},
    }
