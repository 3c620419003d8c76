"""The finetune-compare stage as `sarcgen run` drives it (`sarcgen.stage.Stage`): the same inputs and
settings hash `sarcgen.finetune.compare.run_compare` records its completion with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen import runfolder as rf
from sarcgen.stage import Inputs, NotReady, Stage

if TYPE_CHECKING:
    from sarcgen.finetune.results import CompareResults
    from sarcgen.recipe import Recipe


def preflight(recipe: Recipe) -> None:
    """The base data (or a reachable Hub), the challenge files, and the base model (local, cached or
    reachable; never pickle weights)."""
    from sarcgen.embedded import EMBEDDED
    from sarcgen.errors import InputError, ModelError
    from sarcgen.finetune.model import refuse_pickle_weights, resolve_model_path
    from sarcgen.hub import hub_reachable

    ft = recipe.finetune
    if ft.base_data is not None and ft.base_data != EMBEDDED and not Path(ft.base_data).expanduser().exists():
        raise InputError(f"finetune.base_data: {ft.base_data}: no such file or folder",
                         "pass --base-data DIR_OR_FILE, e.g. ../shared/data/imdb")
    if ft.base_data is None and not hub_reachable():
        raise InputError(f"finetune.base_data is not set and the Hub is not reachable to download {ft.hub_dataset}",
                         "pass --base-data DIR_OR_FILE, e.g. ../shared/data/imdb")
    for path in ft.challenge:
        if not Path(path).is_file():
            raise InputError(f"finetune.challenge: {path}: no such file", "fix the recipe's finetune.challenge list")
    model = Path(resolve_model_path(ft.base_model))
    if model.is_dir():
        refuse_pickle_weights(model)
    elif not hub_reachable():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(ft.base_model, "config.json"), str):
            raise ModelError(f"finetune.base_model {ft.base_model!r} is not a local folder, not in the Hugging Face "
                             "cache, and the Hub is not reachable", "pass --base-model with a local model folder")


def settings_hash(recipe: Recipe, run: Path | None = None) -> str:
    """The finetune section."""
    from sarcgen.finetune.compare import compare_fingerprint

    return compare_fingerprint(recipe.finetune)


def inputs(recipe: Recipe, run: Path) -> Inputs | NotReady:
    """The published RUN/dataset; not ready before publish."""
    from sarcgen.finetune.compare import compare_inputs
    from sarcgen.publish.run import publish_complete

    if not rf.is_run_folder(run):
        return NotReady("not a run folder")
    if not publish_complete(run / rf.DATASET_DIR):  # before fingerprinting a dataset that is not there yet
        return NotReady("nothing published")
    found = compare_inputs(str(run / rf.DATASET_DIR))
    return NotReady("not a run folder") if found is None else found[1]


def run(recipe: Recipe, folder: Path, progress: bool) -> tuple[str, str]:
    """Compare into RUN/finetune (where `sarcgen finetune-compare --synthetic RUN` writes too)."""
    from sarcgen.finetune.compare import run_compare
    from sarcgen.finetune.report import REPORT_MD

    out = folder / rf.FINETUNE_DIR
    # Finished runs of this data are reused (a crashed `sarcgen run` resumes); runs of older data are redone.
    res = run_compare(recipe.finetune, str(folder / rf.DATASET_DIR), out, progress=progress, replace_stale=True)
    return "ran", f"report in {out / REPORT_MD}" + _headline(res)


def _headline(results: CompareResults) -> str:
    """A short before/after line: challenge accuracy of A and B (mean over seeds)."""
    parts = [f"{run_name}: challenge accuracy {metrics['challenge.accuracy'].mean:.2f}"
             for run_name, metrics in results.aggregate.items() if "challenge.accuracy" in metrics]
    return f" ({'; '.join(parts)})" if parts else ""


STAGE = Stage("finetune", preflight, inputs, settings_hash, run)
