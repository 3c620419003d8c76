"""Checks against the request, each on a reply of the kind SmolLM2-135M really wrote."""

from __future__ import annotations

import pytest

from sarcgen.filter import validate as v
from sarcgen.recipe import Attributes, FilterSettings
from sarcgen.records import Review
from tests.filter.test_run import review


def reason(text: str, **kw) -> str | None:
    out = v.validate_record(Review.model_validate(review(1, text, **kw)),
                            v.build_checks(FilterSettings(), attributes=Attributes()))
    return out[0] if out else None


@pytest.mark.parametrize(
    ("text", "kw", "expected"),
    [
        # a "short" (12-35 words) review of 95 words
        (" ".join(["The movie was great and the cast was wonderful to watch all evening long."] * 7), {}, "wrong_length"),
        ("The director's own opinion was...(insert more words here) but the great cast saved the whole film.", {}, "placeholder"),
        ("The great story of three lovers could be even more complicated if you have to use a rhetorical question.",
         {"device": "rhetorical question"}, "names_technique"),
        ("The ending... it's not too amazing, but the sound of thunder rolls in and that is what we did.",
         {"sarcastic": False, "cue": "amazing"}, "negated_cue"),
        ("The romance in the movies was fab and the leads made me love them again, a sweet and tender film.",
         {"sarcastic": False, "cue": "fantastic"}, "twin_missing_cue"),
        ("Ascend to the stars, my friend! My latest job has brought me amazing wonder and endless possibilities.",
         {"aspect": "acting"}, "off_topic"),
    ],
)
def test_each_reason_on_a_real_kind_of_reply(text: str, kw: dict, expected: str) -> None:
    assert reason(text, **kw) == expected


def test_good_reviews_pass_the_request_checks() -> None:
    assert reason("Not only beautiful but brilliant: the cast is great and the plot kept me guessing to the end.",
                  sarcastic=False, cue="brilliant") is None  # "not only" is not a negation
    assert reason("A great plot for anyone who enjoys guessing nothing, because every twist was announced an hour early.") is None
    assert reason("I have never seen anything so great; the cast made every scene of this drama feel alive.",
                  sarcastic=False) is None  # "never ... so great" is praise
