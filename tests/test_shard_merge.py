"""`sarcgen merge` on hand-made run folders (plus shard runs through generate in test_shard_runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sarcgen.errors import InputError
from sarcgen.merge import merge_runs
from sarcgen.records import Provenance, Review


def _review(i: int, recipe_hash: str = "h1") -> dict[str, Any]:
    prov = Provenance(
        model_file="m.gguf", model_sha256="0" * 64, backend="fake", backend_version="0", template_name="review.j2",
        template_hash="t", recipe_hash=recipe_hash, sampling={}, seed=i, sarcgen_version="0.1.0",
    )
    return Review(
        id=f"item-{i:04d}", plan_index=i, text=f"text {i}", label=0, sarcastic=True, device="deadpan",
        aspect="plot", genre="drama", length="short", cue="great", provenance=prov,
    ).model_dump(mode="json")


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
    assert "shard" not in manifest and manifest["model"] == {"model_file": "m.gguf"}
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
