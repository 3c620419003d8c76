"""The runs of a comparison, each resumable: (A | B, seed, mix) -> one completion record.

A comparison is a list of runs: A (IMDB only) once per seed, B (IMDB + synthetic) once per seed
and mix. Each finished run writes `runs/<key>.json` (atomically, after its checkpoint): training
history, selection losses and every evaluation example's P(negative). Completion is *recorded*,
never inferred from a checkpoint folder, so a run killed mid-epoch is simply redone, and a rerun
after a crash or Ctrl-C reuses every finished run whose inputs are unchanged.

Each record carries the fingerprint of what shaped the training (model, IMDB sample ids,
synthetic rows, settings, seed, mix); a record with another fingerprint is refused with a message,
never silently overwritten. Evaluation sets are fingerprinted one by one: a new or changed
`--challenge` file is evaluated from the saved checkpoint without retraining.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from sarcgen.errors import InputError, first_problem
from sarcgen.finetune.data import TextSet
from sarcgen.jsonl import read_text, write_json
from sarcgen.recipe import FinetuneSettings
from sarcgen.runfolder import file_sha256

RUNS_DIR = "runs"
CHECKPOINTS_DIR = "checkpoints"
LOCK_FILE = ".compare.lock"
# The settings that shape what a run trains (an allowlist: a new report-only setting must not
# invalidate finished runs). The seed and mix of a run are part of its spec.
TRAINING_KEYS = ("base_model", "base_data", "hub_dataset", "n_train", "n_validation", "epochs", "patience",
                 "learning_rate", "warmup_ratio", "weight_decay", "batch_size", "max_length", "seed", "attention_dropout")


@dataclass(frozen=True)
class RunSpec:
    """One training run of the comparison."""

    run: str  # "A" or "B"
    seed: int
    mix: float | None = None  # B only: synthetic rows per IMDB row (None: the whole split once)

    @property
    def key(self) -> str:
        if self.run == "A":
            return f"A-seed{self.seed}"
        return f"B-seed{self.seed}" + ("" if self.mix is None else f"-mix{mix_label(self.mix)}")


def mix_label(mix: float | None) -> str:
    """How a mix is written in run keys and reports: 0.1, 0.25, or 'all'."""
    return "all" if mix is None else f"{mix:g}"


def plan_runs(first_seed: int, seeds: int, mixes: list[float | None]) -> list[RunSpec]:
    """Seed-major order (A, then B for every mix, then the next seed): a partial comparison has
    every mix of its first seeds, which is what a short interrupted run can already report."""
    out = []
    for k in range(seeds):
        out.append(RunSpec("A", first_seed + k))
        out += [RunSpec("B", first_seed + k, m) for m in mixes]
    return out


# --------------------------------------------------------------------------------- fingerprints
def sha256_text(parts: list[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def textset_sha256(ts: TextSet) -> str:
    """Content hash of a set: texts and labels in order."""
    return sha256_text([f"{y}\t{t}" for t, y in zip(ts.texts, ts.labels)])


def sample_ids_sha256(ts: TextSet) -> str:
    """Hash of the pool row ids of a sampled set (`id` in its meta, else its content)."""
    ids = [str(m.get("id")) for m in ts.meta] if ts.meta and all("id" in m for m in ts.meta) else None
    return sha256_text(ids) if ids else textset_sha256(ts)


class Record(BaseModel):
    """A JSON file finetune-compare writes and reads back (a run's record, results.json): every
    field named and typed, an unknown one refused. NaN and infinity are allowed (the statistics of
    an empty set, the class ratio of a one-class split), as the JSON files have always held them."""

    model_config = ConfigDict(extra="forbid")


class ModelFingerprint(Record):
    """The base model: its name, resolved path and the sha256 of its weights when they are local."""

    name: str
    path: str
    weights_sha256: str | None


class Fingerprints(Record):
    """What the numbers depend on (results.json's `fingerprints`); its model and IMDB sample ids and
    synthetic rows also key every run (`training_fingerprint`)."""

    sarcgen_version: str
    model: ModelFingerprint
    synthetic_source: str
    synthetic_sha256: str | None  # rf.fingerprint of what was read (a run folder: RUN/dataset); None for a Hub id
    synthetic_rows_sha256: dict[str, str]
    imdb_source: str
    imdb_pool_removed: dict[str, int] | None = None  # None: results from an sarcgen before the clean pool
    imdb_train_ids_sha256: str
    imdb_validation_ids_sha256: str
    imdb_test_ids_sha256: str
    eval_sets_sha256: dict[str, str] = {}


def model_fingerprint(name: str) -> ModelFingerprint:
    """The model name, its resolved path and the sha256 of its weights when they are local."""
    from sarcgen.finetune.model import resolve_model_path

    path = Path(resolve_model_path(name))
    weights = [path / f for f in ("model.safetensors", "pytorch_model.bin") if (path / f).is_file()] if path.is_dir() else []
    return ModelFingerprint(name=name, path=str(path), weights_sha256=file_sha256(weights[0]) if weights else None)


def training_fingerprint(spec: RunSpec, settings: FinetuneSettings, inputs: Fingerprints) -> str:
    """What makes two runs the same run: settings that train, seed, mix and the input hashes."""
    dumped = settings.model_dump(mode="json")
    train_settings = {k: dumped.get(k) for k in TRAINING_KEYS}
    if settings.freeze_encoder:  # only when on, so full fine-tunes keep their fingerprints
        train_settings["freeze_encoder"] = True
    key = {"run": spec.run, "seed": spec.seed, "mix": spec.mix, "settings": train_settings,
           "model": inputs.model.model_dump(mode="json"), "imdb_train": inputs.imdb_train_ids_sha256,
           "imdb_validation": inputs.imdb_validation_ids_sha256}
    if spec.run == "B":
        key["synthetic"] = inputs.synthetic_rows_sha256
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class SelectionLosses(Record):
    """One run's validation losses: the IMDB one picks the mix, the synthetic one breaks ties."""

    imdb_validation: float
    synthetic_validation: float | None
    selection: float


class EvalScores(Record):
    """One evaluation set under one run: the set's content hash and every example's P(negative)."""

    sha256: str
    p_negative: list[float]


class RunInfo(Record):
    """What a finished run was and how its training went (`TrainResult`), as its record and results.json hold it."""

    key: str
    run: str  # "A" or "B"
    seed: int
    mix: float | None
    fingerprint: str
    checkpoint: str
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, int | float]]  # per epoch: epoch, train_loss, val_loss (and accuracies, full fine-tune)
    train_seconds: float
    train_examples_per_s: float
    device: str
    stopped_early: bool
    n_train: int
    n_synthetic: int
    selection: SelectionLosses
    elapsed_s: float


class RunRecord(RunInfo):
    """`runs/<key>.json`: a finished run and its P(negative) on every evaluation set."""

    eval: dict[str, EvalScores]


# ------------------------------------------------------------------------------------- records
@contextmanager
def compare_lock(out_dir: Path) -> Iterator[None]:
    """An exclusive lock on the comparison folder: two comparisons never write into one folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fh = (out_dir / LOCK_FILE).open("a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise InputError(f"{out_dir}: another finetune-compare is writing into this folder",
                         "wait for it to finish, or pass another --out") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def record_path(out_dir: Path, spec: RunSpec) -> Path:
    return out_dir / RUNS_DIR / f"{spec.key}.json"


def load_record(out_dir: Path, spec: RunSpec, fingerprint: str, *, replace_stale: bool = False) -> RunRecord | None:
    """The finished record of `spec`, None when it has not finished; refuses another fingerprint
    (or, with `replace_stale`, treats that run as unfinished, to be trained again)."""
    path = record_path(out_dir, spec)
    if not path.is_file():
        return None
    try:
        rec = json.loads(read_text(path))
    except json.JSONDecodeError:
        return None  # a torn write cannot happen (atomic rename), but a hand-edited file may: redo it
    if not isinstance(rec, dict) or rec.get("fingerprint") != fingerprint:
        if replace_stale:
            return None
        raise InputError(
            f"{path}: run {spec.key} was trained with other inputs or settings (fingerprint differs)",
            "rerun with the same settings and data to resume, or pass another --out for a new comparison")
    try:
        return RunRecord.model_validate(rec)
    except ValidationError as exc:
        raise InputError(f"{path}: not a run record of this sarcgen ({first_problem(exc)})",
                         "delete the file to train that run again") from None


def save_record(out_dir: Path, spec: RunSpec, record: RunRecord) -> Path:
    """Write the completion record atomically and durably (temp file, fsync, rename)."""
    path = record_path(out_dir, spec)
    write_json(path, record.model_dump(mode="json"), durable=True)
    return path
