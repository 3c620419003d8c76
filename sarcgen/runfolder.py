"""The run folder: its file names, its lock, its manifest, which records file a stage reads and
which recipe a stage runs with. No other module spells out a run-folder file name.

    outputs/<recipe name>-seed<seed>/
      recipe.yaml            the resolved recipe (written by generate; read by every later stage)
      manifest.json          what generate made (model, counts, tokens) and `stages`: one completion
                             record per stage (status, input fingerprints, settings hash, outputs)
      generate.log           what generate did, in words
      generated.jsonl        accepted reviews          rejected.jsonl  every rejected reply
      filtered.jsonl         what passed the filter    filter_rejected.jsonl  the rest, with reasons
      judge_disagreements.jsonl, filter_report.json, filter_report.md, filter_lengths.png
      review.jsonl           `sarcgen review`: human decisions, applied by publish
      dataset/               publish: README.md, data/*.parquet, hf_dataset/, publish.json
      finetune/              finetune-compare: report.md, results.json, checkpoints/ ...
      .lock                  held (flock) by the process appending to the folder

Stage completion is *recorded* (`record_stage`), never inferred from file times, so a copy,
checkout or rsync of a folder keeps its state: `stage_is_current` compares content fingerprints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sarcgen.errors import FileError, InputError, first_problem
from sarcgen.jsonl import read_text, write_json

if TYPE_CHECKING:  # pydantic loads only where a recipe or manifest is read
    from sarcgen.recipe import Recipe
    from sarcgen.runmanifest import Manifest, StageRecord

# generate
RECIPE = "recipe.yaml"
MANIFEST = "manifest.json"
GENERATE_LOG = "generate.log"
GENERATED = "generated.jsonl"
REJECTED = "rejected.jsonl"
LOCK = ".lock"
# filter
FILTERED = "filtered.jsonl"
FILTER_REJECTED = "filter_rejected.jsonl"
JUDGE_DISAGREEMENTS = "judge_disagreements.jsonl"
FILTER_REPORT_JSON = "filter_report.json"
FILTER_REPORT_MD = "filter_report.md"
FILTER_LENGTHS_PNG = "filter_lengths.png"
FILTER_AUDIT_JSON = "filter_audit.json"
FILTER_AUDIT_MD = "filter_audit.md"
LABEL_CHECKS = "label_checks.jsonl"
# review (human decisions, read by publish)
REVIEW = "review.jsonl"
# publish and finetune-compare
DATASET_DIR = "dataset"
FINETUNE_DIR = "finetune"

# The recipe sections a stage takes from a run folder's recipe.yaml (None: all of it). Publish and
# finetune-compare read only their own section, so a recipe.yaml from another sarcgen version with
# keys unknown elsewhere does not block them.
RUN_RECIPE_SECTIONS: dict[str, tuple[str, ...] | None] = {
    "generate": None, "filter": None, "publish": ("publish",), "finetune": ("finetune",)}


def is_run_folder(path: str | Path) -> bool:
    """A folder that generate (or merge, or filter) wrote into."""
    p = Path(path)
    return p.is_dir() and any((p / f).is_file() for f in (GENERATED, FILTERED, MANIFEST))


def run_folder_of(path: str | Path) -> Path | None:
    """The run folder `path` is, or whose dataset/ folder it is; None otherwise."""
    p = Path(path).expanduser()
    if is_run_folder(p):
        return p
    if p.is_dir() and p.name == DATASET_DIR and is_run_folder(p.parent):
        return p.parent
    return None


def default_run_dir(recipe: Recipe, shard: tuple[int, int] | None = None) -> Path:
    """`<output_dir>/<recipe name>-seed<seed>[-shard<k>of<n>]`."""
    name = f"{recipe.name}-seed{recipe.generate.seed}"
    if shard:
        name += f"-shard{shard[0]}of{shard[1]}"
    return Path(recipe.output_dir) / name


# ------------------------------------------------------------------------------------- the lock
def lock_folder(folder: Path, what: str = "sarcgen generate", hint: str = "wait for it, or pass --out NEW_DIR") -> IO[str]:
    """An exclusive lock on the run folder (held until the returned file is closed), so two
    processes never append to the same files. The OS releases it when the process dies, even by
    SIGKILL. Raises InputError when another process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    fh = (folder / LOCK).open("a")
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not on POSIX
        pass
    except OSError:
        fh.close()
        raise InputError(f"{folder} is being written by another {what}", hint) from None
    return fh


@contextmanager
def try_locked(folder: Path) -> Iterator[bool]:
    """Hold the folder's lock for a moment if nobody else does; yields whether it was taken."""
    try:
        fh = lock_folder(folder)
    except InputError:
        yield False
        return
    try:
        yield True
    finally:
        fh.close()


# --------------------------------------------------------------------------------- the manifest
def read_manifest(folder: str | Path, *, strict: bool = True) -> dict[str, Any]:
    """manifest.json as a dict ({} when absent). Invalid JSON raises InputError, or gives {} when
    `strict` is False (generate, which rewrites it)."""
    p = Path(folder) / MANIFEST
    if not p.is_file():
        return {}
    try:
        obj = json.loads(read_text(p))
    except (ValueError, FileError) as exc:  # not JSON, or not UTF-8
        if not strict:
            return {}
        if isinstance(exc, FileError):
            raise
        raise InputError(f"{p}: not valid JSON ({exc})", "the run folder is damaged; re-run the stage that wrote it") from None
    return obj if isinstance(obj, dict) else {}


def load_manifest(folder: str | Path, *, strict: bool = True) -> Manifest:
    """manifest.json as a typed `Manifest` (empty when absent). A damaged one raises InputError naming
    the key, or, when `strict` is False (generate, which rewrites it), gives the keys that validate."""
    from pydantic import ValidationError

    from sarcgen.runmanifest import Manifest

    raw = read_manifest(folder, strict=strict)
    for _ in range(len(raw) + 1):
        try:
            return Manifest.model_validate(raw)
        except ValidationError as exc:
            if strict:
                raise InputError(f"{Path(folder) / MANIFEST}: {first_problem(exc, '')}",
                                 "the run folder is damaged; re-run the stage that wrote it") from None
            # not strict: the keys that do not validate are left out, the others (recipe_hash, shard,
            # fingerprint_version: what generate checks before it appends) still count
            bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
            raw = {k: v for k, v in raw.items() if k not in bad} if bad else {}
    return Manifest()


def save_manifest(folder: Path, manifest: Manifest) -> None:
    """Write manifest.json atomically, keeping the stage records other processes wrote into it."""
    write_manifest(folder, manifest.to_json())


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Write a manifest given as JSON (a merge builds one from its parts), keeping the stage records
    other processes wrote into it."""
    new = manifest.get("stages")
    _write_with_stages(folder, dict(manifest), read_manifest(folder, strict=False).get("stages"),
                       new if isinstance(new, dict) else {})


def _write_with_stages(folder: Path, manifest: dict[str, Any], on_disk: object, stages: Mapping[str, object]) -> None:
    """Write `manifest` with the stage records that were on disk (`on_disk`), `stages` overlaid on them:
    the one place a manifest's stage records are merged (generate, merge, every stage's completion)."""
    merged = {**(on_disk if isinstance(on_disk, dict) else {}), **stages}
    if merged:
        manifest["stages"] = merged
    write_json(folder / MANIFEST, manifest, in_place_if_full=True)


# ------------------------------------------------------------------- records a stage reads
def generated_file(path: Path) -> Path:
    """What filter reads: a run folder's generated.jsonl, or a JSONL file given as such."""
    if path.is_dir():
        f = path / GENERATED
        if not f.is_file():
            raise InputError(f"{path}: no {GENERATED} in this folder", "pass a run folder written by `sarcgen generate`, or a JSONL file")
        return f
    if not path.exists():
        raise InputError(f"{path}: no such file or folder", "pass a run folder or a JSONL file of reviews")
    return path


def records_file(folder: Path) -> tuple[Path, list[str]]:
    """What publish reads: filtered.jsonl, else generated.jsonl with a warning. Raises InputError
    when the folder or both files are missing."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such run folder", "pass the folder `sarcgen generate` wrote (outputs/<run>)")
    filtered, generated = folder / FILTERED, folder / GENERATED
    if filtered.is_file():
        return filtered, []
    if generated.is_file():
        msg = (f"{filtered} not found: publishing UNFILTERED {generated.name} (no validation, deduplication "
               f"or decontamination); run `sarcgen filter {folder}` first")
        return generated, [msg]
    raise InputError(f"{folder}: neither {FILTERED} nor {GENERATED} found",
                     "run `sarcgen generate` (and `sarcgen filter`) into this folder first")


def unfinished_warning(folder: Path) -> str | None:
    """A warning when generate has not finished `folder`: it is still writing (its lock is held),
    or it stopped (interrupted, failed) short of its target. None for a finished or foreign folder."""
    if not (folder / GENERATED).is_file():
        return None
    with try_locked(folder) as free:
        if not free:
            return (f"{folder} is still being written by sarcgen generate: this reads the records saved so far; "
                    "wait for it to finish, then run this again")
    manifest = read_manifest(folder, strict=False)
    status = manifest.get("status")
    accepted, target = manifest.get("accepted"), manifest.get("target")
    short = not (isinstance(accepted, int) and isinstance(target, int) and accepted >= target)
    if manifest.get("kind") == "generate" and status not in (None, "complete") and short:
        return (f"{folder}: generate stopped ({status}) at {manifest.get('accepted', '?')}/{manifest.get('target', '?')} "
                "accepted records: this reads a partial run; re-run its generate command to finish it")
    return None


def is_other_run(out: Path, inputs: Sequence[Path]) -> bool:
    """`out` is a run folder of its own that is none of `inputs` (writing there would mix runs)."""
    if not is_run_folder(out) or not (out / GENERATED).is_file():
        return False
    here = out.resolve()
    return all(Path(p).resolve() not in (here, here / GENERATED) for p in inputs)


# ------------------------------------------------------------------------ the recipe to use
def run_recipe_dict(folder: str | Path, warnings: list[str] | None = None) -> dict[str, Any] | None:
    """The run folder's recipe.yaml as a plain dict (for the dataset card), or None."""
    import yaml

    path = Path(folder) / RECIPE
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(read_text(path))
    except (yaml.YAMLError, FileError) as exc:
        if warnings is not None:
            warnings.append(f"{path}: unreadable YAML ({exc}); the card omits the recipe summary")
        return None
    return loaded if isinstance(loaded, dict) else None


@dataclass
class ResolvedRecipe:
    """The recipe a stage runs with, and where it came from (a file, or "<defaults>")."""

    recipe: Recipe
    source: str


def resolve_recipe(
    recipe_path: str | Path | None = None,
    runs: str | Path | Sequence[str | Path] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    stage: str = "generate",
) -> ResolvedRecipe:
    """The one place settings are resolved, for every stage: the defaults, overlaid by a recipe
    file (`recipe_path` when given, else the first of `runs` that holds a recipe.yaml, of which
    only the sections `stage` uses are read), then by `overrides` (dotted keys; None ignored)."""
    from sarcgen.recipe import load_recipe, validate_recipe
    from sarcgen.recipe_yaml import read_recipe_file

    if recipe_path is not None:
        return ResolvedRecipe(load_recipe(recipe_path, overrides), str(recipe_path))
    folders = [runs] if isinstance(runs, (str, Path)) else list(runs or [])
    for folder in folders:
        path = Path(folder) / RECIPE
        if Path(folder).is_dir() and path.is_file():
            data, root = read_recipe_file(path)
            sections = RUN_RECIPE_SECTIONS.get(stage)
            if sections is not None:
                data = {k: v for k, v in data.items() if k in sections}
            return ResolvedRecipe(validate_recipe(data, str(path), root, overrides), str(path))
    return ResolvedRecipe(load_recipe(None, overrides), "<defaults>")


# ----------------------------------------------------------------- stage completion records
def fingerprint(path: Path) -> str | None:
    """sha256 of a file's bytes, or of a folder's files (relative names and contents); None when
    `path` does not exist. Content only: copying or touching a file leaves it unchanged."""
    if path.is_file():
        return file_sha256(path)
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path).as_posix()}\0{file_sha256(f)}\n".encode())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_hash(settings: Any) -> str:
    """A short stable hash of JSON-able settings (a pydantic model's dump, a dict)."""
    if hasattr(settings, "model_dump"):
        settings = settings.model_dump(mode="json")
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprints(folder: Path, names: Sequence[str]) -> dict[str, str | None]:
    """{name: fingerprint} of files or folders inside `folder`."""
    return {name: fingerprint(folder / name) for name in names}


def record_stage(folder: Path, stage: str, *, inputs: Mapping[str, str | None], settings: str,
                 outputs: Sequence[str], status: str = "complete", **extra: object) -> bool:
    """Write `stage`'s completion record into the folder's manifest: its status, the fingerprints
    of what it read, its settings hash and the fingerprints of what it wrote (names relative to
    `folder`). Returns False (and records nothing) while another process holds the folder's lock:
    a stage run on a folder generate is still writing did not see its final input."""
    with try_locked(folder) as locked:
        if not locked:
            return False
        from sarcgen.runmanifest import StageRecord

        record = StageRecord.model_validate({
            "status": status, "inputs": dict(inputs), "settings": settings, "outputs": fingerprints(folder, outputs),
            **extra, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        # Only `stages.<stage>` changes: the rest of the file is written back as read, even keys this
        # sarcgen cannot validate (a newer sarcgen's, a damaged one), so recording never erases them.
        raw = read_manifest(folder, strict=False)
        _write_with_stages(folder, raw, raw.get("stages"), {stage: record.model_dump(mode="json", exclude_unset=True)})
    return True


def stage_record(folder: Path, stage: str) -> StageRecord | None:
    """The completion record `record_stage` wrote for `stage`, or None (also for a damaged one)."""
    return load_manifest(folder, strict=False).stages.get(stage)


def stage_is_current(folder: Path, stage: str, inputs: Mapping[str, str | None], settings: str) -> tuple[bool, str]:
    """Whether `stage` completed on exactly these inputs and settings and its outputs are intact.
    Returns (current, why not / what was found)."""
    rec = stage_record(folder, stage)
    if rec is None:
        return False, "no completion record"
    if rec.status != "complete":
        return False, f"last status {rec.status!r}"
    if rec.settings != settings:
        return False, "settings changed"
    if rec.inputs != dict(inputs):
        changed = sorted(k for k in set(rec.inputs) | set(inputs) if rec.inputs.get(k) != inputs.get(k))
        return False, f"input changed: {', '.join(changed)}"
    for name, fp in rec.outputs.items():
        if fingerprint(folder / name) != fp:
            return False, f"output {name} changed or missing"
    return True, "complete, inputs unchanged"
