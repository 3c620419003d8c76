"""sarcgen.runfolder: the recipe a stage resolves, content fingerprints, stage records, the lock."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from sarcgen import runfolder as rf
from sarcgen.errors import InputError, RecipeError
from sarcgen.recipe import Recipe


def _run(tmp_path: Path, **sections: dict) -> Path:
    run = tmp_path / "run"
    run.mkdir(parents=True)
    (run / rf.GENERATED).write_text('{"id": "a"}\n')
    data = Recipe().resolved()
    for k, v in sections.items():
        data[k].update(v)
    (run / rf.RECIPE).write_text(yaml.safe_dump(data))
    return run


def test_resolution_order_defaults_recipe_run_folder_flags(tmp_path: Path) -> None:
    run = _run(tmp_path, finetune={"epochs": 3, "seed": 5}, publish={"seed": 9})
    given = tmp_path / "given.yaml"
    given.write_text("finetune: {epochs: 7}\n")
    # the run folder's recipe.yaml (its section of the stage) when no recipe is given
    r = rf.resolve_recipe(None, run, stage="finetune")
    assert (r.recipe.finetune.epochs, r.recipe.finetune.seed, r.source) == (3, 5, str(run / rf.RECIPE))
    assert r.recipe.publish.seed == 42  # publish's section is not finetune's business
    # a given recipe wins over the run folder's; flags win over both
    r = rf.resolve_recipe(given, run, {"finetune.seed": 11}, stage="finetune")
    assert (r.recipe.finetune.epochs, r.recipe.finetune.seed, r.source) == (7, 11, str(given))
    r = rf.resolve_recipe(None, run, {"finetune.epochs": 1, "finetune.seed": None}, stage="finetune")
    assert (r.recipe.finetune.epochs, r.recipe.finetune.seed) == (1, 5)
    assert rf.resolve_recipe(None, tmp_path / "elsewhere", stage="finetune").source == "<defaults>"


def test_run_folder_recipe_errors_name_file_line_key(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / rf.RECIPE).write_text("name: x\nfinetune:\n  epochs: 3\n  epochz: 4\n")
    with pytest.raises(RecipeError, match=r"recipe.yaml:4: finetune.epochz: unknown key"):
        rf.resolve_recipe(None, run, stage="finetune")
    (run / rf.RECIPE).write_text("generate:\n  future_knob: 1\npublish:\n  seed: 3\n")
    assert rf.resolve_recipe(None, run, stage="publish").recipe.publish.seed == 3  # other sections not read
    with pytest.raises(RecipeError, match=r"recipe.yaml:2: generate.future_knob: unknown key"):
        rf.resolve_recipe(None, run, stage="filter")


def test_fingerprint_is_content_only(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("one")
    (d / "sub" / "b.txt").write_text("two")
    before = rf.fingerprint(d), rf.fingerprint(d / "a.txt")
    copy = tmp_path / "copy"
    shutil.copytree(d, copy, copy_function=shutil.copy)  # new inodes and mtimes
    os.utime(copy / "a.txt", (1, 1))
    assert (rf.fingerprint(copy), rf.fingerprint(copy / "a.txt")) == before
    (copy / "sub" / "b.txt").write_text("TWO")
    assert rf.fingerprint(copy) != before[0]
    assert rf.fingerprint(tmp_path / "missing") is None


def test_stage_record_and_currency(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / rf.FILTERED).write_text("x\n")
    inputs = {rf.GENERATED: rf.fingerprint(run / rf.GENERATED)}
    assert rf.stage_is_current(run, "filter", inputs, "s1") == (False, "no completion record")
    assert rf.record_stage(run, "filter", inputs=inputs, settings="s1", outputs=[rf.FILTERED])
    assert rf.stage_is_current(run, "filter", inputs, "s1")[0]
    assert rf.stage_is_current(run, "filter", inputs, "s2") == (False, "settings changed")
    assert rf.stage_is_current(run, "filter", {rf.GENERATED: "other"}, "s1")[1] == f"input changed: {rf.GENERATED}"
    (run / rf.FILTERED).write_text("edited\n")
    assert not rf.stage_is_current(run, "filter", inputs, "s1")[0]
    # generate's manifest writes keep the other stages' records
    rf.write_manifest(run, {"kind": "generate", "stages": {"generate": {"status": "running"}}})
    stages = json.loads((run / rf.MANIFEST).read_text())["stages"]
    assert set(stages) == {"generate", "filter"}


def test_no_record_while_another_process_holds_the_folder(tmp_path: Path) -> None:
    run = _run(tmp_path)
    held = rf.lock_folder(run)
    try:
        with pytest.raises(InputError, match="another sarcgen generate"):
            rf.lock_folder(run)
        assert not rf.record_stage(run, "filter", inputs={}, settings="s", outputs=[])
    finally:
        held.close()
    assert rf.record_stage(run, "filter", inputs={}, settings="s", outputs=[])


def test_records_file_prefers_filtered(tmp_path: Path) -> None:
    run = _run(tmp_path)
    path, warnings = rf.records_file(run)
    assert path.name == rf.GENERATED and "UNFILTERED" in warnings[0]
    (run / rf.FILTERED).write_text("")
    assert rf.records_file(run) == (run / rf.FILTERED, [])
    assert rf.run_folder_of(run / rf.DATASET_DIR) is None
    (run / rf.DATASET_DIR).mkdir()
    assert rf.run_folder_of(run / rf.DATASET_DIR) == run and rf.run_folder_of(run) == run
