"""Load the synthetic reviews as a DatasetDict from wherever they are: the round trip of publish.

`load_synthetic(src)` accepts
- a run folder: filtered.jsonl (else generated.jsonl, with a warning), split exactly as
  `sarcgen publish` splits it (same `build_dataset`, the run's recipe.yaml publish settings);
- a JSONL file of Review records (split the same way, default settings);
- a published folder: the save_to_disk copy (DIR/hf_dataset or DIR itself) or the Hub layout
  (README.md + data/*.parquet);
- a Hub dataset id ("owner/name"), loaded with `datasets.load_dataset`; with no network it falls
  back to the local cache in offline mode and otherwise fails with an InputError naming the id.

finetune-compare (`sarcgen.finetune.synthetic_data`) calls this for a published folder or a Hub id;
for a run folder it reads RUN/dataset, what publish wrote, not a fresh split of the records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.errors import InputError
from sarcgen.hub import hub_offline_mode, hub_reachable
from sarcgen.publish.inputs import read_run_inputs
from sarcgen.publish.schema import DATA_DIR, HF_DATASET_DIR, build_dataset, read_reviews
from sarcgen.recipe import PublishSettings

if TYPE_CHECKING:
    import datasets

log = logging.getLogger(__name__)

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
SOURCES_HINT = "pass a run folder, a published dataset folder, a records .jsonl, or a Hub dataset id like owner/name"


@contextmanager
def _offline_mode() -> Iterator[None]:
    """Make datasets and huggingface_hub read only the local cache for the duration."""
    import datasets.config
    from huggingface_hub import constants

    saved = datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = saved


def _from_hub(repo_id: str) -> datasets.DatasetDict:
    import datasets

    offline = hub_offline_mode() or not hub_reachable()
    try:
        if offline:
            with _offline_mode():
                dd = datasets.load_dataset(repo_id)
        else:
            dd = datasets.load_dataset(repo_id)
    except Exception as exc:  # datasets raises ConnectionError, FileNotFoundError, DatasetNotFoundError, ...
        why = ("the Hugging Face Hub is not reachable (offline) and it is not in the local cache" if offline
               else f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise InputError(f"cannot load synthetic dataset {repo_id!r} from the Hub: {why}",
                         f"no local folder {repo_id!r} exists either; {SOURCES_HINT}") from None
    if not isinstance(dd, datasets.DatasetDict):  # pragma: no cover - load_dataset without split= gives a dict
        dd = datasets.DatasetDict({"train": dd})
    return dd


def _from_folder(folder: Path) -> datasets.DatasetDict | None:
    """A published folder (save_to_disk or Hub layout), else None."""
    import datasets

    for cand in (folder, folder / HF_DATASET_DIR):
        if (cand / "dataset_dict.json").is_file():
            return datasets.load_from_disk(str(cand))
    if any((folder / DATA_DIR).glob("*.parquet")):
        return datasets.load_dataset(str(folder))
    return None


def load_synthetic(src: str | Path, settings: PublishSettings | None = None) -> datasets.DatasetDict:
    """The synthetic reviews as a DatasetDict (train/validation/test where present).

    `settings` (split fractions and seed) applies only to sources that hold raw records (a run
    folder or a JSONL file); by default a run folder uses its own recipe.yaml, like `publish`.
    Raises InputError for an unknown source, an offline Hub id, or an empty synthetic set.
    """
    text = str(src)
    path = Path(src).expanduser()
    if path.is_file():
        if path.suffix != ".jsonl":
            raise InputError(f"{path}: not a synthetic data source", SOURCES_HINT)
        dd = build_dataset(_non_empty(read_reviews(path), path), settings or PublishSettings())
    elif path.is_dir():
        if (path / rf.FILTERED).is_file() or (path / rf.GENERATED).is_file():
            inputs = read_run_inputs(path)
            for warning in inputs.warnings:
                log.warning(warning)
            if settings is None:
                settings = rf.resolve_recipe(None, path, stage="publish").recipe.publish
            dd = build_dataset(inputs.records, settings, inputs.review.human_labels)
        else:
            found = _from_folder(path)
            if found is None:
                raise InputError(f"{path}: no synthetic data found (no {rf.FILTERED}, {rf.GENERATED}, "
                                 f"dataset_dict.json or {DATA_DIR}/*.parquet)", SOURCES_HINT)
            dd = found
    elif HUB_ID.match(text) and not text.startswith((".", "~")):
        dd = _from_hub(text)
    else:
        raise InputError(f"{text}: no such file or folder", SOURCES_HINT)
    return _checked(dd, text)


def _non_empty(records: list, path: Path) -> list:
    if not records:
        raise InputError(f"{path}: the synthetic set is empty", "generate and filter some reviews first")
    return records


def _checked(dd: datasets.DatasetDict, source: str) -> datasets.DatasetDict:
    """Non-empty, with text and label columns in every split."""
    if sum(len(ds) for ds in dd.values()) == 0:
        raise InputError(f"{source}: the synthetic set is empty", "generate and filter some reviews first")
    for split, ds in dd.items():
        missing = {"text", "label"} - set(ds.column_names)
        if missing:
            raise InputError(f"{source}[{split}]: missing column(s) {', '.join(sorted(missing))}",
                             "a synthetic dataset needs text and label (0 = negative, 1 = positive)")
    return dd
