"""What publish reads from a run folder: the records (filtered.jsonl over generated.jsonl), the
filter report, the manifest and the recipe, for the dataset and its card."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sarcgen import runfolder as rf
from sarcgen.errors import InputError
from sarcgen.jsonl import json_list, read_text
from sarcgen.publish.schema import read_reviews
from sarcgen.records import Review
from sarcgen.review.store import (
    REVIEW_FILE,
    HumanReview,
    apply_decisions,
    load_decisions,
)


@dataclass
class RunInputs:
    """What publish reads from a run folder."""

    run_dir: Path
    source: Path
    records: list[Review]
    filter_report: dict[str, object] | None = None
    manifest: dict[str, object] | None = None
    recipe: dict[str, object] | None = None
    warnings: list[str] = field(default_factory=list)
    review: HumanReview = field(default_factory=HumanReview)  # decisions from `sarcgen review`

    @property
    def unfiltered(self) -> bool:
        """True when publish fell back to generated.jsonl."""
        return self.source.name != rf.FILTERED


def read_json(path: Path) -> dict[str, object] | None:
    """A JSON object file (None when missing or not an object); invalid JSON is an InputError."""
    if not path.is_file():
        return None
    try:
        obj = json.loads(read_text(path))
    except ValueError as exc:
        raise InputError(f"{path}: invalid JSON ({exc})", "re-run the stage that wrote it") from None
    return obj if isinstance(obj, dict) else None


def read_run_inputs(run_dir: str | Path) -> RunInputs:
    """Records plus the optional filter report, manifest and recipe of a run folder.

    Human decisions in RUN/review.jsonl (`sarcgen review`) are applied here: rejected records are
    left out and flipped labels replace the generated ones (see `sarcgen.review.store`).
    """
    run = Path(run_dir)
    source, warnings = rf.records_file(run)  # callers show the warnings (CLI, card, log)
    note = rf.unfinished_warning(run)
    if note:
        warnings.append(note)
    filter_report = read_json(run / rf.FILTER_REPORT_JSON)
    # `sarcgen filter A B --out DIR` combines runs on purpose (its report lists every input).
    combined = source.name == rf.FILTERED and len(json_list((filter_report or {}).get("inputs"))) > 1
    records = read_reviews(source, one_recipe=not combined)
    if not records:
        raise InputError(f"{source}: no records", "nothing survived; generate more or relax the filter thresholds")
    records, review = apply_decisions(records, load_decisions(run))
    if not records:
        raise InputError(f"{run}: every record was rejected in {REVIEW_FILE}", "accept or clear some in `sarcgen review`")
    recipe = rf.run_recipe_dict(run, warnings)
    manifest = rf.read_manifest(run) if (run / rf.MANIFEST).is_file() else None
    return RunInputs(run, source, records, filter_report, manifest, recipe, warnings, review)
