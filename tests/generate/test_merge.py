"""`sarcgen merge` on hand-made run folders (plus shard runs through generate in test_shard_runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sarcgen.errors import InputError
from sarcgen.generate.merge import merge_runs
from sarcgen.records import Review
from tests.factories import PROV, review_record


def _review(i: int, recipe_hash: str = "h1") -> dict[str, Any]:
    return review_record(i, f"text {i}", id=f"item-{i:04d}", provenance={**PROV, "recipe_hash": recipe_hash, "seed": i})


def _run(tmp: Path, name: str, indices: list[int], recipe_hash: str = "h1", shard: str | None = None,
         rejected: list[int] = ()) -> Path:
    run = tmp / name
    run.mkdir()
    with (run / "generated.jsonl").open("w") as fh:
        for i in indices:
            fh.write(json.dumps(_review(i, recipe_hash)) + "\n")
    with (run / "rejected.jsonl").open("w") as fh:
        for i in rejected:
            fh.write(json.dumps({"id": f"item-{i:04d}", "plan_index": i, "stage": "generate", "reason": "empty"}) + "\n")
    manifest: dict[str, Any] = {"recipe_hash": recipe_hash, "model": {"model_file": "m.gguf"}}
    if shard:
        manifest["shard"] = shard
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "recipe.yaml").write_text("name: test\n")
    return run


def _lines(p: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def test_merge_sorts_by_plan_index_and_writes_manifest(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [0, 2, 4, 6], shard="0/2", rejected=[8])
    b = _run(tmp_path, "b", [1, 3, 5], shard="1/2", rejected=[7])
    out = tmp_path / "merged"
    summary = merge_runs([b, a], out)
    assert summary.accepted == 7 and summary.rejected == 2 and summary.missing_shards == []
    recs = _lines(out / "generated.jsonl")
    assert [r["plan_index"] for r in recs] == list(range(7))
    for r in recs:
        Review.model_validate(r)
    assert [r["plan_index"] for r in _lines(out / "rejected.jsonl")] == [7, 8]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "merge" and manifest["recipe_hash"] == "h1" and manifest["accepted"] == 7
    assert {m["run"] for m in manifest["merged_from"]} == {str(a), str(b)}
    assert manifest["shard"] is None and manifest["model"] == {"model_file": "m.gguf"}
    assert (out / "recipe.yaml").read_text() == "name: test\n"


def test_mismatched_recipe_names_both_folders(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [0, 2])
    b = _run(tmp_path, "b", [1, 3], recipe_hash="h2")
    with pytest.raises(InputError) as exc:
        merge_runs([a, b], tmp_path / "out")
    assert str(a) in str(exc.value) and str(b) in str(exc.value) and "different recipes" in str(exc.value)
    assert not (tmp_path / "out" / "generated.jsonl").exists()


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [0, 2])
    b = _run(tmp_path, "b", [2, 3])
    with pytest.raises(InputError, match=r"duplicate id item-0002: .*a/generated.jsonl:2 and .*b/generated.jsonl:1"):
        merge_runs([a, b], tmp_path / "out")


def test_same_folder_twice_and_out_checks(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [0])
    b = _run(tmp_path, "b", [1])
    with pytest.raises(InputError, match="given twice"):
        merge_runs([a, a], tmp_path / "out")
    with pytest.raises(InputError, match="one of the runs"):
        merge_runs([a, b], a)
    merge_runs([a, b], tmp_path / "out")
    with pytest.raises(InputError, match="already holds a run"):
        merge_runs([a, b], tmp_path / "out")
    assert merge_runs([a, b], tmp_path / "out", force=True).accepted == 2


def test_missing_and_inconsistent_shards(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [0], shard="0/3")
    b = _run(tmp_path, "b", [1], shard="2/3")
    assert merge_runs([a, b], tmp_path / "o1").missing_shards == ["1/3"]
    c = _run(tmp_path, "c", [2], shard="1/2")
    with pytest.raises(InputError, match="sharded differently"):
        merge_runs([a, c], tmp_path / "o2")


def test_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no generated.jsonl"):
        merge_runs([tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(InputError, match="no such run folder"):
        merge_runs([tmp_path / "nope"], tmp_path / "out")


def test_merge_cli(tmp_path: Path) -> None:
    from sarcgen.cli import _register, cli

    _register()
    a = _run(tmp_path, "a", [0, 2])
    b = _run(tmp_path, "b", [1])
    runner = CliRunner()
    res = runner.invoke(cli, ["merge", str(a), str(b), "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "merged 2 runs" in res.output and "3 records" in res.output
    bad = _run(tmp_path, "bad", [5], recipe_hash="zz")
    from sarcgen.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["merge", str(a), str(bad), "--out", str(tmp_path / "m2")])
    assert exc.value.code == InputError.exit_code


def _cli(args: list[str]) -> None:
    from sarcgen.cli import main

    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), f"sarcgen {' '.join(args)} exited {exc.code}"


def test_shards_through_generate_then_merge(tmp_path: Path) -> None:
    """`generate --shard K/3` x 3 (fake backend), then `merge`: disjoint parts, the job's n in all."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: job\ngenerate:\n  n: 10\n  seed: 5\n  twin_ratio: 0.5\n  backend: fake\n")
    runs = []
    for k in range(3):
        out = tmp_path / f"shard{k}"
        _cli(["generate", "-r", str(recipe), "--shard", f"{k}/3", "--out", str(out), "-q"])
        runs.append(out)
    counts = [len(_lines(r / "generated.jsonl")) for r in runs]
    assert counts == [4, 3, 3]  # n//N + (k < n%N)
    groups = [{rec["id"].split("-")[0] for rec in _lines(r / "generated.jsonl")} for r in runs]
    for k, g in enumerate(groups):
        assert all(int(x) % 3 == k for x in g)
    manifests = [json.loads((r / "manifest.json").read_text()) for r in runs]
    assert [m["shard"] for m in manifests] == ["0/3", "1/3", "2/3"] and [m["target"] for m in manifests] == [4, 3, 3]

    merged = tmp_path / "merged"
    _cli(["merge", *map(str, runs), "--out", str(merged)])
    recs = _lines(merged / "generated.jsonl")
    assert len(recs) == 10 == len({r["id"] for r in recs})
    assert [r["plan_index"] for r in recs] == sorted(r["plan_index"] for r in recs)
    m = json.loads((merged / "manifest.json").read_text())
    assert m["status"] == "complete" and m["target"] == 10 and m["counts"]["accepted"] == 10
    assert m["recipe"]["generate"]["n"] == 10 and m["missing_shards"] == []
    import yaml

    assert yaml.safe_load((merged / "recipe.yaml").read_text())["generate"]["n"] == 10

    # a shard of another seed is another recipe: refused, naming both folders
    other = tmp_path / "other"
    _cli(["generate", "-r", str(recipe), "--seed", "6", "--shard", "1/3", "--out", str(other), "-q"])
    with pytest.raises(InputError, match="different recipes") as exc:
        merge_runs([runs[0], other], tmp_path / "bad")
    assert str(runs[0]) in str(exc.value) and str(other) in str(exc.value)
    # the same shard generated twice (in two folders) holds the same ids: refused
    again = tmp_path / "again"
    _cli(["generate", "-r", str(recipe), "--shard", "1/3", "--out", str(again), "-q"])
    with pytest.raises(InputError, match="duplicate id"):
        merge_runs([*runs, again], tmp_path / "bad2")
