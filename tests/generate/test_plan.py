"""The generation plan: deterministic, balanced, twins with their parents, disjoint shards."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from sarcgen.errors import RecipeError
from sarcgen.generate.plan import TWIN_BLOCK, Plan, derive_seed, parse_shard
from sarcgen.recipe import load_recipe


def small(**gen):
    attrs = {"devices": ["a", "b"], "aspects": ["plot", "acting", "pacing"], "genres": ["drama", "horror"],
             "cues": ["great", "best", "loved"]}
    return load_recipe(None, {"generate": {"attributes": attrs, **gen}}).generate


def test_deterministic_and_seeded() -> None:
    g = small(seed=5)
    assert Plan(g).items(50) == Plan(g).items(50)
    other = Plan(g, seed=6).items(50)
    assert [i.device + i.aspect for i in other] != [i.device + i.aspect for i in Plan(g).items(50)]


def test_ids_indices_and_seeds() -> None:
    items = Plan(small(twin_ratio=0.5)).items(40)
    assert [i.plan_index for i in items] == sorted(i.plan_index for i in items)
    assert len({i.id for i in items}) == len(items)
    assert items[0].id == "000000-s" and items[0].label == 0 and items[0].sarcastic
    assert len({i.seed for i in items}) == len(items)
    it = items[0]
    seeds = [it.seed_for(a) for a in range(4)]
    assert seeds[0] == it.seed and len(set(seeds)) == 4
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(1, "x") == derive_seed(1, "x") != derive_seed(2, "x")


def test_balanced_coverage_per_block() -> None:
    g = small(twin_ratio=0.0)
    plan = Plan(g)
    n_combo = 2 * 3 * 2 * 3  # devices x aspects x genres x default lengths
    groups = [plan.group(k)[0] for k in range(2 * n_combo)]
    for block in (groups[:n_combo], groups[n_combo:]):
        combos = Counter((i.device, i.aspect, i.genre, i.length) for i in block)
        assert len(combos) == n_combo and set(combos.values()) == {1}
    cues = Counter(i.cue for i in groups[:36])
    assert set(cues.values()) == {12}
    assert [i.device for i in groups[:n_combo]] != [i.device for i in groups[n_combo:]]  # reshuffled


@pytest.mark.parametrize("ratio", [0.0, 1 / 3, 0.5, 1.0])
def test_twins_share_and_attributes(ratio: float) -> None:
    plan = Plan(small(twin_ratio=ratio))
    groups = [plan.group(k) for k in range(TWIN_BLOCK)]
    twins = [grp[1] for grp in groups if len(grp) == 2]
    assert len(twins) == round(ratio * TWIN_BLOCK)
    for grp in groups:
        s = grp[0]
        assert s.sarcastic and s.label == 0 and s.device != "sincere"
        if len(grp) == 2:
            t = grp[1]
            assert (t.label, t.sarcastic, t.device) == (1, False, "sincere")
            assert (t.aspect, t.cue, t.genre, t.length) == (s.aspect, s.cue, s.genre, s.length)
            assert t.pair_id == s.pair_id == s.id[:6] and t.id == s.id[:6] + "-t"
        else:
            assert s.pair_id is None


def test_shards_are_disjoint_and_cover_the_plan() -> None:
    g = small(twin_ratio=1 / 3)
    whole = {i.id: i for grp in itertools.islice(Plan(g).groups(), 90) for i in grp}
    parts = [Plan(g, shard=f"{k}/3") for k in range(3)]
    seen: dict[str, object] = {}
    for p in parts:
        for grp in itertools.islice(p.groups(), 30):
            assert all(i.group_index % 3 == p.shard[0] for i in grp)
            for i in grp:
                assert i.id not in seen
                seen[i.id] = i
    assert seen == whole  # same items, same seeds, same attributes
    # twins are spread over the shards, not all in one
    assert all(sum(len(grp) == 2 for grp in itertools.islice(p.groups(), 200)) > 30 for p in parts)


def test_parse_shard() -> None:
    assert parse_shard(None) is None
    assert parse_shard("1/4") == (1, 4)
    assert parse_shard((0, 1)) == (0, 1)
    for bad in ("4/4", "-1/2", "x", "1/0", "1-2"):
        with pytest.raises(RecipeError):
            parse_shard(bad)


def test_prompt_vars() -> None:
    item = Plan(small()).items(1)[0]
    v = item.prompt_vars()
    assert {"device", "aspect", "genre", "length", "min_words", "max_words", "cue", "sarcastic"} <= set(v)


def test_parse_shard_reads_every_manifest_spelling() -> None:
    from sarcgen.generate.plan import parse_shard

    assert parse_shard("1/4") == parse_shard([1, 4]) == parse_shard({"k": 1, "n": 4}) == (1, 4)
    assert parse_shard(None) is None
