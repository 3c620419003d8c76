"""The judge's calibration set: size, balance, and disjointness from every text the judge or writer sees."""

from __future__ import annotations

from rapidfuzz import fuzz

from sarcgen.challenge import CHALLENGE_SET
from sarcgen.filter.calibration import CALIBRATION_SET
from sarcgen.prompts import PACKAGED
from sarcgen.text import normalize


def test_at_least_40_items_of_three_kinds() -> None:
    kinds = [c.kind for c in CALIBRATION_SET]
    assert len(CALIBRATION_SET) >= 40
    assert {k: kinds.count(k) for k in set(kinds)} == {"sarcastic": 15, "sincere": 15, "plain_negative": 15}
    assert all(c.label == 0 for c in CALIBRATION_SET if c.sarcastic)
    assert len({c.text for c in CALIBRATION_SET}) == len(CALIBRATION_SET)


def test_disjoint_from_the_challenge_set_and_the_prompts() -> None:
    others = [c.text for c in CHALLENGE_SET]
    for name in ("review.j2", "judge.j2"):
        others += [line for line in (PACKAGED / name).read_text().splitlines() if len(line.split()) >= 6]
    for c in CALIBRATION_SET:
        for o in others:
            assert fuzz.token_sort_ratio(normalize(c.text), normalize(o)) < 70, (c.text, o)


def test_a_judge_that_calls_everything_sincere_praise_fails_as_a_gate() -> None:
    """SmolLM2-135M's pattern on the calibration set: every review "positive, not sarcastic"."""
    from sarcgen.filter.calibration import CALIBRATION_SET, score
    from sarcgen.filter.judge import Verdict

    cal = score([Verdict(1, False, "sentiment: positive\nsarcastic: no")] * len(CALIBRATION_SET), 0.8, 0.1)
    sarc, sinc = cal.per_class["sarcastic negatives"], cal.per_class["sincere positives"]
    assert sarc["recall"] == 0.0 and sarc["precision"] is None  # it would empty the sarcastic class
    assert sinc["recall"] == 1.0 and sinc["precision"] == 0.5  # and pass every plain complaint as praise
    assert not cal.passed and "sarcastic negatives precision - recall 0.00" in cal.summary()
