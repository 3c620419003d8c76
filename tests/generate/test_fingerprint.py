"""The versioned data fingerprint: only the generate section's data-shaping settings and the selected
backend's options count; the version is stored in the manifest; folders of version 1 still resume and
folders of an unknown version are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.backends.fake import FakeBackend
from sarcgen.errors import RecipeError
from sarcgen.fingerprint import FINGERPRINT_VERSION
from sarcgen.generate.manifest import folder_fingerprint
from sarcgen.generate.run import generate_run
from sarcgen.jsonl import read_jsonl, write_jsonl
from sarcgen.recipe import Recipe, load_recipe
from sarcgen.runfolder import default_run_dir

GOOD = "Great movie, if you enjoy watching paint dry for an afternoon."


def test_version_1_is_the_old_hash_byte_for_byte() -> None:
    # the issue's figure: the default recipe's hash before fingerprints had versions
    assert load_recipe(None).hash(1) == "2e6d2bb8274117e2"
    # version 1 counted the judge template (that is what made generate refuse to resume)
    assert load_recipe(None, {"filter.judge_template": "other.j2"}).hash(1) != load_recipe(None).hash(1)
    assert load_recipe(None).hash() == load_recipe(None).hash(FINGERPRINT_VERSION) != load_recipe(None).hash(1)


@pytest.mark.parametrize("override", [
    {"filter.judge_template": "my_judge.j2"}, {"filter.judge": True}, {"filter.min_words": 3},
    {"filter.near_dup_threshold": 70}, {"publish.seed": 7}, {"finetune.epochs": 2},
    # throughput: how fast records come, not which
    {"generate.n": 7}, {"generate.parallel": 8}, {"generate.top_up_rounds": 0}, {"generate.executor": "ray"},
    {"generate.llamacpp.n_threads": 1}, {"generate.llamacpp.n_gpu_layers": 0},
    # another backend's options: not the selected one's
    {"generate.openai.api_model": "qwen"}, {"generate.openai.base_url": "http://127.0.0.1:9/v1"},
])
def test_filter_only_and_throughput_changes_keep_the_fingerprint(override: dict[str, object]) -> None:
    assert load_recipe(None, override).hash() == load_recipe(None).hash()


@pytest.mark.parametrize("override", [
    {"generate.seed": 5}, {"generate.template": "mine.j2"}, {"generate.sampling.temperature": 0.2},
    {"generate.llamacpp.n_ctx": 2048}, {"model.path": "/m/other.gguf"}, {"generate.twin_ratio": 0.5},
    {"generate.grounding.mode": "rewrite"},
])
def test_data_shaping_changes_change_it(override: dict[str, object]) -> None:
    assert load_recipe(None, override).hash() != load_recipe(None).hash()


def test_the_selected_backends_options_count() -> None:
    base = {"generate.backend": "openai", "generate.openai.api_model": "a"}
    assert load_recipe(None, {**base, "generate.openai.api_model": "b"}).hash() != load_recipe(None, base).hash()
    assert load_recipe(None, {**base, "generate.openai.request_timeout": 9}).hash() == load_recipe(None, base).hash()
    assert load_recipe(None, {**base, "generate.llamacpp.n_ctx": 1024}).hash() == load_recipe(None, base).hash()


def test_judge_template_moved_to_the_filter(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"  # a recipe.yaml an older sarcgen resolved
    old.write_text("generate:\n  judge_template: strict.j2\n")
    assert load_recipe(old).filter.judge_template == "strict.j2"
    both = tmp_path / "both.yaml"
    both.write_text("generate:\n  judge_template: a.j2\nfilter:\n  judge_template: b.j2\n")
    with pytest.raises(RecipeError, match="judge template is the filter's"):
        load_recipe(both)
    same = tmp_path / "same.yaml"  # an old resolved default beside a new filter value: the filter's wins
    same.write_text("generate:\n  judge_template: judge.j2\nfilter:\n  judge_template: b.j2\n")
    assert load_recipe(same).filter.judge_template == "b.j2"


def _recipe(tmp_path: Path, **over: object) -> Recipe:
    return load_recipe(None, {"output_dir": str(tmp_path / "outputs"), "name": "t",
                              "generate": {"n": 4, "twin_ratio": 0.5, "backend": "fake"}, **over})


def test_a_judge_template_change_resumes_the_run(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    generate_run(recipe, backend=FakeBackend([GOOD]), progress=False)
    run = default_run_dir(recipe)
    m = json.loads((run / "manifest.json").read_text())
    assert m["fingerprint_version"] == FINGERPRINT_VERSION and m["recipe_hash"] == recipe.hash()
    more = _recipe(tmp_path, **{"filter.judge_template": "strict.j2", "generate.n": 6})
    s = generate_run(more, backend=FakeBackend([GOOD]), progress=False)
    assert s.accepted == 6 and s.new_accepted == 2


def _as_version_1(run: Path, recipe: Recipe) -> None:
    """Turn a run folder into what sarcgen wrote before fingerprints had versions."""
    m = json.loads((run / "manifest.json").read_text())
    m.pop("fingerprint_version")
    m["recipe_hash"] = recipe.hash(1)
    (run / "manifest.json").write_text(json.dumps(m))
    records = read_jsonl(run / "generated.jsonl")
    for r in records:
        r["provenance"]["recipe_hash"] = recipe.hash(1)
    write_jsonl(run / "generated.jsonl", records)


def test_a_version_1_folder_resumes_under_version_1(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    generate_run(recipe, backend=FakeBackend([GOOD]), progress=False)
    run = default_run_dir(recipe)
    _as_version_1(run, recipe)
    assert folder_fingerprint(run, recipe) == recipe.hash(1)
    more = _recipe(tmp_path, **{"generate.n": 6})
    s = generate_run(more, backend=FakeBackend([GOOD]), progress=False)
    assert s.new_accepted == 2
    assert {r["provenance"]["recipe_hash"] for r in read_jsonl(run / "generated.jsonl")} == {recipe.hash(1)}
    assert json.loads((run / "manifest.json").read_text())["fingerprint_version"] == 1
    # version 1 counted the judge template: such a folder still refuses that change, and says why
    other = _recipe(tmp_path, **{"generate.n": 8, "filter.judge_template": "strict.j2"})
    with pytest.raises(RecipeError, match="older sarcgen, fingerprint version 1"):
        generate_run(other, backend=FakeBackend([GOOD]), progress=False)


def test_a_version_1_folder_without_its_manifest_is_recognised_by_its_records(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    generate_run(recipe, backend=FakeBackend([GOOD]), progress=False)
    run = default_run_dir(recipe)
    _as_version_1(run, recipe)
    (run / "manifest.json").unlink()
    s = generate_run(_recipe(tmp_path, **{"generate.n": 5}), backend=FakeBackend([GOOD]), progress=False)
    assert s.new_accepted == 1
    assert {r["provenance"]["recipe_hash"] for r in read_jsonl(run / "generated.jsonl")} == {recipe.hash(1)}


def test_a_folder_of_a_newer_fingerprint_is_refused(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    generate_run(recipe, backend=FakeBackend([GOOD]), progress=False)
    run = default_run_dir(recipe)
    m = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**m, "fingerprint_version": 99}))
    with pytest.raises(RecipeError, match=r"manifest.json: fingerprint_version 99 .* made by a newer sarcgen"):
        generate_run(_recipe(tmp_path, **{"generate.n": 6}), backend=FakeBackend([GOOD]), progress=False)


def test_a_damaged_key_does_not_switch_off_the_folder_checks(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    generate_run(recipe, backend=FakeBackend([GOOD]), progress=False)
    run = default_run_dir(recipe)
    m = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**m, "fingerprint_version": 99, "tokens": {"prompt": "many"}}))
    with pytest.raises(RecipeError, match="made by a newer sarcgen"):
        generate_run(_recipe(tmp_path, **{"generate.n": 6}), backend=FakeBackend([GOOD]), progress=False)


def test_the_filter_settings_count_the_judge_template_only_when_it_judges() -> None:
    from sarcgen.filter.run import filter_fingerprint

    base, other = load_recipe(None), load_recipe(None, {"filter.judge_template": "strict.j2"})
    assert filter_fingerprint(base) == filter_fingerprint(other)
    judged = {"filter.judge": True}
    assert filter_fingerprint(load_recipe(None, judged)) != filter_fingerprint(load_recipe(None, {**judged, "filter.judge_template": "strict.j2"}))
