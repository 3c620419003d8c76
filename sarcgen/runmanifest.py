"""The run folder's manifest.json as typed models: what generate (or merge) made, and one completion
record per stage. `sarcgen.runfolder` reads and writes them (`load_manifest`, `save_manifest`,
`record_stage`, `stage_record`, `stage_is_current`); two readers still take the raw JSON on purpose:
`sarcgen merge`, which combines several manifests key by key, and the dataset card's counts.

Both models keep the keys they do not name (`extra="allow"`): a merge's `merged_from`, a fleet's
`replicas`, a stage's own figures (finetune's chosen mix), and whatever an older or newer sarcgen
wrote, so reading and writing a manifest never drops a key. The keys they name are checked: a
damaged manifest is reported as `manifest.json: key.path: problem`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class StageRecord(_Open):
    """A stage's completion record: its status, the fingerprints of what it read, its settings hash
    and the fingerprints of what it wrote (names relative to the run folder)."""

    status: str
    inputs: dict[str, str | None] = Field(default_factory=dict)
    settings: str | None = None
    outputs: dict[str, str | None] = Field(default_factory=dict)
    finished_at: str | None = None
    accepted: int | None = None  # generate: records in the folder when it finished


class Tokens(_Open):
    """Tokens and seconds summed over every generate session."""

    prompt: int = 0
    completion: int = 0
    seconds: float = 0.0
    tokens_per_s: float | None = None
    records_per_s: float | None = None


class Session(_Open):
    """One generate call on the folder."""

    started_at: str
    seconds: float
    accepted: int
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Counts(_Open):
    accepted: int = 0
    rejected: int = 0
    exhausted_items: int = 0
    reasons: dict[str, int] = Field(default_factory=dict)


class TemplateRef(_Open):
    name: str
    sha256: str
    path: str | None = None


class Manifest(_Open):
    """manifest.json. Every key is optional: a folder only some stages ran on has only their keys."""

    kind: str | None = None  # "generate" or "merge"
    name: str | None = None
    status: str | None = None  # running, complete, interrupted, failed (generate); complete, incomplete (merge)
    recipe_hash: str | None = None  # the data fingerprint (sarcgen.fingerprint)
    fingerprint_version: int | None = None  # absent in folders of sarcgen before versioned fingerprints: 1
    shard: str | None = None
    seed: int | None = None
    target: int | None = None
    template: TemplateRef | None = None
    recipe: dict[str, object] | None = None
    model: dict[str, object] | None = None
    sarcgen_version: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    accepted: int | None = None
    rejected: int | None = None
    counts: Counts | None = None
    tokens: Tokens | None = None
    sessions: list[Session] = Field(default_factory=list)
    replicas: dict[str, object] | None = None  # a fleet's or Ray pool's replicas: what each did, requests re-sent
    stages: dict[str, StageRecord] = Field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The JSON object written to disk: the keys that were read or set, nothing invented."""
        return self.model_dump(mode="json", exclude_unset=True)
