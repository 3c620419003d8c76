"""The synthetic splits for run B: from a run folder, a published folder, a JSONL file or a Hub id.

`sarcgen.publish.load.load_synthetic` (publish's round trip) reads run folders, published folders and
Hub ids; a bare JSONL of records is read here, leniently, so hand-made data works too. Either way
the result is three `TextSet`s.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sarcgen.errors import InputError
from sarcgen.finetune.data import TextSet, clean_text, validate_table

SPLITS = ("train", "validation", "test")


def _from_datasetdict(dd: Any, source: str) -> dict[str, TextSet]:
    out = {}
    for split in SPLITS:
        if split not in dd:
            out[split] = TextSet(f"synthetic-{split}", [], [], [])
            continue
        rows = dd[split]
        ts = validate_table(rows.to_dict(), f"{source}[{split}]") if len(rows) else TextSet(split, [], [], [])
        ts.name = f"synthetic-{split}"
        out[split] = ts
    return out


def _split_of(key: str) -> str:
    """A deterministic 80/10/10 split by pair id, so contrast twins stay together."""
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def _from_records(path: Path) -> dict[str, TextSet]:
    from sarcgen.jsonl import read_jsonl

    rows = read_jsonl(path)
    out = {s: TextSet(f"synthetic-{s}", [], [], []) for s in SPLITS}
    for i, row in enumerate(rows, start=1):
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or label is None:
            raise InputError(f"{path}: record {i} has no 'text' or 'label'", "each line needs text and label (0/1)")
        if label not in (0, 1):
            raise InputError(f"{path}: record {i}: label {label!r} is outside {{0, 1}}", "labels must be 0 or 1")
        split = row.get("split") if row.get("split") in SPLITS else _split_of(str(row.get("pair_id") or row.get("id") or text))
        ts = out[split]
        ts.texts.append(clean_text(text))
        ts.labels.append(int(label))
        ts.meta.append({"sarcastic": row.get("sarcastic"), "device": row.get("device")})
    return out


def load_synthetic_splits(src: str) -> dict[str, TextSet]:
    """train / validation / test TextSets of the synthetic data; an empty train split is an error.

    A bare .jsonl is read leniently here (only text and label are required, so hand-made data
    works; twins stay together by pair_id). Everything else (run folder, published folder, Hub id)
    goes through `sarcgen.publish.load.load_synthetic`, which splits a run exactly as publish does.
    """
    from sarcgen.publish.load import load_synthetic

    p = Path(src).expanduser()
    if p.is_file() and p.suffix == ".jsonl":
        splits = _from_records(p)
    else:
        splits = _from_datasetdict(load_synthetic(src), src)
    if len(splits["train"]) == 0:
        raise InputError(f"{src}: the synthetic training split is empty",
                         "generate and filter some reviews first (sarcgen generate / sarcgen filter)")
    return splits
