"""The record every stage passes along: one generated review with its provenance.

Labels follow IMDB: 0 = negative, 1 = positive, and mean the *intended* sentiment. A sarcastic
review that praises on the surface ("Great movie, if you enjoy watching paint dry") is label 0.
Contrast twins are sincere positive reviews (label 1, sarcastic False, device "sincere") that use
the same surface cue and aspect, so a classifier cannot learn "Great" => negative.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SINCERE = "sincere"

LABEL_NAMES: tuple[str, str] = ("negative", "positive")
"""IMDB's label names, indexed by label: 0 = negative, 1 = positive (the one table of them)."""


def label_from_name(value: object) -> int | None:
    """0 or 1 for "negative" / "positive" (any case, surrounding spaces ignored); None otherwise."""
    if isinstance(value, str) and value.strip().lower() in LABEL_NAMES:
        return LABEL_NAMES.index(value.strip().lower())
    return None


class Provenance(BaseModel):
    """Where a record came from: enough to reproduce or audit it."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model_file: str
    model_sha256: str
    quantization: str | None = None
    backend: str
    backend_version: str
    template_name: str
    template_hash: str
    recipe_hash: str
    sampling: dict[str, object]
    seed: int
    attempt: int = 0
    source: dict[str, object] | None = Field(
        default=None, description="rewrite mode: the real review it was rewritten from {key, label, edit}")
    examples: int | None = Field(default=None, description="few-shot examples drawn from the user's file, when any")
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    sarcgen_version: str


class Review(BaseModel):
    """One accepted generated review."""

    model_config = ConfigDict(extra="forbid")

    id: str
    plan_index: int = Field(ge=0, description="position in the deterministic plan; dedupe keeps the lowest")
    text: str = Field(min_length=1)
    label: Literal[0, 1]
    sarcastic: bool
    device: str = Field(description="sarcasm technique, or 'sincere' for contrast twins")
    aspect: str
    genre: str
    length: str
    cue: str = Field(description="the positive-surface cue the review was asked to use")
    pair_id: str | None = None
    provenance: Provenance


class Rejection(BaseModel):
    """A reply or record that did not make it, with a named reason. Rejections are kept, never dropped."""

    model_config = ConfigDict(extra="forbid")

    id: str
    plan_index: int | None = None
    stage: str = Field(description="generate, validate, dedupe, decontaminate, judge, ...")
    reason: str = Field(description="short snake_case reason, counted in reports")
    detail: str = ""
    attempt: int | None = None
    final: bool = Field(default=False, description="generate: no retries left for this plan item")
    text: str | None = None
    record: dict[str, object] | None = None


class RecipeMix:
    """Watches the records of one file for a second recipe hash (a run folder holds one recipe)."""

    def __init__(self) -> None:
        self.first: dict[str, int] = {}  # recipe hash -> first line holding it

    def add(self, line_no: int, review: Review) -> tuple[str, int, str, int] | None:
        """Record one review; returns (first hash, its line, other hash, this line) at the first mix."""
        h = review.provenance.recipe_hash
        if h in self.first:
            return None
        self.first[h] = line_no
        if len(self.first) == 1:
            return None
        (h0, l0), = list(self.first.items())[:1]
        return h0, l0, h, line_no

    @staticmethod
    def message(path: object, mix: tuple[str, int, str, int]) -> tuple[str, str]:
        h0, l0, h1, l1 = mix
        return (f"{path}:{l1}: a record of recipe {h1}, but line {l0} is recipe {h0}: one file mixes two recipes",
                "a resume with other settings appended to this run; keep each recipe in its own run folder "
                "(sarcgen filter A B --out DIR combines two runs on purpose)")


# The two classes a study needs; losing either one is loud (filter) and blocks publishing.
SARCASTIC_NEGATIVE = "sarcastic negatives"
SINCERE_POSITIVE = "sincere positives"
CLASSES = (SARCASTIC_NEGATIVE, SINCERE_POSITIVE)


def review_class(label: int, sarcastic: bool) -> str | None:
    """Which of `CLASSES` a review with this label and sarcasm belongs to (None: neither)."""
    if sarcastic and label == 0:
        return SARCASTIC_NEGATIVE
    if not sarcastic and label == 1:
        return SINCERE_POSITIVE
    return None
