"""sarcgen.text: the shared rules generate and filter both apply."""

from __future__ import annotations

import pytest

from sarcgen.text import find_markdown, find_meta_text, strip_think, wrapping_quote


@pytest.mark.parametrize(
    "text",
    [
        "Here is a sarcastic review: great.",
        "Sure! Great film.",
        "Great film.\n(Word count: 3)",
        "Great film. Hope this helps!",
        "Great film.\nTitle: Paint",
        "This is a sarcastic review of a great film.",
        "As a large language model I loved it.",
        "I won't write that, but the film is great.",
    ],
)
def test_meta_text_found(text: str) -> None:
    assert find_meta_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "I said here is my money back, please.",
        "This is a great film, if you enjoy naps.",
        "I can't believe how great this film was, truly.",
        "I'm sorry I ever doubted this great film.",
    ],
)
def test_reviews_are_not_meta_text(text: str) -> None:
    assert find_meta_text(text) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("What a **masterpiece**.", "**masterpiece**"),
        ("*** SPOILERS *** great", "** SPOILERS **"),
        ("**Great film", "**"),
        ("# Review\nGreat.", "#"),
        ("1) Great.\n2) Bad.", "1) G"),
        ("> quoted\nGreat.", ">"),
    ],
)
def test_markdown_found(text: str, found: str) -> None:
    assert find_markdown(text) == found


def test_markdown_ignores_asterisks_inside_words() -> None:
    assert find_markdown("I was p***ed off, great film.") is None


def test_think_and_quotes() -> None:
    assert strip_think("plan</think>ok") == "ok"
    assert strip_think("a<think>x") == "a"
    assert wrapping_quote("\u201cyes\u201d") == "\u201c"
    assert wrapping_quote("`code`") == "`"
    assert wrapping_quote('"open') is None
