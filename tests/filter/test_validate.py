"""Each validation check: keep, or a named reason."""

from __future__ import annotations

import pytest

from sarcgen.filter import validate as v
from sarcgen.filter.check import Drop
from sarcgen.recipe import FilterSettings
from tests.factories import PROV, make_review, review_record


def reason(text: str, settings: FilterSettings | None = None, **kw) -> str | None:
    out = v.validate_record(make_review(1, text, **kw), v.build_checks(settings or FilterSettings()))
    return out.reason if out else None


GOOD = "A great plot for anyone who enjoys guessing nothing, because every twist was announced an hour early."


def test_good_sarcastic_and_sincere_pass() -> None:
    assert reason(GOOD) is None
    assert reason("A great plot that kept me guessing until the very end, and every twist felt earned.", sarcastic=False) is None
    # a sincere review may turn a negative into praise ("never boring")
    assert reason("Brilliant from start to finish and never boring for a second; I loved every scene of it.", sarcastic=False,
                  cue="brilliant") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great plot, truly.", "too_short"),
        (" ".join(["great"] * 300), "too_long"),
        ("Here is a sarcastic review of the film: great plot if you like sleeping through the whole thing.", "meta_text"),
        ("Sure! A great film that made me wish I had stayed home and counted the ceiling tiles instead.", "meta_text"),
        ("As an AI I found the great plot about as thrilling as reading the terms and conditions twice.", "meta_text"),
        ("What a great plot, said with all the sarcasm I can muster after two hours of absolutely nothing.", "label_leak"),
        ("Ironically the great plot was the least interesting part of a film that had nothing else going on.", "label_leak"),
        ("A great plot, really, I loved every minute of staring at my watch and waiting for the end /s", "label_leak"),
        ('"A great plot for anyone who enjoys guessing nothing, because every twist was announced early."', "wrapping_quotes"),
        ("**Great plot** for anyone who enjoys guessing nothing, because every twist was announced an hour early.", "markdown"),
        ("# Review\nA great plot for anyone who enjoys guessing nothing, because every twist was announced early.", "markdown"),
        ("Der Film war großartig, wenn man gerne zwei Stunden lang beim Trocknen von Farbe zusieht, wirklich.", "not_english"),
        ("Xqz vbnm plok trazz wubbel fromp snargle quizzit blorp zang frobble gnarp wizzle.", "not_english"),
        ("The film was dull and slow and the actors mumbled through every single scene of it all.", "missing_positive_cue"),
    ],
)
def test_reasons(text: str, expected: str) -> None:
    assert reason(text) == expected


def test_cue_can_be_inflected_or_any_positive_word() -> None:
    assert reason("I loving how the plot wandered off and never came back, like a dog that found a better family.", cue="love") is None
    assert reason("A stunning achievement in making ninety minutes feel like an entire week of waiting rooms.", cue="perfect") is None


@pytest.mark.parametrize(
    "text",
    [
        "A great film, if you enjoy watching the same scene repeated for an hour with no payoff at all.",
        "The acting is great, but the plot is a boring mess that goes absolutely nowhere for two hours.",
        "A great film, said no one who actually sat through the whole thing from start to finish.",
        "Great acting, and the worst script I have read in years, which the cast could not rescue.",
    ],
)
def test_sincere_twins_must_not_twist(text: str) -> None:
    assert reason(text, sarcastic=False) == "negative_twist"


def test_sarcastic_reviews_may_twist() -> None:
    assert reason("The acting is great, but the plot is a boring mess that goes absolutely nowhere for two hours.") is None


def test_length_bounds_come_from_settings() -> None:
    s = FilterSettings(min_words=3, max_words=12)
    assert reason("Great plot, truly brilliant stuff.", s) is None
    assert reason(GOOD, s) == "too_long"


def test_schema_problems_are_named() -> None:
    ok, problem = v.parse_record(review_record(1, GOOD))
    assert ok is not None and problem == ""
    bad, problem = v.parse_record({**review_record(1, GOOD), "label": 2})
    assert bad is None and problem.startswith("label")
    bad, problem = v.parse_record({k: x for k, x in review_record(1, GOOD).items() if k != "text"})
    assert bad is None and problem.startswith("text")
    assert v.parse_record({**review_record(1, GOOD), "extra": 1})[1].startswith("extra: unknown field")


def test_a_drop_names_its_reason_and_detail() -> None:
    assert v.validate_record(make_review(1, "Great plot, truly."), v.build_checks(FilterSettings())) == Drop("too_short", "3 words < 8")
    assert PROV["backend"] == "fake"
