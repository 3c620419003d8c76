"""Runs A (IMDB only) and B (IMDB + synthetic), same seeds and settings, then compare.

Both runs early-stop on the same IMDB validation sample, so the only difference between them is
the synthetic training data. The comparison is a list of resumable runs (`sarcgen.finetune.runs`):
A once per seed, B once per seed and mix (`finetune.mix`, synthetic rows per IMDB row). Each run
stores every evaluation example's P(negative); the statistics, slices, flips and the choice of
mix (`sarcgen.finetune.analysis`) are computed from those records, so a rerun after a crash
redoes only the unfinished runs and rebuilds the whole report.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.errors import TrainingError
from sarcgen.finetune.data import BaseSplits, TextSet, load_base_data
from sarcgen.finetune.evalsets import load_challenge_sets
from sarcgen.finetune.report import REPORT_FILES
from sarcgen.finetune.results import Attribution, Balance, CompareResults
from sarcgen.finetune.runs import (
    CHECKPOINTS_DIR,
    EvalScores,
    Fingerprints,
    RunRecord,
    RunSpec,
    SelectionLosses,
    compare_lock,
    load_record,
    mix_label,
    model_fingerprint,
    plan_runs,
    sample_ids_sha256,
    save_record,
    textset_sha256,
    training_fingerprint,
)
from sarcgen.finetune.synthetic_data import (
    balance,
    balance_line,
    load_synthetic_splits,
    sample_synthetic,
    shortfall,
    shortfall_line,
    source_keys,
    synthetic_location,
)
from sarcgen.finetune.train import (
    load_checkpoint,
    predict_logits,
    train_classifier,
)
from sarcgen.jsonl import write_json
from sarcgen.recipe import FinetuneSettings

if TYPE_CHECKING:
    import numpy as np
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from sarcgen.finetune.frozen import FeatureCache

RUNS = ("A", "B")


@dataclass
class CompareData:
    """Everything the runs train and evaluate on, loaded (and validated) before any training."""

    base: BaseSplits
    synthetic: dict[str, TextSet]
    challenges: list[TextSet]
    synthetic_source: str
    _cache: FeatureCache | None = None

    def synthetic_rows(self, mix: float | None, seed: int) -> TextSet:
        """The synthetic rows run B adds at this mix and seed (twins kept together)."""
        return sample_synthetic(self.synthetic["train"], mix, len(self.base.train), seed)

    def train_set(self, spec: RunSpec) -> TextSet:
        if spec.run == "A":
            return self.base.train
        return self.base.train + self.synthetic_rows(spec.mix, spec.seed)

    def feature_cache(self, out: Path, settings: FinetuneSettings) -> FeatureCache:
        """The frozen encoder's feature cache, one per comparison (shared by all its runs)."""
        from sarcgen.finetune.frozen import FeatureCache

        if self._cache is None:
            self._cache = FeatureCache(out / "features", settings.base_model, settings.max_length)
        return self._cache

    def eval_sets(self) -> dict[str, TextSet]:
        sets = {"imdb_test": self.base.test}
        for ch in self.challenges:
            sets[ch.name] = ch
        if len(self.synthetic["test"]):
            sets["synthetic_test"] = self.synthetic["test"]
        return sets


def load_compare_data(settings: FinetuneSettings, synthetic: str, challenge_files: list[str] | tuple[str, ...] = ()) -> CompareData:
    """Load and check every input first, so a bad file fails in seconds, not after an hour of training."""
    challenges = load_challenge_sets(list(settings.challenge) + list(challenge_files), boundary=settings.boundary)
    syn = load_synthetic_splits(synthetic)
    # every evaluation text, and every real review the synthetic data was rewritten from, is taken
    # out of the pool before the samples are drawn
    base = load_base_data(settings.base_data, settings.hub_dataset, settings.n_train, settings.n_validation,
                          settings.n_test, settings.seed, exclude=challenges, sources=source_keys(syn))
    removed = sum(base.removed.values())
    print(f"IMDB pool: removed {removed} text(s) matching evaluation texts before sampling"
          + (f" ({', '.join(f'{k} {v}' for k, v in base.removed.items() if v)})" if removed else ""), file=sys.stderr)
    return CompareData(base, syn, challenges, synthetic)


def synthetic_sha256(source: str) -> str | None:
    """The one fingerprint of the synthetic data: `rf.fingerprint` of the file or folder it was read
    from (a run folder's RUN/dataset, as the manifest records it); None for a Hub id, whose rows are
    fingerprinted by content (`synthetic_rows_sha256`)."""
    path = synthetic_location(source)
    return rf.fingerprint(path) if path is not None else None


def input_fingerprints(data: CompareData, settings: FinetuneSettings, synthetic_fp: str | None) -> Fingerprints:
    """What the numbers depend on, for results.json and for matching finished runs on resume
    (`synthetic_fp`: `synthetic_sha256` of the source, taken once before the data was read)."""
    from sarcgen.version import __version__

    return Fingerprints(
        sarcgen_version=__version__, model=model_fingerprint(settings.base_model), synthetic_source=data.synthetic_source,
        synthetic_sha256=synthetic_fp,
        synthetic_rows_sha256={s: textset_sha256(t) for s, t in data.synthetic.items()},
        imdb_source=data.base.source, imdb_pool_removed=data.base.removed,
        imdb_train_ids_sha256=sample_ids_sha256(data.base.train),
        imdb_validation_ids_sha256=sample_ids_sha256(data.base.validation),
        imdb_test_ids_sha256=sample_ids_sha256(data.base.test),
        eval_sets_sha256={name: textset_sha256(ts) for name, ts in data.eval_sets().items()},
    )


# ------------------------------------------------------------------------------------ one run
Logits = Callable[[TextSet], "np.ndarray"]  # logits (n, 2) of a trained model on a set


def model_logits(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, settings: FinetuneSettings,
                 progress: bool = False) -> Logits:
    """Logits of a whole model, text by text (the full fine-tune path)."""
    def run(ts: TextSet) -> np.ndarray:
        return predict_logits(model, tokenizer, ts.texts, settings.max_length, settings.batch_size * 2,
                              progress=progress and len(ts) > 200, desc=f"eval {ts.name}")
    return run


def p_negative(logits: np.ndarray) -> list[float]:
    """P(negative) per row of logits (rounded to 6 digits to keep records small)."""
    import torch

    return [round(p, 6) for p in torch.softmax(torch.from_numpy(logits), -1)[:, 0].tolist()]


def evaluate_sets(logits_of: Logits, sets: dict[str, TextSet]) -> dict[str, EvalScores]:
    """{set name: its content hash and every example's P(negative)} for every evaluation set."""
    return {name: EvalScores(sha256=textset_sha256(ts), p_negative=p_negative(logits_of(ts))) for name, ts in sets.items()}


def _loss(logits_of: Logits, ts: TextSet) -> float:
    import torch

    return float(torch.nn.functional.cross_entropy(torch.from_numpy(logits_of(ts)), torch.tensor(ts.labels)).item())


def selection_losses(logits_of: Logits, data: CompareData, imdb_loss: float) -> SelectionLosses:
    """What picks the mix: the IMDB validation loss. The synthetic validation loss is recorded and only
    breaks ties (`sarcgen.finetune.analysis.choose_mix`): it is in-distribution for B and falls with
    every synthetic row added, so averaging it in (as before) chose 0.4 while IMDB validation loss
    climbed after 0.1 (README, frozen MiniLM, 5 seeds)."""
    syn_val = data.synthetic["validation"]
    syn_loss = _loss(logits_of, syn_val) if len(syn_val) else None
    return SelectionLosses(imdb_validation=imdb_loss, synthetic_validation=syn_loss, selection=imdb_loss)


def train_run(spec: RunSpec, data: CompareData, settings: FinetuneSettings, out: Path, fingerprint: str,
              num_threads: int | None, progress: bool) -> RunRecord:
    """Train one run, evaluate it on every set and write its completion record."""
    train = data.train_set(spec)
    if progress:
        print(f"== run {spec.key}: {len(train)} train / {len(data.base.validation)} validation", file=sys.stderr)
    t0 = time.perf_counter()
    ckpt = out / CHECKPOINTS_DIR / spec.key
    logits_of: Logits
    if settings.freeze_encoder:
        from sarcgen.finetune.frozen import frozen_logits, train_head

        cache = data.feature_cache(out, settings)
        res = train_head(settings.base_model, train, data.base.validation, settings, ckpt, seed=spec.seed, cache=cache,
                         num_threads=num_threads, tag=spec.key)
        logits_of = frozen_logits(res.model, res.tokenizer, cache)
    else:
        res = train_classifier(settings.base_model, train, data.base.validation, settings, ckpt,
                               seed=spec.seed, num_threads=num_threads, progress=progress, tag=spec.key)
        logits_of = model_logits(res.model, res.tokenizer, settings, progress)
    record = RunRecord.model_validate({
        "key": spec.key, "run": spec.run, "seed": spec.seed, "mix": spec.mix, "fingerprint": fingerprint,
        **res.to_dict(), "n_train": len(train), "n_synthetic": len(train) - len(data.base.train),
        "selection": selection_losses(logits_of, data, res.best_val_loss),
        "eval": evaluate_sets(logits_of, data.eval_sets()),
        "elapsed_s": time.perf_counter() - t0,
    })
    save_record(out, spec, record)
    return record


def refresh_evaluation(record: RunRecord, spec: RunSpec, data: CompareData, settings: FinetuneSettings,
                       out: Path, num_threads: int | None) -> RunRecord:
    """A finished run whose evaluation sets changed (a new --challenge file): evaluate the missing
    or changed sets from its saved checkpoint, without retraining."""
    sets = data.eval_sets()
    stale = {n: ts for n, ts in sets.items() if n not in record.eval or record.eval[n].sha256 != textset_sha256(ts)}
    if not stale:
        return record
    tokenizer, model, _ = load_checkpoint(record.checkpoint, num_threads)
    record.eval.update(evaluate_sets(model_logits(model, tokenizer, settings), stale))
    save_record(out, spec, record)
    return record


# ------------------------------------------------------------------------------------------ run
STAGE = "finetune"


def compare_fingerprint(settings: FinetuneSettings, challenge_files: list[str] | tuple[str, ...] = ()) -> str:
    """The settings hash finetune-compare records: its section and the extra challenge files."""
    return rf.settings_hash({"finetune": settings.model_dump(mode="json"), "challenge_files": list(challenge_files)})


def compare_inputs(synthetic: str) -> tuple[Path, dict[str, str | None]] | None:
    """(run folder, {"dataset": fingerprint of RUN/dataset}) when `synthetic` is a run folder or its
    dataset/ folder: what the comparison read, recorded in the manifest; the same fingerprint as
    results.json's `synthetic_sha256`, whichever of the two paths was given."""
    run = rf.run_folder_of(synthetic)
    if run is None:
        return None
    return run, {rf.DATASET_DIR: rf.fingerprint(run / rf.DATASET_DIR)}


def _record(found: tuple[Path, dict[str, str | None]] | None, out: Path, settings: str) -> None:
    """Record the comparison in the run folder's manifest when it wrote into RUN/finetune."""
    if found is None or out.resolve() != (found[0] / rf.FINETUNE_DIR).resolve():
        return
    rf.record_stage(found[0], STAGE, inputs=found[1], settings=settings,
                    outputs=[f"{rf.FINETUNE_DIR}/{name}" for name in REPORT_FILES])


def synthetic_balance(data: CompareData, settings: FinetuneSettings) -> Balance:
    """Balance of the synthetic train split and of what each mix adds (first seed), printed (to
    stderr, also with --quiet: a warning must be seen) before any training."""
    train, n_base = data.synthetic["train"], len(data.base.train)
    out = Balance(split=balance(train),
                  mixes={mix_label(m): balance(data.synthetic_rows(m, settings.seed)) for m in settings.mixes()},
                  shortfall={mix_label(m): shortfall(train, m, n_base) for m in settings.mixes()})
    print(f"synthetic train split: {balance_line(out.split, settings.balance_warning)}", file=sys.stderr)
    for m, b in out.mixes.items():
        print(f"  run B at mix {m}: {balance_line(b, settings.balance_warning)}", file=sys.stderr)
        if out.shortfall[m]:
            print(f"  run B at mix {m}: {shortfall_line(b.n, out.shortfall[m])}", file=sys.stderr)
    return out


def run_compare(
    settings: FinetuneSettings,
    synthetic: str,
    out_dir: str | Path,
    *,
    challenge_files: list[str] | tuple[str, ...] = (),
    num_threads: int | None = None,
    progress: bool = True,
    attributions: bool = True,
    report_only: bool = False,
    replace_stale: bool = False,
) -> CompareResults:
    """Train (or reuse) every run of the comparison, analyse, write report.md / results.json / PNGs.

    With `report_only`, nothing is trained: the report covers the seeds whose runs (A and B at
    every mix) have all finished, e.g. to look at a long comparison that is still running. With
    `replace_stale`, a finished run whose inputs changed is trained again and its record replaced
    instead of refused (`sarcgen run`, after publish rebuilt the data).
    Returns the results, also written to `out_dir/results.json` (`sarcgen.finetune.results`).
    """
    from sarcgen.finetune.analysis import build_results
    from sarcgen.finetune.report import write_report

    out = Path(out_dir)
    t0 = time.perf_counter()
    found = compare_inputs(synthetic)  # fingerprinted before training: what this comparison saw
    synthetic_fp = found[1][rf.DATASET_DIR] if found is not None else synthetic_sha256(synthetic)
    data = load_compare_data(settings, synthetic, challenge_files)
    specs = plan_runs(settings.seed, settings.seeds, settings.mixes())
    if not specs:  # pragma: no cover - seeds >= 1 is validated by the recipe
        raise TrainingError("no runs were planned (seeds must be >= 1)")
    # A report on a running comparison reads its records without the lock and writes to partial/.
    with nullcontext() if report_only else compare_lock(out):
        if not report_only:
            write_json(out / "settings.json", {
                "finetune": settings.model_dump(mode="json"), "synthetic": synthetic, "base_data": data.base.source,
                "challenge_files": list(settings.challenge) + list(challenge_files)})
        inputs = input_fingerprints(data, settings, synthetic_fp)
        bal = synthetic_balance(data, settings)
        records, reused = collect_runs(specs, data, settings, out, inputs, num_threads=num_threads,
                                       progress=progress, report_only=report_only,
                                       replace_stale=replace_stale)
        if report_only:
            specs = finished_seeds(specs, records, out)
        results = build_results(data, settings, specs, records, inputs, bal)
        results.reused_runs = reused
        results.elapsed_s = time.perf_counter() - t0
        attrib = _attributions(data, settings, results, num_threads) if attributions else None
        report_dir = out / "partial" if report_only else out
        report_dir.mkdir(parents=True, exist_ok=True)
        write_report(report_dir, results, attrib)
    if not report_only:
        _record(found, out, compare_fingerprint(settings, challenge_files))
    return results


def collect_runs(specs: list[RunSpec], data: CompareData, settings: FinetuneSettings, out: Path,
                 inputs: Fingerprints, *, num_threads: int | None, progress: bool,
                 report_only: bool, replace_stale: bool = False) -> tuple[dict[str, RunRecord], list[str]]:
    """({key: record}, keys reused): every finished run reused, every other one trained now (in
    plan order) unless `report_only`."""
    records: dict[str, RunRecord] = {}
    reused: list[str] = []
    for spec in specs:
        fp = training_fingerprint(spec, settings, inputs)
        rec = load_record(out, spec, fp, replace_stale=replace_stale)
        if rec is None and report_only:
            continue
        if rec is None:
            rec = train_run(spec, data, settings, out, fp, num_threads, progress)
        else:
            reused.append(spec.key)
            if progress:
                print(f"== run {spec.key}: finished earlier, reused", file=sys.stderr)
            if not report_only:
                rec = refresh_evaluation(rec, spec, data, settings, out, num_threads)
        records[spec.key] = rec
    return records, reused


def finished_seeds(specs: list[RunSpec], records: dict[str, RunRecord], out: Path) -> list[RunSpec]:
    """The specs of every seed whose runs have all finished (for a report on a running comparison)."""
    done = [s for s in specs if all(x.key in records for x in specs if x.seed == s.seed)]
    if not done:
        raise TrainingError(f"{out}: no seed has finished all of its runs yet",
                            "wait for the first seed's A and B runs, or run without --report-only")
    return done


def _attributions(data: CompareData, settings: FinetuneSettings, results: CompareResults,
                  num_threads: int | None) -> dict[str, list[Attribution]]:
    """Token attributions on the built-in challenge set: A and the chosen mix's B, first seed."""
    from sarcgen.finetune.attribution import token_attributions

    out = {}
    ch = data.challenges[0]
    for r in RUNS:
        tokenizer, model, _ = load_checkpoint(results.checkpoints[results.first_keys[r]], num_threads)
        out[r] = token_attributions(model, tokenizer, ch.texts, settings.max_length)
    return out
