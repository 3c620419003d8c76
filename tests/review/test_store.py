"""review.jsonl: appended and fsynced, last decision per id wins, clear and crash tails handled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sarcgen.errors import InputError
from sarcgen.review.store import Decision, DecisionStore, apply_decisions, load_decisions


def test_last_decision_per_id_wins_and_survives_a_restart(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    assert not (tmp_path / "review.jsonl").exists()  # nothing is written until a decision is made
    store.record(Decision(id="a", decision="reject", reviewer="ann"))
    store.record(Decision(id="b", decision="flip", label=1, reviewer="ann"))
    store.record(Decision(id="a", decision="accept", reviewer="bob"))
    store.record(Decision(id="c", decision="reject", reviewer="bob"))
    store.record(Decision(id="c", decision="clear", reviewer="bob"))
    store.close()
    assert len((tmp_path / "review.jsonl").read_text().splitlines()) == 5
    current = load_decisions(tmp_path)
    assert {k: (d.decision, d.reviewer) for k, d in current.items()} == {"a": ("accept", "bob"), "b": ("flip", "ann")}
    assert DecisionStore(tmp_path).get("b").label == 1  # type: ignore[union-attr]


def test_a_partial_last_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.record(Decision(id="a", decision="reject", reviewer="ann"))
    store.close()
    with (tmp_path / "review.jsonl").open("a") as fh:
        fh.write('{"id": "b", "decision": "rej')  # a crash mid-write
    assert list(load_decisions(tmp_path)) == ["a"]
    store = DecisionStore(tmp_path)
    store.record(Decision(id="b", decision="accept", reviewer="ann"))
    store.close()
    assert [json.loads(x)["id"] for x in (tmp_path / "review.jsonl").read_text().splitlines()] == ["a", "b"]


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "review.jsonl").write_text('{"id": "a", "decision": "reject", "reviewer": "x"}\n'
                                           '{"id": "b", "decision": "maybe", "reviewer": "x"}\n')
    with pytest.raises(InputError, match=r"review\.jsonl:2: not a review decision: decision"):
        load_decisions(tmp_path)
    (tmp_path / "review.jsonl").write_text("not json\n")
    with pytest.raises(InputError, match=r"review\.jsonl:1: malformed JSON"):
        load_decisions(tmp_path)


def test_a_flip_carries_its_label_and_nothing_else_does() -> None:
    with pytest.raises(ValidationError):
        Decision(id="a", decision="flip", reviewer="x")
    with pytest.raises(ValidationError):
        Decision(id="a", decision="reject", label=0, reviewer="x")
    with pytest.raises(ValidationError):
        Decision(id="a", decision="reject", reviewer="x", extra=1)  # type: ignore[call-arg]


def test_apply_decisions_leaves_out_rejects_and_flips_labels() -> None:
    from tests.factories import make_reviews

    recs = make_reviews(6)
    decisions = {recs[0].id: Decision(id=recs[0].id, decision="reject", reviewer="ann"),
                 recs[1].id: Decision(id=recs[1].id, decision="flip", label=1 - recs[1].label, reviewer="bob"),
                 recs[2].id: Decision(id=recs[2].id, decision="accept", reviewer="ann"),
                 "elsewhere": Decision(id="elsewhere", decision="reject", reviewer="ann")}
    out, summary = apply_decisions(recs, decisions)
    assert [r.id for r in out] == [r.id for r in recs[1:]]
    assert out[0].label == 1 - recs[1].label and recs[1].label != out[0].label  # the input is not mutated
    assert (summary.rejected, summary.flipped, summary.accepted, summary.not_in_data) == (1, 1, 1, 1)
    assert summary.human_labels == {recs[1].id} and summary.reviewers == ["ann", "bob"]
