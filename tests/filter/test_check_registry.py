"""The filter's checks are registered once: a check added there runs in `run_filter`, and its
stage name reaches filter_rejected.jsonl, the report and the gate audit with nothing else to edit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from sarcgen.filter import registry
from sarcgen.filter import run as filter_run
from sarcgen.filter.check import Drop, KeepOrDrop
from sarcgen.filter.report import FilterReport
from sarcgen.filter.run import run_filter
from sarcgen.recipe import Recipe
from sarcgen.records import Review
from tests.factories import sample_records, write_run

BUILT_IN = ("validate", "dedupe", "decontaminate", "judge")


class NoWarmth:
    """A check the filter has never heard of: it drops reviews that mention warmth."""

    def apply(self, reviews: Sequence[Review], report: FilterReport) -> list[KeepOrDrop]:
        return [Drop("warm", "mentions warmth") if "warmth" in r.text else None for r in reviews]


@pytest.fixture
def warmth_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """`NoWarmth` registered after the built-in checks, for this test only."""
    monkeypatch.setattr(registry, "_REGISTERED", list(registry.registered()))
    registry.register("warmth", lambda recipe, backend, progress: NoWarmth())


def test_the_registry_is_the_one_list_of_stages() -> None:
    assert registry.stages() == ("read", *BUILT_IN)
    assert [r.stage for r in registry.registered()] == list(BUILT_IN)
    assert not hasattr(filter_run, "STAGES")  # no second list to forget
    assert [a.stage for a in registry.build(Recipe())] == ["validate", "dedupe", "decontaminate"]  # judge: opt-in


def test_a_name_is_registered_once(warmth_registered: None) -> None:
    for taken in ("warmth", "validate", "read"):
        with pytest.raises(ValueError, match="already registered"):
            registry.register(taken, lambda recipe, backend, progress: NoWarmth())


def test_a_registered_check_runs_in_the_filter_and_is_reported(warmth_registered: None, tmp_path: Path) -> None:
    assert registry.stages() == ("read", *BUILT_IN, "warmth")
    run = write_run(tmp_path / "run", sample_records())
    (run / "gold.jsonl").write_text(json.dumps({"id": "000011-t", "sentiment": "positive"}) + "\n", encoding="utf-8")
    rep = run_filter([run], Recipe(), progress=False, audit=run / "gold.jsonl")
    assert rep.kept == 7 and rep.by_stage["warmth"] == {"warm": 1} and list(rep.by_stage)[-1] == "warmth"
    assert rep.stage_in["warmth"] == 8 and rep.counts["warm"] == 1
    rejected = [json.loads(x) for x in (run / "filter_rejected.jsonl").read_text().splitlines()]
    assert rejected[-1]["id"] == "000011-t"  # rows ordered by the registered stage order
    assert (rejected[-1]["stage"], rejected[-1]["reason"], rejected[-1]["detail"]) == ("warmth", "warm", "mentions warmth")
    assert "000011-t" not in (run / "filtered.jsonl").read_text()
    assert json.loads((run / "filter_report.json").read_text())["by_stage"]["warmth"] == {"warm": 1}
    assert "| warmth | warm | 1 |" in (run / "filter_report.md").read_text()
    audited = {(c["stage"], c["reason"]): c for c in rep.audit["checks"]}
    assert audited["warmth", "warm"]["rejected_good"] == 1
