"""Decisions made on the review page round-trip through `sarcgen publish` (and only there)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sarcgen.review.store import Decision, DecisionStore
from tests.cli_helpers import run_cli


def digests(run: Path) -> dict[str, str]:
    """Every file of the run folder but the manifest (where publish records its stage) and the lock."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.iterdir()
            if p.is_file() and p.name not in ("manifest.json", ".lock")}


def test_publish_applies_rejects_and_flips_and_the_card_counts_them(fresh_run: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from datasets import load_dataset

    store = DecisionStore(fresh_run)
    store.record(Decision(id="000001-s", decision="reject", reviewer="ann"))
    store.record(Decision(id="000002-s", decision="flip", label=1, reviewer="ann"))
    store.record(Decision(id="000000-t", decision="accept", reviewer="bob"))
    store.record(Decision(id="000005-s", decision="reject", reviewer="bob"))  # dropped by the filter anyway
    store.close()
    before = digests(fresh_run)
    code, out, err = run_cli(["publish", str(fresh_run)], capsys)
    assert code == 0, err
    assert "applied 4 review decisions (review.jsonl): 1 rejected, 1 labels flipped, 1 accepted, 1 on records" in out
    assert digests(fresh_run) == before  # nothing in the run folder is rewritten (dataset/ is new)
    stage = json.loads((fresh_run / "manifest.json").read_text())["stages"]["publish"]
    assert stage["status"] == "complete" and stage["inputs"]["review.jsonl"]  # the decisions are an input
    ds = load_dataset(str(fresh_run / "dataset"))
    rows = {r["id"]: r for split in ds.values() for r in split}
    kept = sum(1 for line in (fresh_run / "filtered.jsonl").read_text().splitlines() if line.strip())
    assert len(rows) == kept - 1 and "000001-s" not in rows
    assert rows["000002-s"]["label"] == 1 and rows["000002-s"]["label_source"] == "human"
    assert rows["000000-t"]["label_source"] == "generator"
    assert sum(r["label_source"] == "human" for r in rows.values()) == 1
    card = (fresh_run / "dataset" / "README.md").read_text()
    assert "**1** review(s) rejected and left out, **1**" in card and "by ann, bob" in card
    assert "expert-generated" in card


def test_without_decisions_publish_is_unchanged(fresh_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datasets import load_from_disk

    code, out, err = run_cli(["publish", str(fresh_run)], capsys)
    assert code == 0, err and "review decisions" not in out
    dd = load_from_disk(str(fresh_run / "dataset" / "hf_dataset"))
    assert set(dd["train"]["label_source"]) == {"generator"}
    assert "No human review decisions were applied" in (fresh_run / "dataset" / "README.md").read_text()


def test_a_broken_review_file_stops_publish_with_its_line(fresh_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fresh_run / "review.jsonl").write_text('{"id": "000001-s", "decision": "nope", "reviewer": "x"}\n{}\n')
    code, _out, err = run_cli(["publish", str(fresh_run)], capsys)
    assert code == 2 and "review.jsonl:1: not a review decision: decision" in err and "Traceback" not in err


def test_finetune_reads_a_run_folder_with_the_same_decisions(fresh_run: Path) -> None:
    from sarcgen.publish.load import load_synthetic

    store = DecisionStore(fresh_run)
    store.record(Decision(id="000001-s", decision="reject", reviewer="ann"))
    store.record(Decision(id="000002-s", decision="flip", label=1, reviewer="ann"))
    store.close()
    rows = {r["id"]: r for split in load_synthetic(fresh_run).values() for r in split}
    assert "000001-s" not in rows and rows["000002-s"]["label"] == 1 and rows["000002-s"]["label_source"] == "human"
