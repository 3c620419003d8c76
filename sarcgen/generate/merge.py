"""Combine run folders (typically the shards of one job) into one run folder.

`sarcgen generate --shard K/N` makes N disjoint parts of one plan, on N machines or N servers.
`merge_runs` puts them back together: generated.jsonl and rejected.jsonl sorted by plan_index (the
order an unsharded run would have), and a manifest saying where every part came from. It refuses
parts made with different recipes (the recipe hash in each record's provenance and manifest) and
duplicate ids (two runs of the same shard, or a shard folder given twice), naming both folders.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sarcgen.errors import FileError, InputError, RecipeError, file_errors
from sarcgen.generate.plan import parse_shard
from sarcgen.jsonl import iter_jsonl, json_number, json_object, read_text, repair_tail, write_jsonl, write_text
from sarcgen.runfolder import (
    GENERATED,
    MANIFEST,
    RECIPE,
    REJECTED,
    read_manifest,
    write_manifest,
)
from sarcgen.version import __version__


@dataclass
class RunPart:
    """One run folder, read."""

    path: Path
    manifest: dict[str, object]
    records: list[tuple[int, dict[str, object]]]  # (line number, record)
    rejected: list[dict[str, object]]
    recipe_hash: str | None
    shard: object = None


@dataclass
class MergeSummary:
    """What `merge_runs` wrote."""

    out: Path
    runs: list[Path]
    accepted: int
    rejected: int
    recipe_hash: str | None
    shards: list[object] = field(default_factory=list)
    missing_shards: list[str] = field(default_factory=list)


def _manifest_hash(manifest: dict[str, object]) -> str | None:
    h = manifest.get("recipe_hash")
    if isinstance(h, str):
        return h
    h = json_object(manifest.get("recipe")).get("hash")
    return h if isinstance(h, str) else None


def _shard_of(manifest: dict[str, object]) -> object:
    shard = manifest.get("shard")
    if shard is None:
        shard = json_object(manifest.get("generate")).get("shard")
    return shard


def _shard_pair(shard: object) -> tuple[int, int] | None:
    """(k, n) of a manifest's shard entry (see `parse_shard`); None when absent or unreadable."""
    if not isinstance(shard, (str, Sequence, Mapping)):
        return None
    try:
        return parse_shard(shard)
    except RecipeError:
        return None


def read_part(run: Path) -> RunPart:
    """Read a run folder: its manifest, accepted records and rejections. Checks one recipe hash."""
    run = Path(run)
    if not run.is_dir():
        raise InputError(f"{run}: no such run folder", "pass folders written by `sarcgen generate`")
    gen = run / GENERATED
    if not gen.exists():
        raise InputError(f"{run}: no {GENERATED} in this folder", "is it a run folder written by `sarcgen generate`?")
    manifest = read_manifest(run)
    for name in (GENERATED, REJECTED):
        if repair_tail(run / name, dry_run=True).cut:
            raise InputError(f"{run / name}: ends in a torn line (its generate was killed mid-write)",
                             "resume that shard first (re-run its `sarcgen generate` command: it cuts the torn line "
                             "and finishes the shard), then merge")
    records = list(iter_jsonl(gen))
    rejected = [obj for _, obj in iter_jsonl(run / REJECTED)] if (run / REJECTED).exists() else []
    recipe_hash = _manifest_hash(manifest)
    for line, rec in records:
        if "id" not in rec or "plan_index" not in rec:
            raise InputError(f"{gen}:{line}: record without id/plan_index", "is this a sarcgen generated.jsonl?")
        h = json_object(rec.get("provenance")).get("recipe_hash")
        if h is None:
            continue
        h = str(h)
        if recipe_hash is None:
            recipe_hash = h
        elif h != recipe_hash:
            raise InputError(
                f"{gen}:{line}: recipe hash {h} differs from the rest of {run} ({recipe_hash})",
                "a run folder must hold one recipe's output; regenerate it",
            )
    return RunPart(run, manifest, records, rejected, recipe_hash, _shard_of(manifest))


def merge_runs(runs: list[Path] | tuple[Path, ...], out: Path, *, force: bool = False) -> MergeSummary:
    """Merge run folders into `out` (created). Raises `InputError` on mismatched recipes or duplicate ids.

    `out` must not hold a run already unless `force` is set; it may not be one of the inputs.
    """
    paths, out = _check_paths(runs, Path(out), force)
    parts = [read_part(r) for r in paths]
    ref = _one_recipe(parts)
    merged = _unique_records(parts)
    rejected = [rej for part in parts for rej in part.rejected]
    rejected.sort(key=lambda r: (_int(r.get("plan_index"), -1), _int(r.get("attempt"), 0)))
    missing = _missing_shards(parts)
    with file_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / GENERATED, merged)
    write_jsonl(out / REJECTED, rejected)
    manifest = _merged_manifest(parts, ref, merged, rejected, missing)
    src = (ref or parts[0]).path / RECIPE  # copied so the merged folder is a run folder later stages can read
    if src.exists():
        _write_recipe(src, out / RECIPE, _int(manifest["target"], 0))
    write_manifest(out, manifest)
    return MergeSummary(out=out, runs=[p.path for p in parts], accepted=len(merged), rejected=len(rejected),
                        recipe_hash=ref.recipe_hash if ref else None, shards=[p.shard for p in parts],
                        missing_shards=missing)


def _check_paths(runs: list[Path] | tuple[Path, ...], out: Path, force: bool) -> tuple[list[Path], Path]:
    """Each run once, `out` not among them and not holding a run (unless `force`)."""
    if not runs:
        raise InputError("nothing to merge", "pass two or more run folders, e.g. outputs/job-shard1 outputs/job-shard2")
    paths = [Path(r) for r in runs]
    seen_paths: dict[Path, Path] = {}
    for r in paths:
        rp = r.resolve()
        if rp in seen_paths:
            raise InputError(f"{r} is given twice", "list each run folder once")
        seen_paths[rp] = r
    if out.resolve() in seen_paths:
        raise InputError(f"--out {out} is one of the runs being merged", "choose a new folder for the merged run")
    if out.exists() and any((out / name).exists() for name in (GENERATED, REJECTED, MANIFEST)) and not force:
        raise InputError(f"{out} already holds a run", "choose another --out, or pass --force to overwrite it")
    return paths, out


def _one_recipe(parts: list[RunPart]) -> RunPart | None:
    """The first part with a recipe hash, after checking every other part carries the same one
    (parts without any record or manifest hash have nothing to contradict and are accepted)."""
    ref: RunPart | None = None
    for part in parts:
        if part.recipe_hash is None:
            continue
        if ref is None:
            ref = part
        elif part.recipe_hash != ref.recipe_hash:
            raise InputError(
                f"{ref.path} and {part.path} were made with different recipes "
                f"(recipe hash {ref.recipe_hash} vs {part.recipe_hash})",
                "merge only shards of one job: same recipe, seed and model (compare their recipe.yaml)",
            )
    return ref


def _unique_records(parts: list[RunPart]) -> list[dict[str, object]]:
    """Every part's records in plan order, refusing an id held by two parts (naming both lines)."""
    owner: dict[str, tuple[Path, int]] = {}
    merged: list[dict[str, object]] = []
    for part in parts:
        for line, rec in part.records:
            rid = str(rec["id"])
            if rid in owner:
                p0, l0 = owner[rid]
                raise InputError(
                    f"duplicate id {rid}: {p0 / GENERATED}:{l0} and {part.path / GENERATED}:{line}",
                    "the same shard was generated twice, or overlapping runs were given; merge each shard once",
                )
            owner[rid] = (part.path, line)
            merged.append(rec)
    merged.sort(key=lambda r: (_int(r["plan_index"], -1), str(r["id"])))
    return merged


def _missing_shards(parts: list[RunPart]) -> list[str]:
    """The shards "k/N" of the job not among `parts` (none known when a part's shard is unknown)."""
    pairs = [_shard_pair(part.shard) for part in parts]
    if not pairs or any(p is None for p in pairs):
        return []
    totals = {p[1] for p in pairs if p}
    if len(totals) > 1:
        raise InputError(
            f"the runs were sharded differently ({', '.join(f'{part.path}: {part.shard}' for part in parts)})",
            "merge shards of one job: the same N in every --shard K/N",
        )
    total = totals.pop()
    have = {p[0] for p in pairs if p}
    return [f"{k}/{total}" for k in range(total) if k not in have]  # K counts from 0


def _int(v: object, default: int) -> int:
    """An integer field of a record (plan_index, attempt, target); `default` when absent or not a number."""
    if isinstance(v, (int, float, str)) and not isinstance(v, bool):
        try:
            return int(v)
        except ValueError:
            return default
    return default


def _merged_manifest(
    parts: list[RunPart],
    ref: RunPart | None,
    merged: list[dict[str, object]],
    rejected: list[dict[str, object]],
    missing: list[str],
) -> dict[str, object]:
    """The first part's manifest (model, template, recipe) with counts, tokens and sources summed.

    Run folders written by `sarcgen generate` carry `target`, `counts` and `tokens`; the merged
    folder's are the sums over the parts, and its status is "complete" only when every part is.
    """
    base = dict((ref or parts[0]).manifest)
    base.pop("sessions", None)
    base.pop("stages", None)  # the merged records are new: no later stage has seen them
    reasons: dict[str, int] = {}
    for p in parts:
        for reason, c in json_object(json_object(p.manifest.get("counts")).get("reasons")).items():
            reasons[reason] = reasons.get(reason, 0) + int(json_number(c))
    toks = [json_object(p.manifest.get("tokens")) for p in parts]
    prompt, completion = sum(json_number(t.get("prompt")) for t in toks), sum(json_number(t.get("completion")) for t in toks)
    seconds = sum(json_number(t.get("seconds")) for t in toks)
    statuses = {p.manifest.get("status") for p in parts}
    target = sum(int(json_number(p.manifest.get("target"))) for p in parts) or len(merged)
    base.update(
        kind="merge",
        status="complete" if statuses <= {"complete"} and not missing else "incomplete",
        shard=None,
        recipe_hash=ref.recipe_hash if ref else None,
        target=target,
        accepted=len(merged),
        rejected=len(rejected),
        counts={"accepted": len(merged), "rejected": len(rejected), "reasons": reasons,
                "exhausted_items": sum(int(json_number(json_object(p.manifest.get("counts")).get("exhausted_items"))) for p in parts)},
        tokens={"prompt": int(prompt), "completion": int(completion),
                "seconds": round(seconds, 3),  # summed over the parts (machine-seconds)
                "tokens_per_s": round(completion / seconds, 2) if seconds else None},
        merged_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sarcgen_version=__version__,
        missing_shards=missing,
        merged_from=[{"run": str(p.path), "shard": p.shard, "status": p.manifest.get("status"), "accepted": len(p.records),
                      "rejected": len(p.rejected), "recipe_hash": p.recipe_hash} for p in parts],
    )
    recipe = base.get("recipe")
    if isinstance(recipe, dict) and isinstance(recipe.get("generate"), dict):
        base["recipe"] = {**recipe, "generate": {**recipe["generate"], "n": target}}
    return base


def _write_recipe(src: Path, dst: Path, n: int) -> None:
    """Copy the parts' resolved recipe with generate.n set to the merged job's target."""
    import yaml

    try:
        data = yaml.safe_load(read_text(src))
    except (yaml.YAMLError, FileError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("generate"), dict):
        data["generate"]["n"] = n
        write_text(dst, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    else:
        shutil.copyfile(src, dst)
