from pathlib import Path

import pytest

from sarcgen.errors import RecipeError
from sarcgen.recipe import Recipe, load_recipe, save_resolved

REPO = Path(__file__).resolve().parents[1]


def test_defaults_load() -> None:
    r = load_recipe(None)
    assert r.generate.n == 500
    assert r.generate.twin_ratio == 1.0  # measured (issue 12): a third of the items with twins hurt sincere positives
    assert r.finetune.base_model == "bert-base-uncased"


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "recipes").glob("*.yaml")))
def test_shipped_recipes_validate(name: str) -> None:
    load_recipe(REPO / "recipes" / name)


def test_unknown_key_names_file_key_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ngenerate:\n  n: 5\n  temprature: 0.3\n")
    with pytest.raises(RecipeError) as exc:
        load_recipe(p)
    msg = str(exc.value)
    assert f"{p}:4" in msg and "generate.temprature" in msg and "unknown key" in msg


def test_bad_value_names_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("generate:\n  sampling:\n    temperature: hot\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:3: generate.sampling.temperature"):
        load_recipe(p)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("generate: [1, 2\n")
    with pytest.raises(RecipeError, match="invalid YAML"):
        load_recipe(p)
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(RecipeError, match="mapping"):
        load_recipe(tmp_path / "list.yaml")


def test_overrides_win_and_none_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_text("generate:\n  n: 7\n  seed: 3\n")
    r = load_recipe(p, {"generate.n": 11, "generate.seed": None, "generate.sampling.temperature": 0.2})
    assert (r.generate.n, r.generate.seed, r.generate.sampling.temperature) == (11, 3, 0.2)


def test_resolved_round_trip_and_hash(tmp_path: Path) -> None:
    r = load_recipe(None, {"generate.n": 3})
    save_resolved(r, tmp_path / "recipe.yaml")
    again = load_recipe(tmp_path / "recipe.yaml")
    assert again == r
    # n and thread counts don't change what is generated, so they don't change the hash
    assert load_recipe(None, {"generate.n": 99, "generate.n_threads": 1, "generate.parallel": 4}).hash() == r.hash()
    assert load_recipe(None, {"generate.seed": 5}).hash() != r.hash()
    assert isinstance(Recipe().hash(), str)


@pytest.mark.parametrize(("override", "message"), [
    ({"name": "../elsewhere"}, r"name: .*not a plain folder name"),
    ({"name": "a/b"}, r"name: .*not a plain folder name"),
    ({"filter.min_words": 300}, r"filter: .*min_words 300 is above max_words 250"),
    ({"filter.near_dup_threshold": 10}, r"filter\.near_dup_threshold: .*greater than or equal to 50"),
    ({"generate.attributes.devices": ["deadpan", "Deadpan"]}, r"devices: .*lists 'Deadpan' twice"),
    ({"generate.attributes.cues": ["great", " "]}, r"cues: .*empty value"),
    ({"generate.attributes.lengths": [{"name": "s", "min_words": 50, "max_words": 10}]},
     r"lengths\.0: .*min_words 50 is above max_words 10"),
])
def test_contradictory_or_degenerate_settings_are_refused(override: dict, message: str) -> None:
    """Settings a careful user would never mean are refused, and blamed on the override that set them."""
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(None, override)
    assert str(info.value).startswith("override ")


def test_a_bad_flag_value_is_blamed_on_the_flag_not_the_file(tmp_path) -> None:
    from sarcgen.cli.options import Overrides

    path = tmp_path / "r.yaml"
    path.write_text("generate:\n  sampling:\n    temperature: 0.8\n")
    with pytest.raises(RecipeError, match=r"^--temperature -1\.0: generate\.sampling\.temperature: "):
        load_recipe(path, Overrides({"generate.sampling.temperature": -1.0}, {"generate.sampling.temperature": "--temperature"}))
    path.write_text("generate:\n  sampling:\n    temperature: 9\n")
    with pytest.raises(RecipeError, match=r"r\.yaml:3: generate\.sampling\.temperature"):
        load_recipe(path, {"generate.n": 5})  # the file's own bad value still names its line


# ------------------------------------------------------------------------- backend options
def test_base_url_under_the_llamacpp_backend_is_refused_with_file_line_key(tmp_path: Path) -> None:
    """Each backend validates its own options: a misplaced one is an error, never accepted and ignored."""
    p = tmp_path / "r.yaml"
    p.write_text("generate:\n  backend: llamacpp\n  llamacpp:\n    n_ctx: 2048\n    base_url: http://127.0.0.1:8080/v1\n")
    with pytest.raises(RecipeError, match=r"r.yaml:5: generate.llamacpp.base_url: not an option of the llamacpp "
                                          r"backend .*generate.openai.base_url"):
        load_recipe(p)
    p.write_text("generate:\n  backend: llamacpp\n  base_url: http://127.0.0.1:8080/v1\n")  # the old flat spelling
    with pytest.raises(RecipeError, match=r"r.yaml:3: generate.base_url: an option of the openai backend"):
        load_recipe(p)
    p.write_text("generate:\n  backend: openai\n  openai:\n    base_url: http://h:1/v1\n    n_ctx: 2048\n")
    with pytest.raises(RecipeError, match=r"r.yaml:5: generate.openai.n_ctx: not an option of the openai backend"):
        load_recipe(p)


def test_backend_options_keep_flags_old_spellings_and_hashes(tmp_path: Path) -> None:
    from sarcgen.backends import create_backend
    from sarcgen.backends.openai import OpenAICompatBackend

    # the flat spelling of older recipes and of CLI flags lands in the backend's own section
    r = load_recipe(None, {"generate.backend": "openai", "generate.base_url": "http://h:9/v1", "generate.api_model": "q"})
    assert (r.generate.openai.base_url, r.generate.openai.api_model) == ("http://h:9/v1", "q")
    assert isinstance(create_backend(r), OpenAICompatBackend)
    assert load_recipe(None, {"generate.n_ctx": 1024}).generate.llamacpp.n_ctx == 1024
    # a resolved recipe.yaml of an older sarcgen (every option flat, the others at their defaults) loads
    old = tmp_path / "old.yaml"
    old.write_text("generate:\n  backend: llamacpp\n  base_url: null\n  api_model: null\n  request_timeout: 120.0\n"
                   "  n_ctx: 2048\n  n_threads: 2\n  n_gpu_layers: -1\n")
    rec = load_recipe(old)
    assert (rec.generate.llamacpp.n_ctx, rec.generate.llamacpp.n_threads) == (2048, 2)
    # a flag that belongs to another backend is blamed on the flag
    with pytest.raises(RecipeError, match=r"generate.base_url: an option of the openai backend"):
        load_recipe(None, {"generate.base_url": "http://h:9/v1"})
    # the other backend's own section may stay (switching with --backend), and the hash is the flat one of before
    smoke = load_recipe(Path(__file__).resolve().parents[1] / "recipes" / "smoke.yaml", {"generate.backend": "openai"})
    assert smoke.generate.llamacpp.n_ctx == 2048
    # the default recipe's hash before backends had sections (twin_ratio was then 1/3 by default)
    assert Recipe.model_validate({"generate": {"twin_ratio": 1 / 3}}).hash(1) == "36dc2c5b080c294a"
    assert load_recipe(old).hash() == load_recipe(None, {"generate.n_ctx": 2048}).hash()
