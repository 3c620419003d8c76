"""The synthetic splits for run B: the one reader finetune-compare (and the loop) takes them from.

A run folder is read from what `sarcgen publish` wrote (RUN/dataset), never split again in
memory, so the comparison trains on exactly the published rows and fingerprints them the same way
whichever path led there (`synthetic_location`, `rf.fingerprint`). A published folder or a Hub id
goes through `sarcgen.publish.load.load_synthetic`. A plain records .jsonl (hand-made data, or
generated.jsonl) is the one in-memory path: read leniently here and split by publish's own
`split_records`. Either way the result is three `TextSet`s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.errors import InputError
from sarcgen.finetune.data import META_COLUMNS, TextSet, clean_text, validate_table
from sarcgen.finetune.results import ClassBalance
from sarcgen.publish.split import SPLITS, split_records
from sarcgen.recipe import PublishSettings

if TYPE_CHECKING:
    import datasets


def _from_datasetdict(dd: datasets.DatasetDict, source: str) -> dict[str, TextSet]:
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


@dataclass(frozen=True)
class SyntheticRow:
    """A record of a bare JSONL, as `sarcgen.publish.split.split_records` sees it (a `Review` has
    the same fields): hand-made rows may lack id, plan_index, device or pair_id."""

    id: str
    plan_index: int
    pair_id: str | None
    label: int
    device: str
    sarcastic: bool
    text: str
    split: str | None
    meta: dict[str, object]


def read_records(path: Path) -> list[SyntheticRow]:
    """Every record of a records .jsonl (generated.jsonl, filtered.jsonl, hand-made rows), leniently: only
    text and label (0/1) are required. The one reader of raw synthetic records outside publish
    (finetune-compare's .jsonl source, the loop's kept rows)."""
    from sarcgen.jsonl import read_jsonl

    rows = []
    for i, row in enumerate(read_jsonl(path), start=1):
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or label is None:
            raise InputError(f"{path}: record {i} has no 'text' or 'label'", "each line needs text and label (0/1)")
        if label not in (0, 1):
            raise InputError(f"{path}: record {i}: label {label!r} is outside {{0, 1}}", "labels must be 0 or 1")
        plan_index = row.get("plan_index")
        rows.append(SyntheticRow(id=str(row.get("id") or f"{path.name}:{i}"),
                         plan_index=plan_index if isinstance(plan_index, int) else i,
                         pair_id=str(row["pair_id"]) if row.get("pair_id") is not None else None, label=int(label),
                         device=str(row.get("device") or ""), sarcastic=bool(row.get("sarcastic")), text=text,
                         split=row.get("split") if row.get("split") in SPLITS else None,
                         meta={c: row.get(c) for c in META_COLUMNS if c in row} | _source_meta(row)))
    return rows


def _source_meta(row: Mapping[str, object]) -> dict[str, object]:
    """A generated record's rewrite source (provenance.source.key) as the `source_key` column."""
    prov = row.get("provenance")
    source = prov.get("source") if isinstance(prov, dict) else None
    return {"source_key": source["key"]} if isinstance(source, dict) and source.get("key") else {}


def source_keys(splits: dict[str, TextSet]) -> set[str]:
    """The rewrite sources of the synthetic data (every split): real reviews that must stay out of
    the comparison's validation and test samples."""
    return {str(m["source_key"]) for ts in splits.values() for m in ts.meta or [] if m.get("source_key")}


def _from_records(path: Path, settings: PublishSettings) -> dict[str, TextSet]:
    """Rows with a `split` column keep it; the rest are split exactly as `sarcgen publish` splits."""
    rows = read_records(path)
    by_split: dict[str, list[SyntheticRow]] = {s: [r for r in rows if r.split == s] for s in SPLITS}
    if any(r.split is None for r in rows):
        for split, part in split_records([r for r in rows if r.split is None], settings).items():
            by_split[split].extend(part)
    out = {s: TextSet(f"synthetic-{s}", [], [], []) for s in SPLITS}
    for split, part in by_split.items():
        for r in sorted(part, key=lambda r: (r.plan_index, r.id)):
            out[split].texts.append(clean_text(r.text))
            out[split].labels.append(r.label)
            out[split].meta.append(r.meta)
    return out


def synthetic_location(src: str) -> Path | None:
    """The local file or folder the synthetic rows are read from (a run folder: its published
    RUN/dataset); None for a Hub id. What the comparison fingerprints and the manifest records."""
    p = Path(src).expanduser()
    run = rf.run_folder_of(p)
    if run is not None:
        return run / rf.DATASET_DIR
    return p if p.exists() else None


def published_dataset(src: str) -> Path:
    """RUN/dataset of a run folder (or that folder itself), once publish has finished writing it."""
    from sarcgen.publish.run import publish_complete

    run = rf.run_folder_of(src)
    if run is None or not publish_complete(run / rf.DATASET_DIR):
        raise InputError(f"{Path(src) if run is None else run / rf.DATASET_DIR}: not published yet "
                         "(finetune-compare reads a run folder's published dataset)",
                         f"run `sarcgen publish {run or src}` first, or `sarcgen run`, which publishes before it compares")
    return run / rf.DATASET_DIR


def load_synthetic_splits(src: str) -> dict[str, TextSet]:
    """train / validation / test TextSets of the synthetic data; an empty train split is an error.

    A run folder (or its dataset/ folder) is read from RUN/dataset, as publish wrote it; a plain
    records .jsonl is read leniently (only text and label are required, so hand-made data works)
    and split in memory by publish's `split_records` with the default split settings. A published
    folder elsewhere or a Hub id goes through `sarcgen.publish.load.load_synthetic`.
    """
    from sarcgen.publish.load import load_synthetic

    p = Path(src).expanduser()
    if rf.run_folder_of(p) is not None:
        splits = _from_datasetdict(load_synthetic(published_dataset(src)), src)
    elif p.is_file() and p.suffix == ".jsonl":
        splits = _from_records(p, PublishSettings())
    else:
        splits = _from_datasetdict(load_synthetic(src), src)
    if len(splits["train"]) == 0:
        raise InputError(f"{src}: the synthetic training split is empty",
                         "generate and filter some reviews first (sarcgen generate / sarcgen filter)")
    return splits


# ------------------------------------------------------------------------------------- mixing
def pair_units(ts: TextSet) -> list[list[int]]:
    """Row indices grouped so that contrast twins (same pair_id) form one unit; others stand alone."""
    units: dict[str, list[int]] = {}
    for i in range(len(ts)):
        pid = (ts.meta[i] if ts.meta else {}).get("pair_id")
        key = f"pair:{pid}" if isinstance(pid, str) and pid else f"row:{i}"
        units.setdefault(key, []).append(i)
    return list(units.values())


def sample_synthetic(train: TextSet, ratio: float | None, n_base: int, seed: int) -> TextSet:
    """The synthetic rows run B adds: `ratio` synthetic rows per base (IMDB) row, twins kept together.

    `ratio` None takes the whole split once. Otherwise whole units (a review, or a sarcastic review
    with its sincere twin) are drawn in a seeded random order until round(ratio * n_base) rows are
    reached. No row is ever repeated: when the split holds fewer rows than the ratio asks for, every
    row is taken once (`shortfall` says how many are missing, and the report says so). Repeating
    survivors, as earlier versions did (97 rows became 321), teaches B those few texts by heart.
    """
    import random

    if ratio is None:
        return TextSet(train.name, list(train.texts), list(train.labels), list(train.meta))
    target = round(ratio * n_base)
    order = pair_units(train)
    random.Random(f"synthetic-mix|{seed}").shuffle(order)
    picked: list[int] = []
    for unit in order:
        if len(picked) >= target:
            break
        picked += unit
    return train.rows(picked)


def shortfall(train: TextSet, ratio: float | None, n_base: int) -> int:
    """Rows the ratio asks for beyond what the synthetic train split holds (0 when it has enough)."""
    return 0 if ratio is None else max(0, round(ratio * n_base) - len(train))


def shortfall_line(used: int, missing: int) -> str:
    """What the report and the console say when the ratio asks for more rows than exist."""
    return (f"the mix asks for {used + missing} synthetic rows, the split holds {used}: all {used} are used once, "
            f"none repeated ({missing} short)")


def balance(ts: TextSet) -> ClassBalance:
    """Class, sarcastic/sincere and device counts of a set, and the larger-to-smaller class ratio."""
    from collections import Counter

    meta = ts.meta or [{}] * len(ts)
    labels = Counter(ts.labels)
    neg, pos = labels.get(0, 0), labels.get(1, 0)
    devices = Counter(str(m.get("device")) for m in meta if m.get("device") is not None)
    kinds = Counter("sarcastic" if m.get("sarcastic") else "sincere" for m in meta if m.get("sarcastic") is not None)
    ratio = max(neg, pos) / min(neg, pos) if min(neg, pos) else float("inf") if max(neg, pos) else 1.0
    return ClassBalance(n=len(ts), negative=neg, positive=pos, class_ratio=ratio, kinds=dict(sorted(kinds.items())),
                        devices=dict(sorted(devices.items())), pairs=sum(1 for u in pair_units(ts) if len(u) > 1))


def balance_line(b: ClassBalance, threshold: float) -> str:
    """One printable line; ends with a WARNING when one class outweighs the other beyond `threshold`."""
    devices = ", ".join(f"{k} {v}" for k, v in b.devices.items())
    line = (f"{b.n} rows: {b.negative} negative / {b.positive} positive (ratio {b.class_ratio:.2f}), "
            f"{b.pairs} twin pairs; devices: {devices or 'n/a'}")
    if b.class_ratio > threshold:
        line += f" -- WARNING: one class outweighs the other by more than {threshold:g}:1"
    return line
