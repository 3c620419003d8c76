"""results.json: the comparison's numbers as one typed object, written and read here only.

`CompareResults` is what `run_compare` returns, what report.md is rendered from and what
`sarcgen.load_results` gives back; `write_results` / `read_results` are the only code that turns it
into results.json and back, so the file's field names (the same since results.json first had
mixes) are defined once, below. A new metric needs no field here: registered metrics land in
`MixComparison.metrics` and in each run's `SetMetrics` (`sarcgen.finetune.metrics`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, SerializerFunctionWrapHandler, ValidationError, model_serializer

from sarcgen.errors import InputError, first_problem
from sarcgen.finetune.runs import Fingerprints, Record, RunInfo
from sarcgen.finetune.stats import PairedStats, SliceStats
from sarcgen.jsonl import read_text, write_json
from sarcgen.recipe import FinetuneSettings

RESULTS_JSON = "results.json"


# ------------------------------------------------------------------------------------ the data
class ClassBalance(Record):
    """Class, sarcastic/sincere and device counts of a synthetic set (`synthetic_data.balance`)."""

    n: int
    negative: int
    positive: int
    class_ratio: float  # larger class over smaller; inf when one class is missing
    kinds: dict[str, int]
    devices: dict[str, int]
    pairs: int


class Balance(Record):
    """The synthetic train split, what each mix adds (first seed), and how many rows each mix lacks."""

    split: ClassBalance
    mixes: dict[str, ClassBalance]
    shortfall: dict[str, int] = {}


class SelectionSummary(Record):
    """Selection losses, mean over seeds (`analysis.selection_summary`), and the selection loss per seed."""

    imdb_validation: float
    synthetic_validation: float | None  # None: no synthetic validation split
    selection: float
    per_seed: list[float]


# ------------------------------------------------------------------------------- per mix
class MixComparison(Record):
    """B at one mix against A: accuracy per set, group, contrast pairs and slice; every other
    registered metric per set (`metrics[name][set]`)."""

    selection: SelectionSummary
    sets: dict[str, PairedStats]
    groups: dict[str, PairedStats]  # "<set>: sarcastic negatives", ...
    pairs: dict[str, PairedStats]  # per set with contrast pairs: both twins right
    slices: dict[str, dict[str, dict[str, SliceStats]]]  # set -> column -> value
    n_synthetic: list[int]  # synthetic rows B trained on, per seed
    metrics: dict[str, dict[str, PairedStats]] = {}


# -------------------------------------------------------------------------------- per run
class Prediction(Record):
    pred: int
    p_negative: float


class SetMetrics(Record):
    """One run on one evaluation set: n, accuracy, F1, macro F1, every registered metric's mean
    (by its name), and per group `<group>_accuracy` / `<group>_n` (sarcastic, sincere), as extra
    fields; the predictions on the small sets."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, int | float]

    n: int
    accuracy: float
    f1: float
    f1_macro: float
    predictions: list[Prediction] | None = None

    @model_serializer(mode="wrap")
    def _predictions_only_when_kept(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        out: dict[str, object] = handler(self)
        if self.predictions is None:
            out.pop("predictions", None)
        return out

    def scores(self) -> dict[str, float]:
        """The metrics that average over seeds (every float, not the counts)."""
        fields = {"accuracy": self.accuracy, "f1": self.f1, "f1_macro": self.f1_macro}
        extra = {k: v for k, v in (self.model_extra or {}).items() if isinstance(v, float) and not k.endswith("_n")}
        return fields | extra


class RunSummary(RunInfo):
    """One run in results.json: its record without the raw P(negative), with metrics per set."""

    metrics: dict[str, SetMetrics]


class SeedRun(Record):
    seed: int
    A: RunSummary
    B: RunSummary  # at the chosen mix

    def of(self, run: str) -> RunSummary:
        """Run "A" or "B" of this seed."""
        return self.A if run == "A" else self.B


class Spread(Record):
    """A metric over seeds: mean, sample standard deviation and the values."""

    mean: float
    std: float
    values: list[float]


# -------------------------------------------------------------------------------- examples
class ChallengePrediction(Record):
    p_negative: float  # mean over seeds
    p_negative_std: float
    pred: int


class ChallengeRow(Record):
    set: str
    text: str
    label: int
    kind: str | None
    A: ChallengePrediction
    B: ChallengePrediction


class Flip(Record):
    """An example whose (seed-mean) prediction went from wrong to right ('fixed') or back ('broken')."""

    set: str
    index: int
    text: str
    label: int
    kind: str | None
    p_negative_A: float
    p_negative_B: float
    change: Literal["fixed", "broken"]


class SeedSentence(Record):
    text: str
    label: int
    A: list[float]  # P(negative) per seed
    B: dict[str, list[float]]  # per mix


class Attribution(Record):
    """Gradient x input of one challenge sentence (`attribution.token_attributions`)."""

    text: str
    tokens: list[str]
    scores: list[float]
    p_negative: float


# -------------------------------------------------------------------------------- the file
class CompareResults(Record):
    """Everything report.md shows, for every mix (results.json)."""

    settings: FinetuneSettings
    fingerprints: Fingerprints
    synthetic_source: str
    base_source: str
    sizes: dict[str, int]
    seeds: list[int]
    balance: Balance
    selection_A: SelectionSummary
    chosen_mix: str
    mixes: dict[str, MixComparison]
    runs: list[SeedRun]
    aggregate: dict[str, dict[str, Spread]]  # run (A, B) -> "<set>.<metric>"
    challenge_table: list[ChallengeRow]
    flips: list[Flip]
    seed_sentences: list[SeedSentence]
    checkpoints: dict[str, str]  # run key -> folder
    first_keys: dict[str, str]  # A / B -> the first seed's run key (B at the chosen mix)
    reused_runs: list[str] = []
    elapsed_s: float = 0.0
    attributions: dict[str, list[Attribution]] | None = None
    files: dict[str, str] = {}


def write_results(path: Path, results: CompareResults) -> None:
    """results.json, atomically."""
    write_json(path, results.model_dump(mode="json"))


def read_results(path: Path) -> CompareResults:
    """A results.json back as `CompareResults`; a bad or older file is one line naming it."""
    hint = "rerun finetune-compare with the same --out (finished runs are reused) to write it again"
    try:
        raw = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})", hint) from None
    try:
        return CompareResults.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{path}: not a results.json of this sarcgen ({first_problem(exc)})", hint) from None
