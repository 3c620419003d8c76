"""Mixing and balance: synthetic_ratio sampling keeps twins together; balance and its warning;
star ratings as labels; sarcastic/sincere groups; the built-in challenge set's contrast pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sarcgen.errors import InputError, RecipeError
from sarcgen.finetune.analysis import group_of, pair_groups, subsets
from sarcgen.finetune.data import TextSet
from sarcgen.finetune.evalsets import builtin_challenge, load_challenge_sets
from sarcgen.finetune.runs import plan_runs
from sarcgen.finetune.synthetic_data import balance, balance_line, pair_units, sample_synthetic, shortfall, shortfall_line
from sarcgen.recipe import load_recipe


def synthetic(n_pairs: int, n_single: int) -> TextSet:
    texts, labels, meta = [], [], []
    for i in range(n_pairs):
        for y in (0, 1):
            texts.append(f"pair {i} {y}")
            labels.append(y)
            meta.append({"pair_id": f"p{i}", "sarcastic": y == 0, "device": "irony" if y == 0 else "sincere"})
    for i in range(n_single):
        texts.append(f"single {i}")
        labels.append(0)
        meta.append({"pair_id": None, "sarcastic": True, "device": "deadpan"})
    return TextSet("syn", texts, labels, meta)


def _twins_together(ts: TextSet) -> bool:
    count: dict[str, int] = {}
    for m in ts.meta:
        if m["pair_id"]:
            count[m["pair_id"]] = count.get(m["pair_id"], 0) + 1
    return all(c % 2 == 0 for c in count.values())


@pytest.mark.parametrize("ratio", [0.05, 0.1])
def test_sampling_hits_the_ratio_and_keeps_twins_together(ratio: float) -> None:
    train = synthetic(40, 60)  # 140 rows
    out = sample_synthetic(train, ratio, 1000, seed=3)
    assert abs(len(out) - round(ratio * 1000)) <= 1  # a twin pair may overshoot by one row
    assert _twins_together(out)
    assert sample_synthetic(train, ratio, 1000, seed=3).texts == out.texts  # seeded
    assert sample_synthetic(train, ratio, 1000, seed=4).texts != out.texts
    assert len(set(out.texts)) == len(out)  # no row twice
    assert shortfall(train, ratio, 1000) == 0


def test_a_ratio_beyond_the_split_uses_every_row_once_and_says_how_many_are_missing() -> None:
    train = synthetic(40, 60)  # 140 rows; 0.5 x 1000 asks for 500
    out = sample_synthetic(train, 0.5, 1000, seed=3)
    assert sorted(out.texts) == sorted(train.texts)  # every row exactly once, never repeated
    assert _twins_together(out)
    assert shortfall(train, 0.5, 1000) == 360
    assert "none repeated (360 short)" in shortfall_line(len(out), 360)


def test_ratio_none_takes_the_split_once() -> None:
    train = synthetic(3, 2)
    assert sample_synthetic(train, None, 10_000, seed=0).texts == train.texts
    assert len(pair_units(train)) == 5


def test_balance_and_its_warning() -> None:
    b = balance(synthetic(10, 30))
    assert (b.negative, b.positive, b.pairs) == (40, 10, 10)
    assert b.class_ratio == 4.0 and b.devices == {"deadpan": 30, "irony": 10, "sincere": 10}
    assert "WARNING" in balance_line(b, 2.0) and "WARNING" not in balance_line(b, 5.0)
    assert "WARNING" not in balance_line(balance(synthetic(10, 0)), 2.0)


def test_recipe_mix_and_ratio_controls() -> None:
    r = load_recipe(None, {"finetune.mix": [0.05, 0.1], "generate.twin_ratio": 1.0})
    assert r.finetune.mixes() == [0.05, 0.1] and r.generate.twin_ratio == 1.0
    assert load_recipe(None, {"finetune.synthetic_ratio": 0.2}).finetune.mixes() == [0.2]
    with pytest.raises(RecipeError, match="finetune.mix"):
        load_recipe(None, {"finetune.mix": [0.1, 0.1]})
    with pytest.raises(RecipeError, match="twin_ratio"):
        load_recipe(None, {"generate.twin_ratio": 1.5})
    specs = plan_runs(42, 2, [0.05, 0.1])
    assert [s.key for s in specs] == ["A-seed42", "B-seed42-mix0.05", "B-seed42-mix0.1",
                                      "A-seed43", "B-seed43-mix0.05", "B-seed43-mix0.1"]
    assert plan_runs(1, 1, [None])[1].key == "B-seed1"  # the checkpoint name of a single-mix comparison


def test_star_ratings_become_labels_and_rows_group_by_kind(tmp_path: Path) -> None:
    f = tmp_path / "human_sarcasm.csv"
    f.write_text('text,rating,sarcastic\n"Oh wonderful, it broke on day two.",1,1\n"Five stars for the wait.",2,1\n'
                 '"Meh, fine.",3,0\n"Works as described.",5,0\n"Great value.",4,0\n', encoding="utf-8")
    ts = load_challenge_sets([str(f)])[-1]
    assert ts.name == "human_sarcasm" and ts.labels == [0, 0, 1, 1]  # the 3-star row is left out
    assert subsets(ts) == {"sarcastic negatives": [0, 1], "sincere positives": [2, 3]}
    bad = tmp_path / "bad.csv"
    bad.write_text("text,rating\nok,5\nwhat,7\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv: column 'rating' has 1 value\(s\) outside 1-5 stars.*data row 2"):
        load_challenge_sets([str(bad)])


def test_group_names_and_builtin_pairs() -> None:
    assert group_of({"kind": "ironic"}) == "sarcastic" and group_of({"kind": "Regular"}) == "sincere"
    assert group_of({"sarcastic": "true"}) == "sarcastic" and group_of({"sarcastic": float("nan")}) is None
    ch = builtin_challenge()
    pairs = pair_groups(ch)
    assert len(pairs) == 10  # each sincere control pairs with the sarcastic item(s) of its cue
    assert all({ch.labels[i] for i in g} == {0, 1} for g in pairs)


def test_the_mix_is_chosen_on_imdb_validation_loss_and_the_synthetic_loss_only_breaks_ties() -> None:
    from sarcgen.finetune.analysis import choose_mix
    from sarcgen.finetune.results import SelectionSummary

    def mix(imdb: float, syn: float) -> SelectionSummary:
        return SelectionSummary(selection=imdb, imdb_validation=imdb, synthetic_validation=syn, per_seed=[imdb])

    # the README's frozen-MiniLM table: the synthetic loss falls with every mix, the IMDB loss climbs after 0.05
    mixes = {"0.05": mix(0.545, 0.559), "0.1": mix(0.547, 0.459), "0.2": mix(0.567, 0.367), "0.4": mix(0.573, 0.219)}
    assert choose_mix(mixes) == "0.05"  # the old (IMDB + synthetic) / 2 rule chose 0.4
    tie = {"0.05": mix(0.5450, 0.6), "0.1": mix(0.5455, 0.4), "0.2": mix(0.560, 0.1)}
    assert choose_mix(tie) == "0.1"  # within 0.001 of the best IMDB loss: the lower synthetic loss wins
