"""Prompt templates: chat messages, static prefix first, strict variables, sandboxed user templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sarcgen.errors import RecipeError
from sarcgen.generate.plan import Plan
from sarcgen.prompts import PACKAGED, load_template, parse_messages, review_messages
from sarcgen.recipe import load_recipe


@pytest.fixture()
def recipe():
    return load_recipe(None, {"generate.twin_ratio": 1.0})


def test_review_template_messages(recipe) -> None:
    t = load_template("review.j2")
    assert t.name == "review.j2" and not t.sandboxed and len(t.sha256) == 64
    s_item, t_item = Plan(recipe.generate).items(2)
    s_msgs = review_messages(t, s_item, recipe.generate.attributes)
    t_msgs = review_messages(t, t_item, recipe.generate.attributes)
    assert s_msgs[0]["role"] == "system" and s_msgs[-1]["role"] == "user"
    assert [m["role"] for m in s_msgs[1:-1]] == ["user", "assistant"] * ((len(s_msgs) - 2) // 2)
    # Static part first: everything but the last message is the same for every item.
    assert s_msgs[:-1] == t_msgs[:-1]
    last = s_msgs[-1]["content"]
    for value in (s_item.device, s_item.aspect, s_item.genre, f'"{s_item.cue}"', "sarcastic",
                  f"{s_item.min_words}-{s_item.max_words} words"):
        assert value in last
    twin = t_msgs[-1]["content"]
    assert "sincere" in twin and "Technique" not in twin and f'"{t_item.cue}"' in twin
    assert all(d in s_msgs[0]["content"] for d in recipe.generate.attributes.devices)


def test_hash_covers_partials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "prompts"
    shutil.copytree(PACKAGED, copy)
    monkeypatch.setenv("SARCGEN_PROMPTS_DIR", str(copy))
    h1 = load_template("review.j2").sha256
    assert load_template("review.j2").sha256 == h1
    (copy / "_devices.j2").write_text((copy / "_devices.j2").read_text() + "\n{# changed #}\n")
    assert load_template("review.j2").sha256 != h1


def test_user_template_sandboxed_and_strict(tmp_path: Path, recipe) -> None:
    item = Plan(recipe.generate).items(1)[0]
    good = tmp_path / "mine.j2"
    good.write_text('{% import "_devices.j2" as d %}[[system]]\nBe brief.\n[[user]]\nA {{ d.describe(item.device) }} about {{ item.aspect }}.\n')
    t = load_template(str(good))
    assert t.sandboxed and t.name == "mine.j2"
    msgs = review_messages(t, item, recipe.generate.attributes)
    assert msgs[0] == {"role": "system", "content": "Be brief."}
    assert msgs[1]["role"] == "user"
    assert msgs[1]["content"].startswith(f"A {item.device} (") and msgs[1]["content"].endswith(f"about {item.aspect}.")

    typo = tmp_path / "typo.j2"
    typo.write_text("[[user]]\n{{ item.aspcet }}\n")
    with pytest.raises(RecipeError, match="undefined"):
        review_messages(load_template(str(typo)), item, recipe.generate.attributes)

    evil = tmp_path / "evil.j2"
    evil.write_text("[[user]]\n{{ item.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(RecipeError):
        review_messages(load_template(str(evil)), item, recipe.generate.attributes)


def test_template_errors(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not found"):
        load_template("no-such-template.j2")
    bad = tmp_path / "bad.j2"
    bad.write_text("[[user]]\n{% if %}\n")
    with pytest.raises(RecipeError, match=r"bad.j2:2"):
        load_template(str(bad))


def test_parse_messages() -> None:
    assert parse_messages("[[system]]\nS\n[[user]]\nU\n") == [
        {"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    with pytest.raises(RecipeError, match="no chat messages"):
        parse_messages("just text")
    with pytest.raises(RecipeError, match="before the first"):
        parse_messages("oops\n[[user]]\nU")
    with pytest.raises(RecipeError, match="last message"):
        parse_messages("[[user]]\nU\n[[assistant]]\nA")
