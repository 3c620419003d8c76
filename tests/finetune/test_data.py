"""finetune data: base sample (local files, Hub offline), label/column validation, challenge sets, synthetic splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.challenge import CHALLENGE_SET
from sarcgen.devtools.tiny_bert import write_toy_imdb, write_toy_synthetic
from sarcgen.errors import InputError
from sarcgen.finetune.data import (
    TextSet,
    clean_text,
    load_base_data,
    load_labelled_file,
    stratified_sample,
)
from sarcgen.finetune.evalsets import load_challenge_sets
from sarcgen.finetune.synthetic_data import load_synthetic_splits
from sarcgen.tables import read_texts


def test_clean_text_removes_html_breaks() -> None:
    assert clean_text("Good.<br /><br />Really  good.<BR/>") == "Good. Really good."


def test_base_sample_is_seeded_stratified_and_disjoint(tmp_path: Path) -> None:
    d = write_toy_imdb(tmp_path / "imdb", n_train=100, n_test=40)
    a = load_base_data(str(d), "unused", 40, 20, 20, seed=7)
    b = load_base_data(str(d), "unused", 40, 20, 20, seed=7)
    c = load_base_data(str(d), "unused", 40, 20, 20, seed=8)
    assert a.train.texts == b.train.texts and a.test.texts == b.test.texts
    assert a.train.texts != c.train.texts
    assert (len(a.train), len(a.validation), len(a.test)) == (40, 20, 20)
    assert sum(a.train.labels) == 20 and sum(a.validation.labels) == 10 and sum(a.test.labels) == 10
    assert not any("<br" in t for t in a.train.texts)
    # Test reviews come from test.csv; train and validation never overlap (same texts may repeat in toy data,
    # so compare positions through a fresh sample of indices).
    pool = TextSet("p", [f"t{i}" for i in range(50)], [i % 2 for i in range(50)])
    tr, va = stratified_sample(pool, [30, 20], 1, ["tr", "va"])
    assert not set(tr.texts) & set(va.texts)


def test_base_sample_single_file_and_too_small(tmp_path: Path) -> None:
    d = write_toy_imdb(tmp_path / "imdb", n_train=60, n_test=10)
    s = load_base_data(str(d / "train.csv"), "unused", 30, 10, 10, seed=1)
    assert len(s.test) == 10
    with pytest.raises(InputError, match="asked for 90 reviews"):
        load_base_data(str(d / "train.csv"), "unused", 50, 20, 20, seed=1)


def test_missing_column_and_bad_labels_name_file_and_column(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("review,label\nhello,1\n")
    with pytest.raises(InputError, match=r"x\.csv: missing column\(s\) text"):
        load_labelled_file(f)
    f.write_text("text,label\nhello,1\nbye,2\n")
    with pytest.raises(InputError, match=r"x\.csv: column 'label' has 1 value\(s\) outside \{0, 1\}.*2"):
        load_labelled_file(f)
    j = tmp_path / "y.jsonl"
    j.write_text(json.dumps({"text": "ok", "label": "positive"}) + "\n")
    assert load_labelled_file(j).labels == [1]


def test_hub_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError) as exc:
        load_base_data(None, "stanfordnlp/imdb", 10, 10, 10, seed=1)
    assert "stanfordnlp/imdb" in str(exc.value) and "--base-data" in str(exc.value)


def test_challenge_sets_builtin_and_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text('text,label\n"Oh great, another sequel.",0\n')
    sets = load_challenge_sets([str(f)])
    assert sets[0].name == "challenge" and len(sets[0]) == len(CHALLENGE_SET)
    assert {m["kind"] for m in sets[0].meta} == {"sarcastic", "sincere"}
    seen, unseen, boundary = sets[1:4]
    assert (seen.name, unseen.name, boundary.name) == ("challenge_seen", "challenge_unseen", "boundary")
    assert len(seen) + len(unseen) >= 200 and len(unseen) >= 100
    assert len(boundary) == 490 and boundary.labels[0] != boundary.labels[1]  # an original and its counterfactual
    assert boundary.meta[0] == {"kind": "original", "pair_id": "cad-000"} and boundary.meta[1]["kind"] == "counterfactual"
    assert sets[4].name == "mine" and sets[4].labels == [0]
    assert [s.name for s in load_challenge_sets([], boundary=False)] == ["challenge", "challenge_seen", "challenge_unseen"]


def test_a_planted_eval_text_in_the_imdb_pool_is_removed_and_counted(tmp_path: Path) -> None:
    from sarcgen.finetune.data import clean_pool
    from sarcgen.finetune.evalsets import builtin_boundary

    boundary = builtin_boundary()
    pool = TextSet("train", ["An ordinary review of a film I watched on a rainy Sunday afternoon with my family."] * 3
                   + [boundary.texts[0], boundary.texts[2].upper() + "  "], [1, 1, 1, boundary.labels[0], boundary.labels[2]],
                   [{}] * 5)
    clean, removed = clean_pool(pool, [boundary, TextSet("mine", ["Oh great, another sequel."], [0], [{}])])
    assert removed == {"boundary": 2, "mine": 0}  # the exact copy and the near copy (case, spacing)
    assert len(clean) == 3 and boundary.texts[0] not in clean.texts


def test_synthetic_from_records_jsonl_keeps_twins_together(tmp_path: Path) -> None:
    p = write_toy_synthetic(tmp_path / "syn.jsonl", n=60)
    splits = load_synthetic_splits(str(p))
    assert sum(len(s) for s in splits.values()) == 60
    assert len(splits["train"]) > 30


def test_synthetic_from_a_saved_datasetdict(tmp_path: Path) -> None:
    import datasets

    feats = datasets.Features({"text": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=["negative", "positive"]),
                               "sarcastic": datasets.Value("bool")})
    rows = {"text": ["Great, if you like naps.", "Great film."], "label": [0, 1], "sarcastic": [True, False]}
    dd = datasets.DatasetDict({s: datasets.Dataset.from_dict(rows, features=feats) for s in ("train", "validation", "test")})
    dd.save_to_disk(str(tmp_path / "pub" / "hf_dataset"))
    splits = load_synthetic_splits(str(tmp_path / "pub"))
    assert splits["train"].labels == [0, 1] and splits["test"].meta[0]["sarcastic"] is True


def test_synthetic_from_a_run_folder_reads_what_publish_wrote(tmp_path: Path) -> None:
    """A run folder is read from RUN/dataset (never split again in memory); before publish, one line says so."""
    from sarcgen.jsonl import write_jsonl
    from sarcgen.publish.run import publish_run
    from sarcgen.recipe import PublishSettings
    from tests.factories import make_review

    recs = [make_review(i, f"Great film number {i}, if you like naps.", id=f"r{i}") for i in range(30)]
    run = tmp_path / "run"
    write_jsonl(run / "filtered.jsonl", recs)
    with pytest.raises(InputError, match=r"run/dataset: not published yet") as err:
        load_synthetic_splits(str(run))
    assert f"sarcgen publish {run}" in str(err.value.hint)
    publish_run(run, run / "dataset", PublishSettings(allow_missing_class=True))
    (run / "filtered.jsonl").write_text("")  # the records changed after publish: the published rows are what counts
    for src in (run, run / "dataset"):
        splits = load_synthetic_splits(str(src))
        assert sum(len(s) for s in splits.values()) == 30 and len(splits["train"]) >= 20
        assert splits["train"].meta[0]["sarcastic"] is True


def test_synthetic_empty_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_synthetic_splits(str(p))
    with pytest.raises(InputError, match="no such file"):
        load_synthetic_splits(str(tmp_path / "nope"))


def test_read_texts_plain_and_csv(tmp_path: Path) -> None:
    t = tmp_path / "t.txt"
    t.write_text("one\n\ntwo\n")
    assert read_texts(t) == ["one", "two"]
    c = tmp_path / "t.csv"
    c.write_text("text\nthree\n")
    assert read_texts(c) == ["three"]


def test_real_imdb_sample(imdb_dir: Path) -> None:
    s = load_base_data(str(imdb_dir), "unused", 200, 50, 50, seed=3)
    assert len(s.train) == 200 and sum(s.test.labels) == 25
