"""Checks against the request, each on a reply of the kind SmolLM2-135M really wrote."""

from __future__ import annotations

import pytest

from sarcgen.filter import validate as v
from sarcgen.recipe import Attributes, FilterSettings
from sarcgen.records import Review
from tests.factories import make_review


def reason(text: str, **kw) -> str | None:
    out = v.validate_record(make_review(1, text, **kw),
                            v.build_checks(FilterSettings(), attributes=Attributes()))
    return out.reason if out else None


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


def _labelled(labelled_dir, writer: str, fragment: str) -> Review:
    from pathlib import Path

    for line in Path(labelled_dir, writer, "generated.jsonl").read_text().splitlines():
        rec = Review.model_validate_json(line)
        if fragment in rec.text:
            return rec
    raise AssertionError(f"no {writer} record with {fragment!r}")


@pytest.mark.parametrize(("fragment", "check"), [
    # understatement: negated praise in a sarcastic negative is the sarcasm, not a reversed label
    ("Not quite the fantastic story I'd been promised", "negated_cue"),
    ("Not exactly a masterpiece of closure", "negated_cue"),
    ("maybe not the film's best feature", "negated_cue"),
    # film talk, not the record's own technique named
    ("perfect deadpan timing", "names_technique"),
    ("a revolutionary technique", "names_technique"),
])
def test_good_reviews_of_the_capable_writer_pass_the_rewritten_checks(labelled_dir, fragment: str, check: str) -> None:
    """Each was a good review (gold: right label, coherent) that the word rules rejected."""
    rec = _labelled(labelled_dir, "capable-llm", fragment)
    out = v.validate_record(rec, v.build_checks(FilterSettings(), attributes=Attributes()))
    assert out is None or out.reason != check


def test_a_sincere_twin_that_takes_its_praise_back_is_still_caught() -> None:
    assert reason("The ending... it's not too amazing, but the sound of thunder rolls in and that is what we did.",
                  sarcastic=False, cue="amazing") == "negated_cue"
    assert reason("The ending... it's not too amazing, the sound of thunder rolls in, as the whole cast did the plot.",
                  cue="amazing") != "negated_cue"  # a sarcastic negative may understate
