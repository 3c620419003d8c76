"""results.json through its one module: the comparisons on record read back field for field; a bad or
older file is one line naming it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.finetune.results import read_results

REPO = Path(__file__).resolve().parents[2]
RECORDED = sorted((REPO / "benchmarks" / "results").rglob("results.json"))


def _same(a: object, b: object) -> bool:
    """Equal JSON values, NaN equal to NaN (the statistics of an empty set)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.parent.name)
def test_recorded_comparisons_read_back_with_the_same_fields(path: Path) -> None:
    """The typed model keeps results.json's field names and values: the comparisons in benchmarks/results
    (written before it existed) dump back to the same JSON, plus the per-mix `metrics` they did not have."""
    original = json.loads(path.read_text(encoding="utf-8"))
    again = read_results(path).model_dump(mode="json")
    for mix in again["mixes"].values():
        assert mix.pop("metrics") == {}
    assert _same(original, again)


def test_a_bad_or_older_results_file_is_one_line_naming_it(tmp_path: Path) -> None:
    assert RECORDED, "benchmarks/results holds recorded comparisons"
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"results.json: not JSON \(line 1"):
        read_results(bad)
    old = json.loads(RECORDED[0].read_text(encoding="utf-8"))
    del old["chosen_mix"]
    bad.write_text(json.dumps(old))
    with pytest.raises(InputError, match=r"results.json: not a results.json of this sarcgen \(chosen_mix: Field required\)") as err:
        read_results(bad)
    assert "\n" not in err.value.message and "rerun finetune-compare" in str(err.value.hint)
