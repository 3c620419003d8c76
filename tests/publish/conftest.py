"""Every publish test may read parquet through `datasets.load_dataset`: its cache stays in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _hf_cache(hf_datasets_cache: Path) -> None:
    """Keep load_dataset's cache out of the user's home (tests/conftest.py: hf_datasets_cache)."""
