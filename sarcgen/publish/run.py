"""Publish a run's reviews as a `datasets.DatasetDict` with a dataset card, on disk and on the Hub.

Flow (named steps of `publish_run`): read the run folder (`sarcgen.publish.inputs`: filtered.jsonl,
or generated.jsonl with a loud warning) -> resolve the settings (the run's recipe.yaml publish
section unless given) -> split and build (`sarcgen.publish.split`, `sarcgen.publish.schema`:
seeded, stratified, explicit Features) -> write both `save_to_disk` and the Hub layout (README.md +
data/<split>-00000-of-00001.parquet) -> render the card -> record the stage in the manifest ->
optionally push (`sarcgen.publish.push.push_folder`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.errors import InputError, PublishError, file_errors
from sarcgen.jsonl import json_number, json_object, write_json, write_text
from sarcgen.publish.inputs import RunInputs, read_json, read_run_inputs
from sarcgen.publish.schema import (
    CARD,
    DATA_DIR,
    HF_DATASET_DIR,
    PUBLISH_REPORT,
    build_dataset,
    split_file,
)
from sarcgen.publish.split import split_warnings
from sarcgen.recipe import PublishSettings
from sarcgen.review.store import REVIEW_FILE, HumanReview

if TYPE_CHECKING:  # heavy imports stay inside functions
    import datasets


def owned_files(out_dir: Path) -> set[str]:
    """Paths (relative to `out_dir`) an earlier publish wrote there, from its marker publish.json,
    after refusing with PublishError when the folder holds a file publish would replace but did not
    write (a README.md, data/*.parquet or hf_dataset/ of someone else's)."""
    listed = _marker(out_dir).get("files")
    owned = {str(f) for f in listed} | {CARD, HF_DATASET_DIR} if isinstance(listed, list) else set()
    candidates = [out_dir / CARD, out_dir / HF_DATASET_DIR]
    if (out_dir / DATA_DIR).is_dir():
        candidates += sorted((out_dir / DATA_DIR).glob("*.parquet"))
    for path in candidates:
        if path.exists() and path.relative_to(out_dir).as_posix() not in owned:
            raise PublishError(
                f"{path}: not written by sarcgen publish (no {PUBLISH_REPORT} in {out_dir} lists it); refusing to replace it",
                "pass --out NEW_DIR (an empty or new folder), or move that file away yourself")
    return owned


def write_dataset(dd: datasets.DatasetDict, out_dir: Path, card: str | None = None) -> None:
    """Write data/<split>-00000-of-00001.parquet, the save_to_disk copy and (if given) README.md.

    Only files an earlier publish wrote (its publish.json lists them) are replaced, so a stale split
    cannot linger and be loaded by `load_dataset`; anything else in the way is refused
    (`owned_files`). The marker is written first, listing what this publish will write, so a
    publish that dies half-way can be re-run.
    """
    with file_errors(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    owned = owned_files(out_dir)
    planned = [CARD] + [split_file(s) for s in dd]
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
        write_text(out_dir / CARD, card)


def publish_complete(out_dir: Path) -> bool:
    """A publish finished writing `out_dir` (its publish.json is the final report, not the marker)."""
    report = _marker(out_dir)
    return bool(report) and report.get("status", "complete") == "complete"


def _marker(out_dir: Path) -> dict[str, object]:
    """publish.json of `out_dir` ({} when missing or unreadable: then publish owns nothing there)."""
    try:
        return read_json(out_dir / PUBLISH_REPORT) or {}
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
    """Build, write and optionally push the dataset of one run folder; record the stage in its manifest.

    `out_dir` defaults to RUN/dataset; `settings` to the run's recipe.yaml publish section (else the
    defaults). `push`/`private` override the settings; the token comes from `token`, HF_TOKEN or the
    cached login (see `sarcgen.publish.push.push_folder`). The dataset is always written locally first, so
    a failed push leaves a complete local copy to retry from.
    """
    inputs = read_run_inputs(run_dir)
    if settings is None:
        settings = rf.resolve_recipe(None, inputs.run_dir, stage="publish").recipe.publish
    check_classes(inputs, settings)
    repo_id = push if push is not None else settings.push
    is_private = settings.private if private is None else private
    dd = build_dataset(inputs.records, settings, inputs.review.human_labels)
    inputs.warnings.extend(split_warnings(dd, settings, len(inputs.records)))
    inputs.warnings.extend(label_warnings(inputs))
    out = Path(out_dir) if out_dir is not None else inputs.run_dir / rf.DATASET_DIR
    write_dataset(dd, out)
    result = _write_card_and_report(dd, inputs, settings, repo_id, out)
    if repo_id:
        from sarcgen.publish.push import push_folder

        result.url = push_folder(out, repo_id, private=is_private, token=token, endpoint=endpoint).url
    record_publish(inputs.run_dir, inputs.source, out, publish_fingerprint(settings, repo_id, is_private))
    return result


def label_warnings(inputs: RunInputs) -> list[str]:
    """The filter's loud line when no judge that passed its calibration confirmed the labels."""
    from sarcgen.filter.classes import label_gate

    if inputs.unfiltered:
        return []  # the unfiltered banner says more
    _, warning = label_gate(json_object((inputs.filter_report or {}).get("judge")))
    return [warning] if warning else []


def check_classes(inputs: RunInputs, settings: PublishSettings) -> None:
    """Refuse a dataset that lacks sarcastic negatives, or sincere positives when the run planned
    contrast twins (generate.twin_ratio > 0), or in which the filter left fewer than
    filter.vanished_class_share of a class it read (the filter report's counts), unless
    publish.allow_missing_class."""
    from collections import Counter

    from sarcgen.filter.classes import vanished
    from sarcgen.records import CLASSES, SINCERE_POSITIVE, review_class

    recipe = inputs.recipe or {}
    twins = json_object(recipe.get("generate")).get("twin_ratio", 1.0)
    share = json_number(json_object(recipe.get("filter")).get("vanished_class_share"), 0.1)
    read = json_object(json_object((inputs.filter_report or {}).get("classes")).get("read"))
    expected = [c for c in CLASSES if c != SINCERE_POSITIVE or twins]
    present = Counter(review_class(r.label, r.sarcastic) for r in inputs.records)
    missing = [c for c in expected if not present[c]]
    few = [f"{present[c]} of the {read[c]} {c} read" for c in expected
           if present[c] and vanished(int(json_number(read.get(c))), present[c], share)]
    if not missing and not few:
        return
    what = [f"no {c}" for c in missing] + few
    msg = (f"{inputs.source} holds {' and '.join(what)} ({len(inputs.records)} reviews"
           + (f"; a class counts as vanished below filter.vanished_class_share {share} of what was read)" if few else ")"))
    if settings.allow_missing_class:
        inputs.warnings.append(msg + "; published anyway (publish.allow_missing_class)")
        return
    raise PublishError(msg + ": a dataset without that class teaches the opposite of the study (see the filter report's first lines)",
                       "generate more, use a stronger model or judge, or pass --allow-missing-class to publish it anyway")


def _write_card_and_report(dd: datasets.DatasetDict, inputs: RunInputs, settings: PublishSettings,
                           repo_id: str | None, out: Path) -> PublishResult:
    """README.md (rendered after the parquet files exist, so it can state their download size) and publish.json."""
    from sarcgen.publish.card import render_card

    card = render_card(dd, inputs, settings, repo_id=repo_id, out_dir=out)
    write_text(out / CARD, card)
    files = [CARD] + [split_file(s) for s in dd]
    result = PublishResult(out, inputs.source, {s: len(ds) for s, ds in dd.items()}, files, inputs.warnings,
                           review=inputs.review)
    report = {"status": "complete", "source": str(inputs.source), "split_sizes": result.split_sizes, "files": files,
              "warnings": inputs.warnings, "settings": settings.model_dump(mode="json"),
              "human_review": inputs.review.counts()}
    write_json(out / PUBLISH_REPORT, report)
    return result


def publish_fingerprint(settings: PublishSettings, repo_id: str | None, private: bool) -> str:
    """The settings hash publish records: its section, with the push target actually used."""
    return rf.settings_hash({**settings.model_dump(mode="json"), "push": repo_id, "private": private})


def publish_inputs(run_dir: Path, source: Path) -> dict[str, str | None]:
    """Fingerprints of what publish reads: the records file and the human decisions (`sarcgen review`)."""
    return {source.name: rf.fingerprint(source), REVIEW_FILE: rf.fingerprint(run_dir / REVIEW_FILE)}


def record_publish(run_dir: Path, source: Path, out: Path, settings: str) -> None:
    """Record publish's completion in the run folder's manifest (when it is one)."""
    if not rf.is_run_folder(run_dir):
        return
    rf.record_stage(run_dir, "publish", inputs=publish_inputs(run_dir, source), settings=settings,
                    outputs=[_relative(out, run_dir)])


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
