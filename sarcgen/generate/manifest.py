"""manifest.json of a generate run: the recipe and model it ran with, counts per reason, tokens and
timings summed over every session, status, and the generate stage's completion record.

A folder made with another recipe hash (or shard) is refused before anything is appended to it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sarcgen import runfolder as rf
from sarcgen.backends.base import Backend, ModelInfo
from sarcgen.errors import RecipeError
from sarcgen.generate.driver import RunSummary
from sarcgen.prompts import PromptTemplate
from sarcgen.recipe import Recipe
from sarcgen.version import __version__


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_folder(out: Path, recipe_hash: str, shard: tuple[int, int] | None) -> dict[str, Any]:
    """The previous manifest, after checking it belongs to the same recipe and shard. A missing or
    unreadable manifest gives {} (the records' provenance is checked by `RunState.check_records`)."""
    old = rf.read_manifest(out, strict=False)
    if old.get("recipe_hash") and old["recipe_hash"] != recipe_hash:
        raise RecipeError(
            f"{out} holds a run of another recipe (hash {old['recipe_hash']}, this command resolves to {recipe_hash})",
            "re-run with the original recipe and flags to resume it, or pass --out NEW_DIR for a new run",
        )
    old_shard = old.get("shard")
    new_shard = f"{shard[0]}/{shard[1]}" if shard else None
    if old_shard != new_shard and ("shard" in old):
        raise RecipeError(f"{out} holds shard {old_shard}, not {new_shard}", "pass --out NEW_DIR for another shard")
    return old


class GenerateManifest:
    """The manifest of one generate call, carrying over the totals and sessions of earlier ones."""

    def __init__(self, out: Path, recipe: Recipe, shard: tuple[int, int] | None, template: PromptTemplate) -> None:
        self.out = out
        self.recipe_hash = recipe.hash()
        old = check_folder(out, self.recipe_hash, shard)
        self.resumed = bool(old)
        self.totals = old.get("tokens", {}) if isinstance(old.get("tokens"), dict) else {}
        self.sessions: list[dict[str, Any]] = list(old.get("sessions", [])) if isinstance(old.get("sessions"), list) else []
        self.started = _now()
        g = recipe.generate
        self.data: dict[str, Any] = {
            "kind": "generate", "name": recipe.name, "status": "running", "recipe_hash": self.recipe_hash,
            "shard": f"{shard[0]}/{shard[1]}" if shard else None, "seed": g.seed, "target": g.n,
            "template": {"name": template.name, "sha256": template.sha256, "path": str(template.path)},
            "recipe": recipe.resolved(), "sarcgen_version": __version__, "created_at": old.get("created_at", self.started),
        }
        if isinstance(old.get("model"), dict):
            self.data["model"] = old["model"]
        self.backend: Backend | None = None  # set once started: a fleet or Ray pool reports its replicas

    def write(self, status: str, summary: RunSummary, seconds: float, info: ModelInfo | None = None) -> None:
        """Write the manifest now (status "running", "complete", "interrupted" or "failed")."""
        this = {"started_at": self.started, "seconds": round(seconds, 3), "accepted": summary.new_accepted,
                "prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens}
        pt = int(self.totals.get("prompt", 0)) + summary.prompt_tokens
        ct = int(self.totals.get("completion", 0)) + summary.completion_tokens
        secs = float(self.totals.get("seconds", 0.0)) + seconds
        rejected = sum(summary.rejected.values())
        self.data.update(
            status=status, updated_at=_now(), accepted=summary.accepted, rejected=rejected,
            counts={"accepted": summary.accepted, "rejected": rejected,
                    "exhausted_items": summary.exhausted, "reasons": dict(summary.rejected)},
            tokens={"prompt": pt, "completion": ct, "seconds": round(secs, 3),
                    "tokens_per_s": round(ct / secs, 2) if secs > 0 else None,
                    "records_per_s": round(summary.accepted / secs, 3) if secs > 0 else None},
            sessions=self.sessions + [this],
        )
        replicas = self.backend.replica_stats() if self.backend is not None else None
        if replicas is not None:  # a fleet or Ray pool: what each replica did
            self.data["replicas"] = replicas
        if info is not None:
            self.data["model"] = {"file": info.model_file, "sha256": info.model_sha256, "quantization": info.quantization,
                                  "backend": info.backend, "backend_version": info.backend_version, **info.extra}
        self.data["stages"] = {"generate": self._stage(status, summary)}
        rf.write_manifest(self.out, self.data)

    def _stage(self, status: str, summary: RunSummary) -> dict[str, Any]:
        """The generate stage's completion record; outputs are fingerprinted once the session ends."""
        outputs = rf.fingerprints(self.out, [rf.GENERATED]) if status != "running" else {}
        return {"status": status, "inputs": generate_inputs(self.recipe_hash, summary.target), "settings": self.recipe_hash,
                "accepted": summary.accepted, "outputs": outputs, "finished_at": _now()}


def generate_inputs(recipe_hash: str, target: int) -> dict[str, str | None]:
    """What a generate completion depends on: the recipe (its hash) and the target count."""
    return {"recipe_hash": recipe_hash, "target": str(target)}
