"""Publish a run's reviews as a `datasets.DatasetDict` with a dataset card, on disk and on the Hub.

Flow: `read_run` (filtered.jsonl, or generated.jsonl with a loud warning) -> `split_records`
(seeded, stratified by label and device, contrast twins kept together) -> `build_dataset`
(explicit Features, IMDB-compatible text/label) -> `write_dataset` (both `save_to_disk` and the Hub
layout: README.md + data/<split>-00000-of-00001.parquet) -> optionally `sarcgen.publish.push.push_folder`.

Why the explicit schema: `label` is a ClassLabel with IMDB's 0 = negative / 1 = positive, so after
`select_columns(["text", "label"])` the synthetic data concatenates with IMDB (once IMDB's label is
cast to the same ClassLabel). Provenance is flattened into plain columns so the Hub viewer, pandas
and parquet readers see it without nested structs; `sampling` is a JSON string for the same reason.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from sarcgen.errors import FileError, InputError, PublishError, file_errors
from sarcgen.jsonl import iter_jsonl, read_text, write_json, write_text
from sarcgen.recipe import PublishSettings
from sarcgen.records import LABEL_NAMES, RecipeMix, Review
from sarcgen.review.store import HumanReview, apply_decisions, load_decisions

if TYPE_CHECKING:  # heavy imports stay inside functions
    import datasets

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
HF_DATASET_DIR = "hf_dataset"  # save_to_disk copy, beside the Hub layout
DATA_DIR = "data"
PUBLISH_REPORT = "publish.json"
PROVENANCE_COLUMNS = (
    "model_file", "model_sha256", "quantization", "backend", "backend_version", "template_name",
    "template_hash", "recipe_hash", "seed", "attempt", "created_at", "sarcgen_version", "sampling",
)


def split_file(split: str) -> str:
    """Hub-layout file name of one split (one shard: a few thousand reviews fit easily)."""
    return f"{DATA_DIR}/{split}-00000-of-00001.parquet"


def features() -> "datasets.Features":
    """The published schema. text/label match IMDB's column names and label convention."""
    from datasets import ClassLabel, Features, Value

    string, int64 = Value("string"), Value("int64")
    cols: dict[str, Any] = {
        "text": string,
        "label": ClassLabel(names=list(LABEL_NAMES)),
        "sarcastic": Value("bool"),
        "device": string,
        "aspect": string,
        "genre": string,
        "length": string,
        "cue": string,
        "pair_id": string,  # null for items without a contrast twin
        "id": string,
        "plan_index": int64,
        "label_source": string,  # "generator" (the requested label), or "human" (flipped in `sarcgen review`)
    }
    for name in PROVENANCE_COLUMNS:
        cols[name] = int64 if name in ("seed", "attempt") else string
    return Features(cols)


def record_to_row(review: Review, human_label: bool = False) -> dict[str, Any]:
    """Flatten one Review (provenance included) into a row of `features()`."""
    prov = review.provenance
    row = review.model_dump(mode="json", exclude={"provenance"})
    row["label_source"] = "human" if human_label else "generator"
    for name in PROVENANCE_COLUMNS:
        row[name] = getattr(prov, name)
    row["sampling"] = json.dumps(prov.sampling, sort_keys=True)
    return row


# ---------------------------------------------------------------------------------------------
# Splitting


def check_fractions(settings: PublishSettings) -> dict[str, float]:
    """Split fractions that are > 0, checked to sum to 1."""
    fr = {s: float(getattr(settings, s)) for s in SPLITS}
    total = sum(fr.values())
    if abs(total - 1.0) > 1e-6:
        raise PublishError(
            f"publish.train + publish.validation + publish.test = {total:g}, not 1",
            "fix the recipe's publish section or the --train/--validation/--test flags",
        )
    return {s: f for s, f in fr.items() if f > 0}


def _units(records: Sequence[Review]) -> list[list[Review]]:
    """Group records that must share a split: same pair_id, or a pair_id naming another record's id."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_id = {r.id: i for i, r in enumerate(records)}
    first_with_pair: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.pair_id is None:
            continue
        for j in (first_with_pair.setdefault(r.pair_id, i), by_id.get(r.pair_id, i)):
            parent[find(i)] = find(j)
    groups: dict[int, list[Review]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[find(i)].append(r)
    return list(groups.values())


def _stratum(unit: list[Review]) -> tuple[int, str]:
    """A unit is stratified by its sarcastic member (the twin follows it), else its first member."""
    primary = next((r for r in unit if r.sarcastic), unit[0])
    return (primary.label, primary.device)


def split_records(records: Iterable[Review], settings: PublishSettings) -> dict[str, list[Review]]:
    """Seeded, stratified split. Returns {split: records sorted by plan order} for splits with f > 0.

    Within each (label, device) stratum, units (a review, or a review with its contrast twin) are
    shuffled with a seed derived from `settings.seed` and the stratum, then allotted by largest
    remainder. A stratum with at least one unit per split gives every split at least one unit, so
    every technique is seen everywhere when counts allow. Leftover units go to the split furthest
    below its overall target, so small strata do not drift the totals.
    """
    fractions = check_fractions(settings)
    recs = sorted(records, key=lambda r: (r.plan_index, r.id))
    strata: dict[tuple[int, str], list[list[Review]]] = defaultdict(list)
    for unit in _units(recs):
        strata[_stratum(unit)].append(unit)

    out: dict[str, list[Review]] = {s: [] for s in fractions}
    done_units = 0
    given = {s: 0 for s in fractions}
    for key in sorted(strata):
        units = sorted(strata[key], key=lambda u: min((r.plan_index, r.id) for r in u))
        random.Random(f"{settings.seed}|{key[0]}|{key[1]}").shuffle(units)
        n = len(units)
        counts = {s: math.floor(n * f) for s, f in fractions.items()}
        spare = n - sum(counts.values())
        if n >= len(fractions):  # every split gets one unit of every technique
            for s in fractions:
                if counts[s] == 0:
                    if spare:
                        spare -= 1
                    else:
                        counts[max(counts, key=lambda d: counts[d])] -= 1
                    counts[s] = 1
        done_units += n
        for _ in range(spare):
            # largest remainder, plus how far each split is below its running overall target
            s = max(fractions, key=lambda s: (n * fractions[s] - counts[s]) + (fractions[s] * done_units - given[s] - counts[s]))
            counts[s] += 1
        start = 0
        for s in fractions:
            for unit in units[start:start + counts[s]]:
                out[s].extend(unit)
            start += counts[s]
            given[s] += counts[s]
    for s in out:
        out[s].sort(key=lambda r: (r.plan_index, r.id))
    return out


def build_dataset(records: Iterable[Review], settings: PublishSettings,
                  human_labels: Collection[str] = ()) -> "datasets.DatasetDict":
    """Split `records` (see `split_records`) into a DatasetDict with the explicit `features()`.

    `human_labels`: ids whose label a reviewer set (their `label_source` is "human").

    A split with no rows (only possible with a handful of reviews) is left out rather than written
    empty, because `load_dataset` cannot load an empty parquet split back.
    """
    from datasets import Dataset, DatasetDict

    recs = list(records)
    if not recs:
        raise PublishError("no records to publish", "run `sarcgen generate` and `sarcgen filter` first")
    seen: set[str] = set()
    for r in recs:
        if r.id in seen:
            raise PublishError(f"duplicate record id {r.id!r}", "each review must have a unique id; re-run `sarcgen filter`")
        seen.add(r.id)
    feats = features()
    dd = DatasetDict()
    for split, rows in split_records(recs, settings).items():
        if not rows:  # too few reviews for this split: an empty parquet split cannot be loaded back
            log.info("the %s split is empty (%d reviews in all): it is left out", split, len(recs))
            continue
        columns: dict[str, list[Any]] = {name: [] for name in feats}
        for r in rows:
            for name, value in record_to_row(r, r.id in human_labels).items():
                columns[name].append(value)
        dd[split] = Dataset.from_dict(columns, features=feats)
    return dd


def split_warnings(dd: "datasets.DatasetDict", settings: PublishSettings, total: int) -> list[str]:
    """Say when a split is missing, or far from its requested share (small strata, see split_records)."""
    out = []
    for split, frac in check_fractions(settings).items():
        if split not in dd:
            out.append(f"the {split} split would be empty ({total} reviews in all): left out")
        elif abs(len(dd[split]) / total - frac) > 0.05:
            out.append(f"the {split} split holds {len(dd[split]) / total:.0%} of the reviews, not {frac:.0%}: with "
                       "few reviews per technique, every split still gets at least one of each")
    return out


# ---------------------------------------------------------------------------------------------
# Reading a run folder


@dataclass
class RunInputs:
    """What publish reads from a run folder."""

    run_dir: Path
    source: Path
    records: list[Review]
    filter_report: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    recipe: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    review: HumanReview = field(default_factory=HumanReview)  # decisions from `sarcgen review`


def read_reviews(path: Path, *, one_recipe: bool = True) -> list[Review]:
    """Validate every line of a JSONL file of Review records (errors name the file and line).

    `one_recipe` refuses a file whose records name two recipe hashes (a resume with other settings
    appended to the run); pass False where several runs were combined on purpose."""
    out = []
    mix = RecipeMix()
    for line_no, obj in iter_jsonl(path):
        try:
            review = Review.model_validate(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "(record)"
            raise InputError(f"{path}:{line_no}: not a sarcgen review record: {key}: {first['msg']}") from None
        mixed = mix.add(line_no, review)
        if mixed and one_recipe:
            raise InputError(*RecipeMix.message(path, mixed))
        out.append(review)
    return out


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        obj = json.loads(read_text(path))
    except ValueError as exc:
        raise InputError(f"{path}: invalid JSON ({exc})", "re-run the stage that wrote it") from None
    return obj if isinstance(obj, dict) else None


def find_records_file(run_dir: Path) -> tuple[Path, list[str]]:
    """filtered.jsonl, else generated.jsonl with a warning. Raises InputError when neither exists."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder", "pass the folder `sarcgen generate` wrote (outputs/<run>)")
    filtered, generated = run_dir / "filtered.jsonl", run_dir / "generated.jsonl"
    if filtered.is_file():
        return filtered, []
    if generated.is_file():
        msg = (f"{filtered} not found: publishing UNFILTERED {generated.name} (no validation, deduplication "
               f"or decontamination); run `sarcgen filter {run_dir}` first")
        return generated, [msg]
    raise InputError(f"{run_dir}: neither filtered.jsonl nor generated.jsonl found",
                     "run `sarcgen generate` (and `sarcgen filter`) into this folder first")


def run_recipe(run_dir: str | Path, warnings: list[str] | None = None) -> dict[str, Any] | None:
    """The resolved recipe a run folder holds (recipe.yaml), as a plain dict, or None."""
    path = Path(run_dir) / "recipe.yaml"
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(read_text(path))
    except (yaml.YAMLError, FileError) as exc:
        if warnings is not None:
            warnings.append(f"{path}: unreadable YAML ({exc}); the card omits the recipe summary")
        return None
    return loaded if isinstance(loaded, dict) else None


def read_run(run_dir: str | Path) -> RunInputs:
    """Records plus the optional filter_report.json, manifest.json and recipe.yaml of a run folder.

    Human decisions in RUN/review.jsonl (`sarcgen review`) are applied here: rejected records are
    left out and flipped labels replace the generated ones (see `sarcgen.review.store`).
    """
    run = Path(run_dir)
    source, warnings = find_records_file(run)  # callers show the warnings (CLI, card, log)
    filter_report = _read_json(run / "filter_report.json")
    # `sarcgen filter A B --out DIR` combines runs on purpose (its report lists every input).
    combined = source.name == "filtered.jsonl" and len((filter_report or {}).get("inputs") or []) > 1
    records = read_reviews(source, one_recipe=not combined)
    if not records:
        raise InputError(f"{source}: no records", "nothing survived; generate more or relax the filter thresholds")
    records, review = apply_decisions(records, load_decisions(run))
    if not records:
        raise InputError(f"{run}: every record was rejected in review.jsonl", "accept or clear some in `sarcgen review`")
    recipe = run_recipe(run, warnings)
    return RunInputs(run, source, records, filter_report, _read_json(run / "manifest.json"), recipe, warnings, review)


# ---------------------------------------------------------------------------------------------
# Writing and publishing


def owned_files(out_dir: Path) -> set[str]:
    """Paths (relative to `out_dir`) an earlier publish wrote there, from its marker publish.json,
    after refusing with PublishError when the folder holds a file publish would replace but did not
    write (a README.md, data/*.parquet or hf_dataset/ of someone else's)."""
    listed = _marker(out_dir).get("files")
    owned = {str(f) for f in listed} | {"README.md", HF_DATASET_DIR} if isinstance(listed, list) else set()
    candidates = [out_dir / "README.md", out_dir / HF_DATASET_DIR]
    if (out_dir / DATA_DIR).is_dir():
        candidates += sorted((out_dir / DATA_DIR).glob("*.parquet"))
    for path in candidates:
        if path.exists() and path.relative_to(out_dir).as_posix() not in owned:
            raise PublishError(
                f"{path}: not written by sarcgen publish (no {PUBLISH_REPORT} in {out_dir} lists it); refusing to replace it",
                "pass --out NEW_DIR (an empty or new folder), or move that file away yourself")
    return owned


def write_dataset(dd: "datasets.DatasetDict", out_dir: Path, card: str | None = None) -> None:
    """Write data/<split>-00000-of-00001.parquet, the save_to_disk copy and (if given) README.md.

    Only files an earlier publish wrote (its publish.json lists them) are replaced, so a stale split
    cannot linger and be loaded by `load_dataset`; anything else in the way is refused
    (`owned_files`). The marker is written first, listing what this publish will write, so a
    publish that dies half-way can be re-run.
    """
    with file_errors(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    owned = owned_files(out_dir)
    planned = ["README.md"] + [split_file(s) for s in dd]
    write_json(out_dir / PUBLISH_REPORT, {"status": "writing", "files": sorted(owned | set(planned))})
    with file_errors(out_dir / DATA_DIR):
        for rel in sorted(owned):
            path = out_dir / rel
            if rel.startswith(DATA_DIR + "/") and path.is_file():
                path.unlink()
        if (out_dir / HF_DATASET_DIR).is_dir():
            shutil.rmtree(out_dir / HF_DATASET_DIR)
        (out_dir / DATA_DIR).mkdir(exist_ok=True)
    for split, ds in dd.items():
        with file_errors(out_dir / split_file(split)):
            ds.to_parquet(str(out_dir / split_file(split)))
    with file_errors(out_dir / HF_DATASET_DIR):
        dd.save_to_disk(str(out_dir / HF_DATASET_DIR))
    if card is not None:
        write_text(out_dir / "README.md", card)


def publish_complete(out_dir: Path) -> bool:
    """A publish finished writing `out_dir` (its publish.json is the final report, not the marker)."""
    report = _marker(out_dir)
    return bool(report) and report.get("status", "complete") == "complete"


def _marker(out_dir: Path) -> dict[str, Any]:
    """publish.json of `out_dir` ({} when missing or unreadable: then publish owns nothing there)."""
    try:
        return _read_json(out_dir / PUBLISH_REPORT) or {}
    except InputError:
        return {}


@dataclass
class PublishResult:
    """Where publish wrote (and pushed) what."""

    out_dir: Path
    source: Path
    split_sizes: dict[str, int]
    files: list[str]
    warnings: list[str]
    url: str | None = None
    review: HumanReview = field(default_factory=HumanReview)


def publish_run(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    settings: PublishSettings | None = None,
    *,
    push: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> PublishResult:
    """Build, write and optionally push the dataset of one run folder.

    `out_dir` defaults to RUN/dataset; `settings` to the run's recipe.yaml publish section (else the
    defaults). `push`/`private` override the settings; the token comes from `token`, HF_TOKEN or the
    cached login (see `sarcgen.publish.push.push_folder`). The dataset is always written locally first, so
    a failed push leaves a complete local copy to retry from.
    """
    from sarcgen.publish.card import render_card

    inputs = read_run(run_dir)
    if settings is None:
        settings = _settings_from_recipe(inputs.recipe)
    check_classes(inputs, settings)
    dd = build_dataset(inputs.records, settings, inputs.review.human_labels)
    inputs.warnings.extend(split_warnings(dd, settings, len(inputs.records)))
    out = Path(out_dir) if out_dir is not None else inputs.run_dir / "dataset"
    repo_id = push if push is not None else settings.push
    write_dataset(dd, out)
    # The card is rendered after the parquet files exist, so it can state their download size.
    card = render_card(dd, inputs, settings, repo_id=repo_id, out_dir=out)
    write_text(out / "README.md", card)
    files = ["README.md"] + [split_file(s) for s in dd]
    result = PublishResult(out, inputs.source, {s: len(ds) for s, ds in dd.items()}, files, inputs.warnings,
                           review=inputs.review)
    report = {"status": "complete", "source": str(inputs.source), "split_sizes": result.split_sizes, "files": files,
              "warnings": inputs.warnings, "settings": settings.model_dump(mode="json"),
              "human_review": inputs.review.counts()}
    write_json(out / PUBLISH_REPORT, report)
    if repo_id:
        from sarcgen.publish.push import push_folder

        is_private = settings.private if private is None else private
        result.url = push_folder(out, repo_id, private=is_private, token=token, endpoint=endpoint).url
    return result


def check_classes(inputs: RunInputs, settings: PublishSettings) -> None:
    """Refuse a dataset that lacks sarcastic negatives, or sincere positives when the run planned
    contrast twins (generate.twin_ratio > 0), unless publish.allow_missing_class."""
    from sarcgen.records import CLASSES, SINCERE_POSITIVE, review_class

    twins = ((inputs.recipe or {}).get("generate") or {}).get("twin_ratio", 1.0)
    expected = [c for c in CLASSES if c != SINCERE_POSITIVE or twins]
    present = {review_class(r.label, r.sarcastic) for r in inputs.records}
    missing = [c for c in expected if c not in present]
    if not missing:
        return
    msg = f"{inputs.source} holds no {' and no '.join(missing)} ({len(inputs.records)} reviews)"
    if settings.allow_missing_class:
        inputs.warnings.append(msg + "; published anyway (publish.allow_missing_class)")
        return
    raise PublishError(msg + ": a dataset without that class teaches the opposite of the study (see the filter report's first lines)",
                       "generate more, use a stronger model or judge, or pass --allow-missing-class to publish it anyway")


def _settings_from_recipe(recipe: dict[str, Any] | None) -> PublishSettings:
    section = (recipe or {}).get("publish")
    if not isinstance(section, dict):
        return PublishSettings()
    try:
        return PublishSettings.model_validate(section)
    except ValidationError as exc:
        raise InputError(f"run folder recipe.yaml: invalid publish section: {exc.errors()[0]['msg']}",
                         "pass --recipe with a valid recipe") from None
