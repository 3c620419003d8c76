"""The record every stage passes along: one generated review with its provenance.

Labels follow IMDB: 0 = negative, 1 = positive, and mean the *intended* sentiment. A sarcastic
review that praises on the surface ("Great movie, if you enjoy watching paint dry") is label 0.
Contrast twins are sincere positive reviews (label 1, sarcastic False, device "sincere") that use
the same surface cue and aspect, so a classifier cannot learn "Great" => negative.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SINCERE = "sincere"


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
    sampling: dict[str, Any]
    seed: int
    attempt: int = 0
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
    record: dict[str, Any] | None = None
