"""The synthetic splits for run B: from a run folder, a published folder, a JSONL file or a Hub id.

`sarcgen.synthetic.load_synthetic` (the publish stage's loader) is used when it is available; the
small adapter below covers the same sources until then, and keeps finetune-compare usable on a bare
JSONL of records (handy for hand-made data). Either way the result is three `TextSet`s.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sarcgen.errors import InputError
from sarcgen.finetune.data import TextSet, clean_text, hub_reachable, validate_table

SPLITS = ("train", "validation", "test")
RECORD_FILES = ("filtered.jsonl", "generated.jsonl")


def _from_datasetdict(dd: Any, source: str) -> dict[str, TextSet]:
    out = {}
    for split in SPLITS:
        if split not in dd:
            out[split] = TextSet(f"synthetic-{split}", [], [], [])
            continue
        df = dd[split].to_pandas()
        ts = validate_table(df, f"{source}[{split}]") if len(df) else TextSet(split, [], [], [])
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


def _local_adapter(src: str) -> dict[str, TextSet]:
    p = Path(src)
    if p.is_file():
        if p.suffix == ".jsonl":
            return _from_records(p)
        raise InputError(f"{p}: unsupported synthetic file", "pass a run folder, a published folder, a .jsonl or a Hub id")
    if p.is_dir():
        import datasets

        for cand in (p, p / "hf_dataset"):
            if (cand / "dataset_dict.json").is_file():
                return _from_datasetdict(datasets.load_from_disk(str(cand)), str(cand))
        if (p / "data").is_dir() and any((p / "data").glob("*.parquet")):
            return _from_datasetdict(datasets.load_dataset(str(p)), str(p))
        for name in RECORD_FILES:
            if (p / name).is_file():
                return _from_records(p / name)
        raise InputError(f"{p}: no synthetic data found", "expected filtered.jsonl/generated.jsonl, a published dataset, or data/*.parquet")
    if "/" in src and not src.startswith((".", "/")):
        if not hub_reachable():
            raise InputError(f"cannot download synthetic dataset {src!r}: the Hugging Face Hub is not reachable (offline)",
                             "pass a local run folder or published folder with --synthetic")
        import datasets

        try:
            return _from_datasetdict(datasets.load_dataset(src), src)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot load synthetic dataset {src!r}: {str(exc).splitlines()[0]}") from None
    raise InputError(f"{src}: no such file or folder", "pass a run folder, a published folder, a .jsonl or a Hub dataset id")


def load_synthetic_splits(src: str) -> dict[str, TextSet]:
    """train / validation / test TextSets of the synthetic data; an empty train split is an error."""
    try:
        from sarcgen.synthetic import load_synthetic  # type: ignore[import-not-found]
    except ImportError:
        splits = _local_adapter(src)
    else:
        if Path(src).is_file() and src.endswith(".jsonl"):
            splits = _from_records(Path(src))  # a bare JSONL of records is not a run folder
        else:
            splits = _from_datasetdict(load_synthetic(src), src)
    if len(splits["train"]) == 0:
        raise InputError(f"{src}: the synthetic training split is empty",
                         "generate and filter some reviews first (sarcgen generate / sarcgen filter)")
    return splits
