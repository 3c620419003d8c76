"""The published schema: explicit `datasets.Features`, a Review flattened into a row, the Hub
layout's file names, and `build_dataset` (split + schema -> DatasetDict).

Why the explicit schema: `label` is a ClassLabel with IMDB's 0 = negative / 1 = positive, so after
`select_columns(["text", "label"])` the synthetic data concatenates with IMDB (once IMDB's label is
cast to the same ClassLabel). Provenance is flattened into plain columns so the Hub viewer, pandas
and parquet readers see it without nested structs; `sampling` is a JSON string for the same reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from sarcgen.errors import InputError, PublishError, first_problem
from sarcgen.jsonl import iter_jsonl
from sarcgen.publish.split import split_records
from sarcgen.recipe import PublishSettings
from sarcgen.records import LABEL_NAMES, RecipeMix, Review

if TYPE_CHECKING:  # heavy imports stay inside functions
    import datasets
    from datasets import ClassLabel, Value

log = logging.getLogger(__name__)

HF_DATASET_DIR = "hf_dataset"  # save_to_disk copy, beside the Hub layout
DATA_DIR = "data"
PUBLISH_REPORT = "publish.json"
CARD = "README.md"
PROVENANCE_COLUMNS = (
    "model_file", "model_sha256", "quantization", "backend", "backend_version", "template_name",
    "template_hash", "recipe_hash", "seed", "attempt", "created_at", "sarcgen_version", "sampling",
)


def split_file(split: str) -> str:
    """Hub-layout file name of one split (one shard: a few thousand reviews fit easily)."""
    return f"{DATA_DIR}/{split}-00000-of-00001.parquet"


def features() -> datasets.Features:
    """The published schema. text/label match IMDB's column names and label convention."""
    from datasets import ClassLabel, Features, Value

    string, int64 = Value("string"), Value("int64")
    cols: dict[str, Value | ClassLabel] = {
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
        # rewrite mode (generate.grounding): the real review it was rewritten from; null for free composition
        "source_key": string,
        "source_label": int64,
        "source_edit": Value("float64"),
    }
    for name in PROVENANCE_COLUMNS:
        cols[name] = int64 if name in ("seed", "attempt") else string
    return Features(cols)


def record_to_row(review: Review, human_label: bool = False) -> dict[str, object]:
    """Flatten one Review (provenance included) into a row of `features()`."""
    prov = review.provenance
    row = review.model_dump(mode="json", exclude={"provenance"})
    row["label_source"] = "human" if human_label else "generator"
    for name in PROVENANCE_COLUMNS:
        row[name] = getattr(prov, name)
    row["sampling"] = json.dumps(prov.sampling, sort_keys=True)
    source = prov.source or {}
    row["source_key"], row["source_label"], row["source_edit"] = source.get("key"), source.get("label"), source.get("edit")
    return row


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
            raise InputError(f"{path}:{line_no}: not a sarcgen review record: {first_problem(exc, '(record)')}") from None
        mixed = mix.add(line_no, review)
        if mixed and one_recipe:
            raise InputError(*RecipeMix.message(path, mixed))
        out.append(review)
    return out


def build_dataset(records: Iterable[Review], settings: PublishSettings,
                  human_labels: Collection[str] = ()) -> datasets.DatasetDict:
    """Split `records` (see `sarcgen.publish.split.split_records`) into a DatasetDict with the
    explicit `features()`. `human_labels`: ids whose label a reviewer set (`label_source` "human").

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
        columns: dict[str, list[object]] = {name: [] for name in feats}
        for r in rows:
            for name, value in record_to_row(r, r.id in human_labels).items():
                columns[name].append(value)
        dd[split] = Dataset.from_dict(columns, features=feats)
    return dd
