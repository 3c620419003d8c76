"""sarcgen: labelled sarcastic training data from a local LLM, and proof that it helps.

The Python API (`sarcgen.api`, re-exported here; nothing heavy is imported until it is used):
load_recipe, generate_run, filter_run, publish_run, load_dataset, compare, load_results, run_study.
"""

from __future__ import annotations

from typing import Any

from sarcgen.version import __version__

_API = ("compare", "filter_run", "generate_run", "load_dataset", "load_recipe", "load_results", "publish_run", "run_study")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from sarcgen import api

        return getattr(api, name)
    raise AttributeError(f"module 'sarcgen' has no attribute {name!r}")
