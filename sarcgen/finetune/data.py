"""Data for finetune-compare: the IMDB base sample, challenge sets and the synthetic splits.

Every set is a `TextSet` (parallel lists of texts and 0/1 labels, IMDB convention: 0 = negative).
Base data comes from the Hub (`stanfordnlp/imdb`) or from local files (`--base-data`: a folder with
train/test files, or one file; CSV, CSV.gz, JSONL or parquet with `text` and `label` columns). The
sample is drawn with a fixed seed and stratified by label, so runs A and B see exactly the same
IMDB reviews, and so does every later run with the same settings.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sarcgen.errors import InputError
from sarcgen.hub import hub_reachable
from sarcgen.records import label_from_name
from sarcgen.tables import TABLE_SUFFIXES, match_columns, read_columns

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")


@dataclass
class TextSet:
    """A labelled evaluation or training set. `meta` holds optional per-row extras (kind, device)."""

    name: str
    texts: list[str]
    labels: list[int]
    meta: list[dict[str, object]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def rows(self, indices: Sequence[int]) -> TextSet:
        """The rows at `indices`, in that order, with their meta (same name)."""
        meta = self.meta or [{}] * len(self)
        return TextSet(self.name, [self.texts[i] for i in indices], [self.labels[i] for i in indices], [meta[i] for i in indices])

    def __add__(self, other: TextSet) -> TextSet:
        meta = (self.meta or [{}] * len(self)) + (other.meta or [{}] * len(other))
        return TextSet(f"{self.name}+{other.name}", self.texts + other.texts, self.labels + other.labels, meta)


@dataclass
class BaseSplits:
    """The IMDB sample: train / validation / test, plus where it came from."""

    train: TextSet
    validation: TextSet
    test: TextSet
    source: str
    removed: dict[str, int] = field(default_factory=dict)  # eval set -> pool texts removed as (near) copies of it


def clean_text(text: str) -> str:
    """IMDB reviews carry HTML line breaks (`<br /><br />`); make them plain whitespace."""
    text = _BR.sub(" ", str(text))
    return _SPACES.sub(" ", text).strip()


def find_imdb_dir(start: Path | None = None) -> Path | None:
    """$SARCGEN_IMDB_DIR, else the first `shared/data/imdb` found walking up from `start` (or cwd)."""
    env = os.environ.get("SARCGEN_IMDB_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = (start or Path.cwd()).resolve()
    for parent in [here, *here.parents]:
        cand = parent / "shared" / "data" / "imdb"
        if cand.is_dir():
            return cand
    return None


# --------------------------------------------------------------------------------------- tables
def _label(value: object) -> int | None:
    """0 / 1 from a label cell: 0, 1, "0", "1.0", "negative", "Positive", ...; None when it is none of them."""
    named = label_from_name(value)
    if named is not None:
        return named
    if isinstance(value, bool):  # JSON true/false: which class "true" means is a guess, so refuse it
        return None
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number in (0.0, 1.0) else None


_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
# Per-row columns kept beside text and label: groups (kind / sarcastic), slices and contrast pairs.
META_COLUMNS = ("kind", "sarcastic", "device", "aspect", "genre", "length", "cue", "pair_id", "id", "rating", "source_key")


def present(v: object) -> bool:
    """False for None and NaN (what pandas puts in an empty cell)."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _meta_value(column: str, value: object) -> object:
    """A meta cell as Python: numpy scalars unwrapped; csv's "True"/"False" sarcastic flags as bools."""
    if hasattr(value, "item"):
        value = value.item()
    if column == "sarcastic" and isinstance(value, str):
        v = value.strip().lower()
        return True if v in _TRUE else False if v in _FALSE else None
    return value


def _stars(value: object) -> float | None:
    try:
        v = float(value.item() if hasattr(value, "item") else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if present(v) and 1 <= v <= 5 else None


def labels_from_ratings(columns: Mapping[str, Sequence[object]], source: str) -> dict[str, list[object]]:
    """A table with star ratings (1-5) and no label: 1-2 stars -> 0, 4-5 stars -> 1, 3 stars dropped.

    This is how a public sarcasm corpus with star ratings plugs in (see docs/human-eval.md): the
    rating gives the intended sentiment, a `sarcastic` column says which reviews are ironic.
    """
    raw = list(columns["rating"])
    stars = [_stars(v) for v in raw]
    bad = [i for i, v in enumerate(stars) if v is None]
    if bad:
        raise InputError(f"{source}: column 'rating' has {len(bad)} value(s) outside 1-5 stars "
                         f"(first: {raw[bad[0]]!r} in data row {bad[0] + 1})",
                         "ratings are 1-5 stars; or give a 'label' column (0 = negative, 1 = positive) instead")
    keep = [i for i, v in enumerate(stars) if v != 3]
    out = {c: [list(vals)[i] for i in keep] for c, vals in columns.items()}
    out["label"] = [int((stars[i] or 0) >= 4) for i in keep]
    return out


def validate_table(columns: Mapping[str, Sequence[object]], source: str) -> TextSet:
    """Check `text` and `label` (or `rating`) columns and labels in {0, 1}; return a cleaned TextSet."""
    columns = match_columns(columns, ("text", "label", "rating", *META_COLUMNS))  # "Text", "Label"
    if "label" not in columns and "rating" in columns:
        columns = labels_from_ratings(columns, source)
    missing = [c for c in ("text", "label") if c not in columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)} (found: {', '.join(map(str, columns))})",
            "a labelled file needs a 'text' column and a 'label' column with 0 = negative, 1 = positive",
        )
    raw_labels = list(columns["label"])
    if not raw_labels:
        raise InputError(f"{source}: no rows", "pass a file with labelled reviews")
    labels = [_label(v) for v in raw_labels]
    bad = [(i, raw_labels[i]) for i, lab in enumerate(labels) if lab is None]
    if bad:
        row, value = bad[0]
        raise InputError(
            f"{source}: column 'label' has {len(bad)} value(s) outside {{0, 1}} (first: {value!r} in data row {row + 1})",
            "labels must be 0 (negative) or 1 (positive), or the words negative / positive",
        )
    texts = [clean_text(t) if isinstance(t, str) else "" for t in columns["text"]]
    keep = [i for i, t in enumerate(texts) if t]
    meta_cols = [c for c in META_COLUMNS if c in columns]
    meta = [{c: _meta_value(c, columns[c][i]) for c in meta_cols} for i in keep]
    return TextSet(Path(source).name, [texts[i] for i in keep], [int(labels[i] or 0) for i in keep], meta)


def load_labelled_file(path: str | Path) -> TextSet:
    """One labelled file (csv/jsonl/parquet) with `text` and `label` columns."""
    p = Path(path)
    return validate_table(read_columns(p, ()), str(p))


def _split_files(folder: Path) -> dict[str, list[Path]]:
    """Group the table files of a folder by split name (train / test / validation / other)."""
    groups: dict[str, list[Path]] = {}
    for f in sorted(folder.rglob("*")):
        # Plain .json is left out: folders often hold metadata JSON (dataset_info.json, ...).
        if not f.is_file() or not f.name.lower().endswith(tuple(x for x in TABLE_SUFFIXES if x != ".json")):
            continue
        stem = f.name.lower()
        split = next((s for s in ("train", "validation", "valid", "test") if stem.startswith(s) or f"/{s}" in str(f).lower()), "other")
        groups.setdefault("validation" if split == "valid" else split, []).append(f)
    return groups


def _concat(sets: list[TextSet], name: str) -> TextSet:
    out = TextSet(name, [], [], [])
    for s in sets:
        out.texts += s.texts
        out.labels += s.labels
        out.meta += s.meta or [{}] * len(s)
    return out


def stratified_sample(data: TextSet, sizes: list[int], seed: int, names: list[str]) -> list[TextSet]:
    """Draw disjoint samples of the given sizes, each with the pool's label balance (seeded)."""
    import numpy as np

    total = sum(sizes)
    if total > len(data):
        raise InputError(
            f"{data.name}: asked for {total} reviews ({' + '.join(map(str, sizes))}) but only {len(data)} are available",
            "lower --n-train/--n-validation/--n-test or pass more base data",
        )
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)
    pools = {lab: rng.permutation(np.flatnonzero(labels == lab)).tolist() for lab in (0, 1)}
    share = {lab: len(pools[lab]) / len(labels) for lab in (0, 1)}
    out = []
    for size, name in zip(sizes, names):
        n0 = min(int(round(size * share[0])), len(pools[0]))
        n1 = size - n0
        if n1 > len(pools[1]):
            n1 = len(pools[1])
            n0 = size - n1
        idx = pools[0][:n0] + pools[1][:n1]
        pools[0], pools[1] = pools[0][n0:], pools[1][n1:]
        idx = rng.permutation(idx).tolist()
        # Every sampled row remembers its row in the pool: the sample's ids go into results.json.
        meta = [{**(data.meta[i] if data.meta else {}), "id": f"{data.name}:{i}"} for i in idx]
        out.append(TextSet(name, [data.texts[i] for i in idx], [data.labels[i] for i in idx], meta))
    return out


# ------------------------------------------------------------------------------------ base data
def _hub_base(dataset_id: str) -> tuple[TextSet, TextSet | None]:
    """(train pool, test pool) from a Hub dataset with `text` and `label` columns."""
    hint = "pass local IMDB files with --base-data, e.g. --base-data ../shared/data/imdb"
    if not hub_reachable():
        raise InputError(f"cannot download the base dataset {dataset_id!r}: the Hugging Face Hub is not reachable (offline)", hint)
    import datasets

    try:
        dd = datasets.load_dataset(dataset_id)
    except Exception as exc:
        raise InputError(f"cannot load the base dataset {dataset_id!r}: {str(exc).splitlines()[0]}", hint) from None
    pools = {}
    for split in ("train", "test"):
        if split in dd:
            pools[split] = validate_table(dd[split].to_dict(), f"{dataset_id}[{split}]")
    if "train" not in pools:
        raise InputError(f"{dataset_id}: no 'train' split", hint)
    return pools["train"], pools.get("test")


def _embedded_base() -> tuple[TextSet, TextSet]:
    """(train pool, test pool) of the packaged IMDB sample."""
    from sarcgen.embedded import imdb_sample

    path = imdb_sample()
    cols = read_columns(path, ("text", "label", "split"))

    def pool(split: str) -> TextSet:
        rows = [i for i, v in enumerate(cols["split"]) if v == split]
        return validate_table({c: [cols[c][i] for i in rows] for c in ("text", "label")}, f"{path.name}[{split}]")

    return pool("train"), pool("test")


def clean_pool(pool: TextSet, eval_sets: Sequence[TextSet], threshold: float = 85.0) -> tuple[TextSet, dict[str, int]]:
    """`pool` without every text that matches an evaluation text exactly or nearly (the filter's
    decontamination: shingle candidates verified with rapidfuzz), and how many each set removed.
    The counterfactual pairs' originals are IMDB *train* reviews: on ../shared/data/imdb the
    comparison removes 250 pool texts (boundary 249, challenge 1; benchmarks/results/compare-qwen-seed2027)."""
    from sarcgen.filter.decontaminate import EvalSet, decontaminate

    hits = decontaminate(pool.texts, [EvalSet(s.name, s.texts) for s in eval_sets], threshold)
    removed: dict[str, int] = {s.name: 0 for s in eval_sets}
    for c in hits.values():
        removed[c.source] += 1
    return pool.rows([i for i in range(len(pool)) if i not in hits]), removed


def load_pools(base_data: str | None, hub_dataset: str) -> tuple[TextSet, TextSet | None, str]:
    """(train pool, test pool or None, source) of the base data: `embedded` (the packaged sample, its
    `split` column says which), None (the Hub dataset), a folder of train/test files, or one file."""
    from sarcgen.embedded import EMBEDDED

    if base_data == EMBEDDED:
        return (*_embedded_base(), "embedded:imdb_sample.csv.gz (Maas et al., 2011)")
    if base_data is None:
        return (*_hub_base(hub_dataset), f"hub:{hub_dataset}")
    p = Path(base_data)
    if p.is_file():
        return load_labelled_file(p), None, str(p)
    if not p.is_dir():
        raise InputError(f"{p}: no such file or folder", "pass --base-data DIR_OR_FILE, e.g. ../shared/data/imdb")
    groups = _split_files(p)
    if not groups:
        raise InputError(f"{p}: no CSV/JSONL/parquet files found", "pass a folder with train/test files or one file")
    if "train" in groups:
        test = _concat([load_labelled_file(f) for f in groups["test"]], "test") if "test" in groups else None
        return _concat([load_labelled_file(f) for f in groups["train"]], "train"), test, str(p)
    return _concat([load_labelled_file(f) for fs in groups.values() for f in fs], p.name), None, str(p)


def source_key(text: str) -> str:
    """The id of a real review used as a rewrite source: sha256 of its cleaned text (16 hex digits),
    the same whichever file or row it came from."""
    import hashlib

    return hashlib.sha256(clean_text(text).encode()).hexdigest()[:16]


def drop_sources(pool: TextSet, sources: set[str]) -> tuple[TextSet, int]:
    """`pool` without the texts that were rewrite sources of the synthetic data (`source_key`)."""
    keep = [i for i, t in enumerate(pool.texts) if source_key(t) not in sources]
    return pool.rows(keep), len(pool) - len(keep)


def load_base_data(base_data: str | None, hub_dataset: str, n_train: int, n_validation: int, n_test: int,
                   seed: int, exclude: Sequence[TextSet] = (), sources: set[str] | None = None) -> BaseSplits:
    """The IMDB sample for both runs.

    With separate train and test files (or Hub splits), train/validation come from train and the
    test sample from test, as IMDB intends; with a single file all three are drawn from it.
    Before sampling, the pool train and validation come from loses every text that (nearly) matches
    a text of `exclude` (the evaluation sets; `clean_pool`), counted in `removed`; both pools lose
    the real reviews the synthetic data was rewritten from (`sources`, `source_key`s), so a source
    is never a validation or test text.
    """
    train_pool, test_pool, source = load_pools(base_data, hub_dataset)
    removed: dict[str, int] = {}
    if exclude:
        train_pool, removed = clean_pool(train_pool, exclude)
    if sources:
        train_pool, removed["rewrite sources"] = drop_sources(train_pool, sources)
        if test_pool is not None:
            test_pool, n = drop_sources(test_pool, sources)
            removed["rewrite sources"] += n
    if test_pool is not None:
        train, validation = stratified_sample(train_pool, [n_train, n_validation], seed, ["imdb-train", "imdb-validation"])
        (test,) = stratified_sample(test_pool, [n_test], seed + 1, ["imdb-test"])
    else:
        train, validation, test = stratified_sample(
            train_pool, [n_train, n_validation, n_test], seed, ["imdb-train", "imdb-validation", "imdb-test"]
        )
    return BaseSplits(train, validation, test, source, removed)
