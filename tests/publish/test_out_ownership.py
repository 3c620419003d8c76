"""Data loss #2: `publish --out DIR` replaces only what an earlier publish wrote there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.errors import PublishError
from sarcgen.publish.run import publish_run
from tests.factories import make_reviews, make_run


@pytest.mark.parametrize("theirs", ["README.md", "data/notes-00000-of-00001.parquet", "hf_dataset/dataset_dict.json"])
def test_publish_refuses_to_replace_files_it_did_not_write(tmp_path: Path, theirs: str) -> None:
    run = make_run(tmp_path, make_reviews(12))
    out = tmp_path / "mine"
    (out / theirs).parent.mkdir(parents=True, exist_ok=True)
    (out / theirs).write_text("somebody else's file", encoding="utf-8")
    with pytest.raises(PublishError, match=rf"{theirs.split('/')[0]}.*not written by sarcgen publish"):
        publish_run(run, out)
    assert (out / theirs).read_text(encoding="utf-8") == "somebody else's file"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [theirs]


def test_republish_replaces_its_own_files_but_not_others(tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_complete

    run = make_run(tmp_path, make_reviews(12))
    out = tmp_path / "ds"
    publish_run(run, out)
    assert publish_complete(out) and json.loads((out / "publish.json").read_text())["status"] == "complete"
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    publish_run(run, out)  # its own README.md, parquet and hf_dataset/: replaced
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    (out / "data" / "extra-00000-of-00001.parquet").write_bytes(b"PAR1")
    with pytest.raises(PublishError, match="extra-00000-of-00001.parquet: not written by sarcgen publish"):
        publish_run(run, out)
    assert (out / "data" / "extra-00000-of-00001.parquet").read_bytes() == b"PAR1"


def test_a_publish_that_died_half_way_can_be_rerun(tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_complete

    run = make_run(tmp_path, make_reviews(12))
    out = tmp_path / "ds"
    publish_run(run, out)
    marker = json.loads((out / "publish.json").read_text())
    (out / "publish.json").write_text(json.dumps({"status": "writing", "files": marker["files"]}))
    assert not publish_complete(out)
    publish_run(run, out)
    assert publish_complete(out)
