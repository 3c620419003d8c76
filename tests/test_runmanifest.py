"""manifest.json through its typed models: unknown keys survive a read and a write, a damaged key is
named, and stage records are typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen import runfolder as rf
from sarcgen.errors import InputError
from sarcgen.runmanifest import Manifest, StageRecord


def test_unknown_keys_survive_a_read_and_a_write(tmp_path: Path) -> None:
    raw = {"kind": "merge", "recipe_hash": "abc", "merged_from": [{"run": "a"}], "future_key": {"x": 1},
           "stages": {"publish": {"status": "complete", "inputs": {}, "settings": "s", "outputs": {}, "n_rows": 3}}}
    (tmp_path / rf.MANIFEST).write_text(json.dumps(raw))
    m = rf.load_manifest(tmp_path)
    assert m.kind == "merge" and m.stages["publish"].status == "complete"
    rf.save_manifest(tmp_path, m)
    assert json.loads((tmp_path / rf.MANIFEST).read_text()) == raw  # nothing dropped, nothing invented


def test_a_damaged_key_is_named(tmp_path: Path) -> None:
    (tmp_path / rf.MANIFEST).write_text(json.dumps({"fingerprint_version": "two", "stages": {}}))
    with pytest.raises(InputError, match=r"manifest.json: fingerprint_version: "):
        rf.load_manifest(tmp_path)
    assert rf.load_manifest(tmp_path, strict=False) == Manifest()  # generate rewrites it


def test_stage_records_are_typed_and_checked(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("x")
    assert rf.record_stage(tmp_path, "filter", inputs={"in": "f1"}, settings="s1", outputs=["out.txt"], kept=4)
    rec = rf.stage_record(tmp_path, "filter")
    assert isinstance(rec, StageRecord) and rec.inputs == {"in": "f1"} and rec.model_extra == {"kept": 4}
    assert rf.stage_is_current(tmp_path, "filter", {"in": "f1"}, "s1") == (True, "complete, inputs unchanged")
    assert rf.stage_is_current(tmp_path, "filter", {"in": "f2"}, "s1") == (False, "input changed: in")
    assert rf.stage_is_current(tmp_path, "filter", {"in": "f1"}, "s2") == (False, "settings changed")
    (tmp_path / "out.txt").write_text("y")
    assert rf.stage_is_current(tmp_path, "filter", {"in": "f1"}, "s1") == (False, "output out.txt changed or missing")
    assert rf.stage_record(tmp_path, "publish") is None


def test_recording_a_stage_keeps_keys_that_do_not_validate(tmp_path: Path) -> None:
    raw = {"recipe_hash": "abc", "fingerprint_version": 2, "tokens": {"prompt": "many"}, "shard": ["0", "2"]}
    (tmp_path / rf.MANIFEST).write_text(json.dumps(raw))
    assert rf.record_stage(tmp_path, "filter", inputs={}, settings="s", outputs=[])
    after = json.loads((tmp_path / rf.MANIFEST).read_text())
    assert {k: after[k] for k in raw} == raw and after["stages"]["filter"]["settings"] == "s"


def test_a_lenient_read_keeps_the_keys_that_validate(tmp_path: Path) -> None:
    (tmp_path / rf.MANIFEST).write_text(json.dumps({"recipe_hash": "abc", "fingerprint_version": 99,
                                                    "tokens": {"prompt": "many"}}))
    m = rf.load_manifest(tmp_path, strict=False)
    assert (m.recipe_hash, m.fingerprint_version, m.tokens) == ("abc", 99, None)
