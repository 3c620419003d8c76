"""The gate audit (`sarcgen filter RUN --audit GOLD`) on real labelled writer output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.filter.audit import Gold, load_gold, tally
from sarcgen.filter.run import run_filter
from sarcgen.records import Review
from sarcgen.runfolder import resolve_recipe
from tests.cli_helpers import run_cli
from tests.factories import make_review


def _records(run: Path) -> list[Review]:
    return [Review.model_validate_json(line) for line in (run / "generated.jsonl").read_text().splitlines()]


def _filter(run: Path):
    recipe = resolve_recipe(None, [run], stage="filter").recipe
    return run_filter([run], recipe, run, progress=False, audit=run / "gold.jsonl")


def test_the_capable_writer_keeps_at_least_97_percent_of_its_good_reviews(labelled_copy) -> None:
    run = labelled_copy("capable-llm")
    rep = _filter(run)
    everything = rep.audit["classes"]["all"]
    assert everything["good"] == 200  # every record of this writer is right and coherent
    assert everything["kept_good"] / everything["good"] >= 0.97  # the goal; 182/200 (91%) before the rewrite
    # every record of this writer is good, so any rejection is a cost: no rule may cost more than one
    # (before the rewrite: negated_cue 6, negative_twist 5, off_topic 4, names_technique 3)
    for c in rep.audit["checks"]:
        assert c["rejected_good"] <= 1, c
    assert (run / "filter_audit.md").read_text().startswith("# Gate audit")
    assert json.loads((run / "filter_audit.json").read_text())["classes"]["all"]["kept"] == rep.kept


def test_audit_counts_match_the_gold_file_and_the_filter(labelled_copy) -> None:
    run = labelled_copy("qwen2.5-coder-1.5b")
    rep = _filter(run)
    gold = [json.loads(x) for x in (run / "gold.jsonl").read_text().splitlines()]
    recs = {r.id: r for r in _records(run)}
    kept = {json.loads(x)["id"] for x in (run / "filtered.jsonl").read_text().splitlines()}
    right = sum(g["sentiment"] == ("negative" if recs[g["id"]].label == 0 else "positive") for g in gold)
    assert right == 100  # as ../shared/data/labelled/README.md says
    a = rep.audit["classes"]["all"]
    assert a["records"] == 160 and a["kept"] == len(kept)
    assert a["kept"] - a["kept_wrong_label"] == sum(
        g["id"] in kept and g["sentiment"] == ("negative" if recs[g["id"]].label == 0 else "positive") for g in gold)
    sarc = rep.audit["classes"]["sarcastic negatives"]
    assert sarc["records"] == 80 and sarc["good"] == 20  # 24 right, 4 of them incoherent


def test_each_check_is_measured_alone_even_behind_another(labelled_copy) -> None:
    rep = _filter(labelled_copy("smollm2-135m"))
    by_reason = {c["reason"]: c for c in rep.audit["checks"]}
    # twin_missing_cue runs last among the record checks, yet it is measured on every record
    assert by_reason["twin_missing_cue"]["rejected"] > rep.by_stage["validate"].get("twin_missing_cue", 0)
    for c in rep.audit["checks"]:
        assert c["rejected"] == c["rejected_good"] + c["rejected_bad"]


def test_review_decisions_are_gold_too(tmp_path: Path) -> None:
    recs = [make_review(i, "x " * 20) for i in range(3)]
    lines = [{"id": "000000-s", "decision": "accept", "reviewer": "me"},
             {"id": "000001-s", "decision": "flip", "label": 1, "reviewer": "me"},
             {"id": "000002-s", "decision": "reject", "reviewer": "me"},
             {"id": "000002-s", "decision": "clear", "reviewer": "me"}]
    (tmp_path / "review.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    gold = load_gold(tmp_path, recs)  # a run folder means its review.jsonl
    assert gold == {"000000-s": Gold("negative"), "000001-s": Gold("positive")}
    t = tally(recs, gold, kept_ids={"000000-s", "000001-s"})["all"]
    assert (t.records, t.good, t.kept_good, t.kept_wrong_label) == (2, 1, 1, 1)


@pytest.mark.parametrize(("line", "says"), [
    ('{"id": "000000-s", "sentiment": "meh"}', "gold.jsonl:1: sentiment: 'meh' is not one of"),
    ('{"id": "nope", "sentiment": "negative"}', "gold.jsonl:1: id 'nope' is not a record"),
    ('{"sentiment": "negative"}', "gold.jsonl:1: gold line without an \"id\""),
    ("not json", "gold.jsonl:1:"),
])
def test_a_bad_gold_line_is_named(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "gold.jsonl").write_text(line + "\n")
    recs = [make_review(0, "x " * 20)]
    with pytest.raises(InputError) as exc:
        load_gold(tmp_path / "gold.jsonl", recs)
    assert says in exc.value.message


def test_cli_audit_prints_the_table_and_a_bad_gold_file_exits_2(labelled_copy, capsys: pytest.CaptureFixture[str]) -> None:
    run = labelled_copy("smollm2-135m")
    code, out, _ = run_cli(["filter", str(run), "--audit", str(run / "gold.jsonl"), "-q"], capsys)
    assert code == 0
    assert "audit against" in out and "sarcastic negatives" in out and "recall of good" in out
    (run / "bad.jsonl").write_text('{"id": "000000-s", "sentiment": "sarcastic"}\n')
    code, _, err = run_cli(["filter", str(run), "--audit", str(run / "bad.jsonl"), "-q"], capsys)
    assert code == 2
    assert "bad.jsonl:1: sentiment" in err


def test_with_audit_the_judge_answers_for_every_record_and_each_verdict_is_kept(labelled_copy) -> None:
    """label_checks.jsonl holds a verdict per record, also for those an earlier check rejected."""
    from sarcgen.backends.fake import FakeBackend

    run = labelled_copy("smollm2-135m")
    recipe = resolve_recipe(None, [run], {"filter.judge": True, "filter.judge_mode": "advisory"}, stage="filter").recipe
    backend = FakeBackend(lambda req: "sentiment: positive\nsarcastic: no")  # SmolLM2's own pattern as a judge
    rep = run_filter([run], recipe, run, progress=False, audit=run / "gold.jsonl", backend=backend)
    rows = [json.loads(x) for x in (run / "label_checks.jsonl").read_text().splitlines()]
    assert len(rows) == 120 and len({r["id"] for r in rows}) == 120  # every record, once
    assert sum(r["acted"] for r in rows) == 0  # advisory: nothing dropped by it
    assert len(backend.requests) == 45 + 120  # calibration, then each record once (the filter's pass reused them)
    assert rep.labels["verified"] is False
    assert any(w.startswith("LABELS NOT VERIFIED: the judge fake.gguf (sentiment_and_sarcasm gate) failed its calibration") for w in rep.warnings)
