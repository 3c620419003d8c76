"""Runs A (IMDB only) and B (IMDB + synthetic train split), same seed and settings, then compare.

Both runs early-stop on the same IMDB validation sample, so the only difference between them is
the synthetic training data. With `seeds > 1` both are repeated with seeds seed, seed+1, ... and
the report gives mean and spread: single-seed differences on 25 challenge sentences are noise.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sarcgen import runfolder as rf
from sarcgen.errors import TrainingError
from sarcgen.finetune.data import (
    BaseSplits,
    TextSet,
    load_base_data,
    load_challenge_sets,
)
from sarcgen.finetune.report import REPORT_FILES
from sarcgen.finetune.synthetic_data import load_synthetic_splits
from sarcgen.finetune.train import TrainResult, predict_logits, train_classifier
from sarcgen.jsonl import write_json
from sarcgen.recipe import FinetuneSettings

RUNS = ("A", "B")
RUN_TITLES = {"A": "A: IMDB only", "B": "B: IMDB + synthetic"}


@dataclass
class CompareData:
    """Everything both runs train and evaluate on, loaded (and validated) before any training."""

    base: BaseSplits
    synthetic: dict[str, TextSet]
    challenges: list[TextSet]
    synthetic_source: str

    def train_set(self, run: str) -> TextSet:
        return self.base.train if run == "A" else self.base.train + self.synthetic["train"]

    def eval_sets(self) -> dict[str, TextSet]:
        sets = {"imdb_test": self.base.test}
        for ch in self.challenges:
            sets[ch.name] = ch
        if len(self.synthetic["test"]):
            sets["synthetic_test"] = self.synthetic["test"]
        return sets


def load_compare_data(settings: FinetuneSettings, synthetic: str, challenge_files: list[str] | tuple[str, ...] = ()) -> CompareData:
    """Load and check every input first, so a bad file fails in seconds, not after an hour of training."""
    base = load_base_data(settings.base_data, settings.hub_dataset, settings.n_train, settings.n_validation,
                          settings.n_test, settings.seed)
    syn = load_synthetic_splits(synthetic)
    challenges = load_challenge_sets(list(settings.challenge) + list(challenge_files))
    return CompareData(base, syn, challenges, synthetic)


# ------------------------------------------------------------------------------------- metrics
def _group(meta: dict[str, Any]) -> str | None:
    """'sarcastic' / 'sincere' for an example, when the set says so (kind column or sarcastic flag)."""
    kind = meta.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    sarcastic = meta.get("sarcastic")
    if sarcastic is None or sarcastic != sarcastic:  # None or NaN
        return None
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
        g = _group(m)
        if g:
            groups.setdefault(g, []).append(i)
    for g, idx in sorted(groups.items()):
        out[f"{g}_accuracy"] = sum(int(preds[i] == labels[i]) for i in idx) / len(idx)
        out[f"{g}_n"] = len(idx)
    if keep_predictions:
        out["predictions"] = [{"pred": p, "p_negative": q} for p, q in zip(preds, p_negative)]
    return out


def evaluate(result: TrainResult, sets: dict[str, TextSet], settings: FinetuneSettings, progress: bool = True) -> dict[str, Any]:
    """Metrics of a trained model on every evaluation set (per-example predictions for challenge sets)."""
    import torch

    out = {}
    for name, ts in sets.items():
        logits = predict_logits(result.model, result.tokenizer, ts.texts, settings.max_length, settings.batch_size * 2,
                                progress=progress and len(ts) > 200, desc=f"eval {name}")
        p_neg = torch.softmax(torch.from_numpy(logits), -1)[:, 0].tolist()
        out[name] = classification_metrics(ts.labels, p_neg, ts.meta, keep_predictions=name not in ("imdb_test", "synthetic_test"))
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
    for r in RUNS:
        flats = [_flatten(seed_run[r]["metrics"]) for seed_run in runs]
        agg[r] = {}
        for key in flats[0]:
            vals = [f[key] for f in flats if key in f]
            agg[r][key] = {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                           "values": vals}
    return agg


def challenge_table(data: CompareData, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per challenge example: text, label, kind, and per run the prediction and P(negative)
    (mean over seeds; the prediction is the majority, i.e. mean P(negative) >= 0.5)."""
    rows = []
    for ch in data.challenges:
        for i, text in enumerate(ch.texts):
            row: dict[str, Any] = {"set": ch.name, "text": text, "label": ch.labels[i],
                                   "kind": _group(ch.meta[i]) if ch.meta else None}
            for r in RUNS:
                ps = [seed_run[r]["metrics"][ch.name]["predictions"][i]["p_negative"] for seed_run in runs]
                p = statistics.fmean(ps)
                row[r] = {"p_negative": p, "p_negative_std": statistics.stdev(ps) if len(ps) > 1 else 0.0,
                          "pred": 0 if p >= 0.5 else 1}
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------ run
STAGE = "finetune"


def compare_fingerprint(settings: FinetuneSettings, challenge_files: list[str] | tuple[str, ...] = ()) -> str:
    """The settings hash finetune-compare records: its section and the extra challenge files."""
    return rf.settings_hash({"finetune": settings.model_dump(mode="json"), "challenge_files": list(challenge_files)})


def compare_inputs(synthetic: str) -> tuple[Path, dict[str, str | None]] | None:
    """(run folder, fingerprints of what the comparison reads from it) when `synthetic` is a run
    folder (its records file, split with its recipe's publish section) or a run's dataset/ folder."""
    run = rf.run_folder_of(synthetic)
    if run is None:
        return None
    path = Path(synthetic).expanduser()
    if path.resolve() != run.resolve():
        return run, {rf.DATASET_DIR: rf.fingerprint(path)}
    source, _ = rf.records_file(run)
    split = rf.resolve_recipe(None, run, stage="publish").recipe.publish
    return run, {source.name: rf.fingerprint(source), "publish": rf.settings_hash(split)}


def _record(found: tuple[Path, dict[str, str | None]] | None, out: Path, settings: str) -> None:
    """Record the comparison in the run folder's manifest when it wrote into RUN/finetune."""
    if found is None or out.resolve() != (found[0] / rf.FINETUNE_DIR).resolve():
        return
    rf.record_stage(found[0], STAGE, inputs=found[1], settings=settings,
                    outputs=[f"{rf.FINETUNE_DIR}/{name}" for name in REPORT_FILES])


def compare_complete(out_dir: str | Path) -> bool:
    """Whether `out_dir` holds a finished comparison (for `sarcgen run`, which skips finished stages).

    results.json is written last but one (report.md follows it), so both present means done.
    """
    return all((Path(out_dir) / f).is_file() for f in REPORT_FILES)


def _train_and_evaluate(settings: FinetuneSettings, data: CompareData, out: Path, *, num_threads: int | None,
                        progress: bool, attributions: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Runs A and B for each seed, each evaluated on every set; token attributions on the first seed."""
    sets = data.eval_sets()
    runs: list[dict[str, Any]] = []
    attrib: dict[str, Any] = {}
    for k in range(settings.seeds):
        seed = settings.seed + k
        seed_run: dict[str, Any] = {"seed": seed}
        for r in RUNS:
            train = data.train_set(r)
            if progress:
                print(f"== run {r} seed {seed}: {len(train)} train / {len(data.base.validation)} validation", file=sys.stderr)
            res = train_classifier(settings.base_model, train, data.base.validation, settings,
                                   out / "checkpoints" / f"{r}-seed{seed}", seed=seed, num_threads=num_threads,
                                   progress=progress, tag=f"{r}/seed{seed}")
            metrics = evaluate(res, sets, settings, progress)
            seed_run[r] = {**res.to_dict(), "n_train": len(train), "metrics": metrics}
            if attributions and k == 0:
                from sarcgen.finetune.attribution import token_attributions

                ch = data.challenges[0]
                attrib[r] = token_attributions(res.model, res.tokenizer, ch.texts, settings.max_length)
            res.model = res.tokenizer = None  # free memory before the next run
        runs.append(seed_run)
    return runs, attrib


def run_compare(
    settings: FinetuneSettings,
    synthetic: str,
    out_dir: str | Path,
    *,
    challenge_files: list[str] | tuple[str, ...] = (),
    num_threads: int | None = None,
    progress: bool = True,
    attributions: bool = True,
) -> dict[str, Any]:
    """Train A and B (`settings.seeds` times each), evaluate, write report.md / results.json / PNGs.

    Returns the results dictionary that is also written to `out_dir/results.json`.
    """
    from sarcgen.finetune.report import write_report

    out = Path(out_dir)
    t0 = time.perf_counter()
    found = compare_inputs(synthetic)  # fingerprinted before training: what this comparison saw
    data = load_compare_data(settings, synthetic, challenge_files)
    write_json(out / "settings.json", {
        "finetune": settings.model_dump(mode="json"), "synthetic": synthetic, "base_data": data.base.source,
        "challenge_files": list(settings.challenge) + list(challenge_files)})
    runs, attrib = _train_and_evaluate(settings, data, out, num_threads=num_threads, progress=progress,
                                       attributions=attributions)
    if not runs:
        raise TrainingError("no runs were made (seeds must be >= 1)")
    results = {
        "settings": settings.model_dump(mode="json"),
        "synthetic_source": synthetic,
        "base_source": data.base.source,
        "sizes": {"imdb_train": len(data.base.train), "imdb_validation": len(data.base.validation),
                  "imdb_test": len(data.base.test), **{f"synthetic_{s}": len(t) for s, t in data.synthetic.items()},
                  **{f"challenge:{c.name}": len(c) for c in data.challenges}},
        "seeds": [r["seed"] for r in runs],
        "runs": runs,
        "aggregate": aggregate(runs),
        "challenge_table": challenge_table(data, runs),
        "checkpoints": {f"{r}-seed{x['seed']}": x[r]["checkpoint"] for x in runs for r in RUNS},
        "elapsed_s": time.perf_counter() - t0,
    }
    results["files"] = write_report(out, results, attrib)
    _record(found, out, compare_fingerprint(settings, challenge_files))
    return results
