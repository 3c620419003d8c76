"""manifest.json of a generate run: the recipe and model it ran with, counts per reason, tokens and
timings summed over every session, status, and the generate stage's completion record.

A folder made with another recipe fingerprint (or shard) is refused before anything is appended to it; the
fingerprint is compared under the folder's own version (`fingerprint_version`, see sarcgen.fingerprint).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from sarcgen import runfolder as rf
from sarcgen.backends.base import Backend, ModelInfo
from sarcgen.errors import RecipeError
from sarcgen.fingerprint import FINGERPRINT_VERSION, VERSIONS
from sarcgen.generate.driver import RunSummary
from sarcgen.prompts import PromptTemplate
from sarcgen.recipe import Recipe
from sarcgen.runmanifest import Counts, Manifest, Session, StageRecord, TemplateRef, Tokens
from sarcgen.version import __version__


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def folder_version(out: Path, old: Manifest, record_hashes: Iterable[str], recipe: Recipe) -> int:
    """The fingerprint version (sarcgen.fingerprint) the folder's records were made under: the manifest's
    `fingerprint_version`; for a folder from before versions were written, the version whose fingerprint
    of `recipe` its manifest (or, without one, its records) holds, else 1; for a new folder, this one."""
    version = old.fingerprint_version
    if version is not None:
        if version not in VERSIONS:
            raise RecipeError(
                f"{out / rf.MANIFEST}: fingerprint_version {version!r} is not one this sarcgen ({__version__}) can check "
                f"(versions {VERSIONS[0]}-{VERSIONS[-1]}): the folder was made by a newer sarcgen",
                "resume it with the sarcgen that made it, or pass --out NEW_DIR for a new run",
            )
        return version
    stored = old.recipe_hash
    hashes = {stored} if stored else set(record_hashes)
    if not hashes:
        return FINGERPRINT_VERSION
    matching = [v for v in VERSIONS if recipe.hash(v) in hashes]
    if matching:
        return matching[-1]
    return 1 if stored else FINGERPRINT_VERSION


def folder_fingerprint(out: Path, recipe: Recipe) -> str:
    """`recipe`'s data fingerprint under the version of the run folder `out` (this version for a new one)."""
    return recipe.hash(folder_version(out, rf.load_manifest(out, strict=False), (), recipe))


def check_folder(out: Path, recipe: Recipe, shard: tuple[int, int] | None,
                 record_hashes: Iterable[str] = ()) -> tuple[Manifest, int, str]:
    """The previous manifest, the folder's fingerprint version and `recipe`'s fingerprint under it, after
    checking the folder belongs to the same recipe and shard. A missing or unreadable manifest gives {}
    (the records' provenance is checked by `RunState.check_records`)."""
    old = rf.load_manifest(out, strict=False)
    version = folder_version(out, old, record_hashes, recipe)
    recipe_hash = recipe.hash(version)
    if old.recipe_hash and old.recipe_hash != recipe_hash:
        older = (" (a folder of an older sarcgen, fingerprint version 1: it counted generate.judge_template and "
                 "every backend's options too)") if version == 1 else ""
        raise RecipeError(
            f"{out} holds a run of another recipe (hash {old.recipe_hash}, this command resolves to {recipe_hash}){older}",
            "re-run with the original recipe and flags to resume it, or pass --out NEW_DIR for a new run",
        )
    old_shard = old.shard
    new_shard = f"{shard[0]}/{shard[1]}" if shard else None
    if old_shard != new_shard and "shard" in old.model_fields_set:
        raise RecipeError(f"{out} holds shard {old_shard}, not {new_shard}", "pass --out NEW_DIR for another shard")
    return old, version, recipe_hash


class GenerateManifest:
    """The manifest of one generate call, carrying over the totals and sessions of earlier ones."""

    def __init__(self, out: Path, recipe: Recipe, shard: tuple[int, int] | None, template: PromptTemplate,
                 record_hashes: Iterable[str] = ()) -> None:
        self.out = out
        old, version, self.recipe_hash = check_folder(out, recipe, shard, record_hashes)
        self.resumed = bool(old.model_fields_set)
        self.totals = old.tokens or Tokens()
        self.sessions = list(old.sessions)
        self.started = _now()
        g = recipe.generate
        self.data = Manifest(
            kind="generate", name=recipe.name, status="running", recipe_hash=self.recipe_hash, fingerprint_version=version,
            shard=f"{shard[0]}/{shard[1]}" if shard else None, seed=g.seed, target=g.n,
            template=TemplateRef(name=template.name, sha256=template.sha256, path=str(template.path)),
            recipe=recipe.resolved(), sarcgen_version=__version__, created_at=old.created_at or self.started,
        )
        if old.model is not None:
            self.data.model = old.model
        self.backend: Backend | None = None  # set once started: a fleet or Ray pool reports its replicas

    def write(self, status: str, summary: RunSummary, seconds: float, info: ModelInfo | None = None) -> None:
        """Write the manifest now (status "running", "complete", "interrupted" or "failed")."""
        this = Session(started_at=self.started, seconds=round(seconds, 3), accepted=summary.new_accepted,
                       prompt_tokens=summary.prompt_tokens, completion_tokens=summary.completion_tokens)
        pt = self.totals.prompt + summary.prompt_tokens
        ct = self.totals.completion + summary.completion_tokens
        secs = self.totals.seconds + seconds
        rejected = sum(summary.rejected.values())
        m = self.data
        m.status, m.updated_at, m.accepted, m.rejected = status, _now(), summary.accepted, rejected
        m.counts = Counts(accepted=summary.accepted, rejected=rejected, exhausted_items=summary.exhausted,
                          reasons=dict(summary.rejected))
        m.tokens = Tokens(prompt=pt, completion=ct, seconds=round(secs, 3),
                          tokens_per_s=round(ct / secs, 2) if secs > 0 else None,
                          records_per_s=round(summary.accepted / secs, 3) if secs > 0 else None)
        m.sessions = self.sessions + [this]
        replicas = self.backend.replica_stats() if self.backend is not None else None
        if replicas is not None:  # a fleet or Ray pool: what each replica did
            m.replicas = replicas
        if info is not None:
            m.model = {"file": info.model_file, "sha256": info.model_sha256, "quantization": info.quantization,
                       "backend": info.backend, "backend_version": info.backend_version, **info.extra}
        m.stages = {"generate": self._stage(status, summary)}
        rf.save_manifest(self.out, m)

    def _stage(self, status: str, summary: RunSummary) -> StageRecord:
        """The generate stage's completion record; outputs are fingerprinted once the session ends."""
        outputs = rf.fingerprints(self.out, [rf.GENERATED]) if status != "running" else {}
        return StageRecord(status=status, inputs=generate_inputs(self.recipe_hash, summary.target), settings=self.recipe_hash,
                           accepted=summary.accepted, outputs=outputs, finished_at=_now())


def generate_inputs(recipe_hash: str, target: int) -> dict[str, str | None]:
    """What a generate completion depends on: the recipe (its hash) and the target count."""
    return {"recipe_hash": recipe_hash, "target": str(target)}
