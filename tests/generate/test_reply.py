"""Reply parsing: clean text or a named reason, never an exception."""

from __future__ import annotations

import pytest

from sarcgen.generate.reply import (
    BACKEND_ERROR,
    EMPTY,
    MALFORMED,
    META_TEXT,
    TRUNCATED,
    clean_text,
    parse_reply,
    strip_wrapping_quotes,
)
from sarcgen.text import strip_think


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Great movie, if you enjoy naps.", "Great movie, if you enjoy naps."),
        ('"Great movie, if you enjoy naps."', "Great movie, if you enjoy naps."),
        ("\u201cA stunning waste of two hours.\u201d", "A stunning waste of two hours."),
        ("<think>\nThe user wants sarcasm.\n</think>\n\nWhat a masterpiece of boredom.", "What a masterpiece of boredom."),
        ("<think>\n\n</think>\n\nBrilliant, truly.", "Brilliant, truly."),
        ("planning...</think> Loved every second of my nap.", "Loved every second of my nap."),
        ("Review: Brilliant pacing, if glaciers are your thing.", "Brilliant pacing, if glaciers are your thing."),
        ("It's great, isn't it? No.", "It's great, isn't it? No."),
        ('The "best" film of the year, said "nobody".', 'The "best" film of the year, said "nobody".'),
        ("  A   wonderful\tfilm.  ", "A wonderful film."),
        ("First paragraph.\n\nSecond paragraph.", "First paragraph.\n\nSecond paragraph."),
        ("I said here is my money back, please.", "I said here is my money back, please."),
    ],
)
def test_accepts_and_cleans(reply: str, expected: str) -> None:
    out = parse_reply(reply, "stop")
    assert out.ok, out
    assert out.text == expected


@pytest.mark.parametrize(
    "reply, finish, reason",
    [
        ("", "stop", EMPTY),
        ("   \n ", "stop", EMPTY),
        ('""', "stop", EMPTY),
        ("<think>I keep thinking and never", "stop", EMPTY),
        ("Great movie, if you enjoy wat", "length", TRUNCATED),
        ("Here is a sarcastic review: Great movie.", "stop", META_TEXT),
        ("Here's your review! Great movie.", "stop", META_TEXT),
        ("Sure! Great movie, if you like naps.", "stop", META_TEXT),
        ("Certainly. What a film.", "stop", META_TEXT),
        ("As an AI, I cannot watch movies.", "stop", META_TEXT),
        ("I'm sorry, but I can't write that.", "stop", META_TEXT),
        ("Great movie, truly.\n\n(Word count: 3)", "stop", META_TEXT),
        ("Great movie.\nNote: this uses hyperbole.", "stop", META_TEXT),
        ("This review uses a backhanded compliment: great.", "stop", META_TEXT),
        ("1. Great movie.\n2. Terrible movie.", "stop", MALFORMED),
        ("- Great movie\n- Awful plot", "stop", MALFORMED),
        ("## Review\nGreat movie.", "stop", MALFORMED),
        ('{"review": "Great movie."}', "stop", MALFORMED),
        ("```\nGreat movie.\n```", "stop", MALFORMED),
        ("Review 1: Great.\nReview 2: Brilliant.", "stop", MALFORMED),
        ("What a **masterpiece**.", "stop", MALFORMED),
        ("anything", "error", BACKEND_ERROR),
    ],
)
def test_rejects_with_reason(reply: str, finish: str, reason: str) -> None:
    out = parse_reply(reply, finish)
    assert not out.ok
    assert out.reason == reason
    assert out.text is None


def test_error_string_is_kept_in_detail() -> None:
    out = parse_reply("", "error", "connection reset")
    assert out.reason == BACKEND_ERROR and "connection reset" in out.detail


def test_helpers() -> None:
    assert strip_think("a<think>x</think>b<think>y</think>c") == "abc"
    assert strip_think("<THINK>x</THINK>ok") == "ok"
    assert strip_wrapping_quotes("'quoted'") == "quoted"
    assert strip_wrapping_quotes("\"a\" b \"c\"") == "\"a\" b \"c\""
    assert clean_text("\x00\x07Great\ufffd film") == "Great film"


def test_gibberish_words_pass() -> None:
    # The tiny random model writes pseudo-words; the parser judges form, not sense.
    assert parse_reply(" camu tega tega teti", "stop").text == "camu tega tega teti"


def test_placeholder_and_prompt_copy_are_named() -> None:
    out = parse_reply("The director's own opinion was...(insert more words here) and the great cast saved it.")
    assert out.reason == "placeholder" and "insert more words" in out.detail
    prompt = [{"role": "system", "content": "You write reviews."}, {"role": "user", "content": "A sincere review."},
              {"role": "assistant", "content": "The two leads are brilliant together and I left wanting a sequel."},
              {"role": "user", "content": "A sarcastic review."}]
    copied = parse_reply("The two leads are brilliant together and I left wanting a sequel.", prompt=prompt)
    assert copied.reason == "prompt_copy" and "few-shot example 1" in copied.detail
    assert parse_reply("The two leads are brilliant together and I left wanting a sequel.").ok  # no prompt, no check
    assert parse_reply("A wooden cast and a brilliant poster; the poster acted better.", prompt=prompt).ok
