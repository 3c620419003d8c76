"""Resume never loses an accepted record and never mixes two recipes in one run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.backends.fake import FakeBackend
from sarcgen.errors import InputError, RecipeError
from sarcgen.generate.run import generate_run
from tests.factories import GOOD_REPLY, generate_recipe, run_ids


def test_resume_keeps_a_complete_last_record_without_newline(tmp_path: Path) -> None:
    """Data loss #1: `truncate -s -1 generated.jsonl` (only the newline lost) keeps the record."""
    out = tmp_path / "run"
    generate_run(generate_recipe(tmp_path, n=6), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    gen = out / "generated.jsonl"
    before = gen.read_bytes()
    gen.write_bytes(before[:-1])
    fake = FakeBackend([GOOD_REPLY])
    s = generate_run(generate_recipe(tmp_path, n=6), backend=fake, out_dir=out, progress=False)
    assert s.accepted == 6 and s.new_accepted == 0 and not fake.requests
    assert gen.read_bytes() == before
    assert "lacked its newline; kept it" in (out / "generate.log").read_text()


def test_resume_logs_a_cut_torn_tail(tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate_run(generate_recipe(tmp_path, n=3), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    gen = out / "generated.jsonl"
    gen.write_bytes(gen.read_bytes() + b'{"id": "000099-s", "text": "ha')
    generate_run(generate_recipe(tmp_path, n=4), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    assert len(run_ids(out)) == 4
    assert "cut a torn last line of 30 bytes" in (out / "generate.log").read_text()


@pytest.mark.parametrize("manifest", ["missing", "corrupt", "not_an_object"])
def test_resume_without_a_readable_manifest_still_refuses_another_recipe(tmp_path: Path, manifest: str) -> None:
    """Data loss #3: the records' own provenance is checked when manifest.json is gone or corrupt."""
    out = tmp_path / "run"
    generate_run(generate_recipe(tmp_path, n=3), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    m = out / "manifest.json"
    if manifest == "missing":
        m.unlink()
    else:
        m.write_text("{not json" if manifest == "corrupt" else "[1, 2]", encoding="utf-8")
    before = (out / "generated.jsonl").read_bytes()
    for other in ({"seed": 99}, {"twin_ratio": 0.9}):
        with pytest.raises(RecipeError, match=r"generated.jsonl:1: a record of another recipe"):
            generate_run(generate_recipe(tmp_path, n=5, **other), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
        assert (out / "generated.jsonl").read_bytes() == before
    # the same recipe still resumes, and rewrites the manifest
    s = generate_run(generate_recipe(tmp_path, n=5), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    assert s.accepted == 5 and json.loads(m.read_text())["status"] == "complete"


def _mixed_run(tmp_path: Path) -> Path:
    """A run folder whose generated.jsonl holds two recipes (what the old resume could produce)."""
    a, b = tmp_path / "a", tmp_path / "b"
    generate_run(generate_recipe(tmp_path, n=3), backend=FakeBackend([GOOD_REPLY]), out_dir=a, progress=False)
    generate_run(generate_recipe(tmp_path, n=3, seed=7), backend=FakeBackend([GOOD_REPLY + " Truly."]), out_dir=b, progress=False)
    with (a / "generated.jsonl").open("ab") as fh:
        fh.write((b / "generated.jsonl").read_bytes())
    return a


def test_filter_and_publish_refuse_a_file_of_two_recipes(tmp_path: Path) -> None:
    from sarcgen.filter.run import run_filter
    from sarcgen.publish.run import publish_run

    run = _mixed_run(tmp_path)
    with pytest.raises(InputError, match=r"generated.jsonl:4: a record of recipe .* one file mixes two recipes"):
        run_filter([run], generate_recipe(tmp_path), progress=False)
    with pytest.raises(InputError, match=r"generated.jsonl:4: .* mixes two recipes"):
        publish_run(run, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_filter_combines_two_runs_on_purpose_and_publish_accepts_that(tmp_path: Path) -> None:
    from sarcgen.filter.run import run_filter
    from sarcgen.publish.run import publish_run
    from sarcgen.recipe import Recipe
    from tests.factories import PROV, sample_records, write_run

    recs = sample_records()[:8]
    for r in recs[4:]:
        r["provenance"] = {**PROV, "recipe_hash": "another"}
    a, b = write_run(tmp_path / "a", recs[:4]), write_run(tmp_path / "b", recs[4:])
    rep = run_filter([a, b], Recipe(), tmp_path / "both", progress=False)
    assert rep.kept == 8
    res = publish_run(tmp_path / "both", tmp_path / "ds")
    assert sum(res.split_sizes.values()) == 8


def test_settings_that_are_probably_a_mistake_are_warned_about(tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate_run(generate_recipe(tmp_path, n=4), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    s = generate_run(generate_recipe(tmp_path, n=2), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    assert s.new_accepted == 0 and any("already holds 4 accepted records, more than generate.n 2" in w for w in s.warnings)
    greedy = generate_recipe(tmp_path, n=1, sampling={"temperature": 0.0}, max_retries=2)
    s = generate_run(greedy, backend=FakeBackend([GOOD_REPLY]), out_dir=tmp_path / "greedy", progress=False)
    assert any("temperature 0 decodes greedily" in w for w in s.warnings)
    assert "temperature 0 decodes greedily" in (tmp_path / "greedy" / "generate.log").read_text()
