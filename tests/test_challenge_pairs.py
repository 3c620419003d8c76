"""The hand-written contrast-pair challenge set (sarcgen/data/challenge_pairs.jsonl): size, pairing,
cues, the seen/unseen cue split, and distance from every other text the project evaluates or prompts with."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from importlib import resources

import pytest
from rapidfuzz import fuzz

from sarcgen.challenge import CHALLENGE_SET, PAIRS_FILE, ChallengeItem, _pair_item, load_challenge_pairs
from sarcgen.filter.calibration import CALIBRATION_SET
from sarcgen.prompts import PACKAGED
from sarcgen.text import normalize

RECIPE_CUES = ("great", "brilliant", "masterpiece", "amazing", "loved", "stunning", "perfect",
               "wonderful", "best", "fantastic", "beautiful", "unforgettable")

# The 12 cues and their simple inflections ("love", "loving", "greatest", "perfectly", ...), as whole words.
CUE_FORMS = re.compile(
    r"\b(?:great(?:er|est|ly|ness)?|brillian(?:t|tly|ce)|masterpieces?|amaz(?:e|ed|es|ing|ingly)|lov(?:e|ed|es|ing|ely)"
    r"|stunning(?:ly)?|perfect(?:ly|ion|ed|s)?|wonderful(?:ly)?|best|fantastic(?:ally)?|beautiful(?:ly)?|unforgettabl[ey])\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def items() -> tuple[ChallengeItem, ...]:
    return load_challenge_pairs()


@pytest.fixture(scope="module")
def pairs(items: tuple[ChallengeItem, ...]) -> dict[str, list[ChallengeItem]]:
    out: dict[str, list[ChallengeItem]] = defaultdict(list)
    for item in items:
        assert item.pair_id is not None
        out[item.pair_id].append(item)
    return dict(out)


def test_the_cue_list_is_the_recipe_default() -> None:
    from sarcgen.recipe import Attributes

    assert tuple(Attributes().cues) == RECIPE_CUES


def test_cue_forms_pattern() -> None:
    for word in ("Great", "greatest", "loved", "loving", "Love", "perfectly", "best", "amazing", "Unforgettable", "brilliantly"):
        assert CUE_FORMS.search(f"It was {word}."), word
    for word in ("stunts", "bestow", "clover", "imperfect", "greatcoat"):
        assert not CUE_FORMS.search(f"It was {word}."), word


def test_at_least_100_pairs_of_one_sarcastic_negative_and_one_sincere_positive(
        items: tuple[ChallengeItem, ...], pairs: dict[str, list[ChallengeItem]]) -> None:
    assert len(pairs) >= 100 and len(items) == 2 * len(pairs)
    for pid, pair in pairs.items():
        assert sorted((i.label, i.kind) for i in pair) == [(0, "sarcastic"), (1, "sincere")], pid
        assert len({i.cue for i in pair}) == 1 and len({i.seen_cue for i in pair}) == 1, pid


def test_every_text_uses_its_cue(items: tuple[ChallengeItem, ...]) -> None:
    for item in items:
        assert item.cue.lower() in item.text.lower(), (item.cue, item.text)


def test_seen_and_unseen_cues(pairs: dict[str, list[ChallengeItem]]) -> None:
    seen = {pid: p for pid, p in pairs.items() if p[0].seen_cue}
    unseen = {pid: p for pid, p in pairs.items() if not p[0].seen_cue}
    assert len(unseen) >= 50 and len(unseen) * 2 >= len(pairs)
    for pid, pair in seen.items():
        assert pair[0].cue in RECIPE_CUES, pid
    for pid, pair in unseen.items():
        assert not CUE_FORMS.search(pair[0].cue), pid
        for item in pair:
            found = CUE_FORMS.search(item.text)
            assert found is None, (pid, found.group(0) if found else None, item.text)
    counts = Counter(p[0].cue for p in pairs.values())
    assert max(counts.values()) <= 8, counts.most_common(3)
    assert set(RECIPE_CUES) <= set(counts)  # every default cue is covered


def test_lengths_and_plain_text(items: tuple[ChallengeItem, ...]) -> None:
    for item in items:
        assert 6 <= len(item.text.split()) <= 35, item.text
        assert item.text == item.text.strip() and "\n" not in item.text
        assert not re.search(r"sarcas|ironic|irony|[*#_`]|[\U0001F300-\U0001FAFF\u2600-\u27BF]", item.text, re.IGNORECASE), item.text


def test_no_duplicates_or_near_duplicates_inside_the_set(items: tuple[ChallengeItem, ...]) -> None:
    texts = [normalize(i.text) for i in items]
    assert len(set(texts)) == len(texts)
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if items[a].pair_id != items[b].pair_id:  # the two sides of a pair share their wording on purpose
                assert fuzz.token_sort_ratio(texts[a], texts[b]) < 90, (items[a].text, items[b].text)


def test_disjoint_from_the_old_challenge_set_the_calibration_set_and_the_prompts(items: tuple[ChallengeItem, ...]) -> None:
    others = [c.text for c in CHALLENGE_SET] + [c.text for c in CALIBRATION_SET]
    for name in ("review.j2", "judge.j2"):
        others += [line.removeprefix("Review: ") for line in (PACKAGED / name).read_text().splitlines() if len(line.split()) >= 6]
    normed = [normalize(o) for o in others]
    for item in items:
        t = normalize(item.text)
        for o, n in zip(others, normed):
            assert fuzz.token_sort_ratio(t, n) < 90, (item.text, o)


def test_the_file_is_package_data_and_a_valid_challenge_file() -> None:
    from sarcgen.finetune.data import load_labelled_file

    ref = resources.files("sarcgen").joinpath("data").joinpath(PAIRS_FILE)
    with resources.as_file(ref) as path:
        ts = load_labelled_file(path)
    items = load_challenge_pairs()
    assert ts.texts == [i.text for i in items] and ts.labels == [i.label for i in items]
    assert ts.meta is not None and [m["pair_id"] for m in ts.meta] == [i.pair_id for i in items]


def test_malformed_records_name_their_line() -> None:
    good = {"pair_id": "p1", "text": "Fine.", "label": 0, "kind": "sarcastic", "cue": "fine", "seen_cue": False}
    assert _pair_item(good, 1) == ChallengeItem("Fine.", 0, "sarcastic", "fine", pair_id="p1", seen_cue=False)
    for bad in ({**good, "label": 1}, {**good, "label": True}, {**good, "seen_cue": "no"}, {**good, "kind": "plain"}, [good]):
        with pytest.raises(ValueError, match="line 7"):
            _pair_item(json.loads(json.dumps(bad)), 7)


def test_existing_constructors_still_work() -> None:
    item = ChallengeItem("Great film.", 1, "sincere", "great")
    assert item.pair_id is None and item.seen_cue is None
