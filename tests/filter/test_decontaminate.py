"""Decontamination against the challenge set, --against files and the real IMDB test split."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.filter.decontaminate import EvalSet, challenge_set, decontaminate, load_eval_sets, resolve_imdb_test
from sarcgen.tables import read_texts

CLEAN = [
    "The soundtrack was a triumph, assuming the goal was to make every scene sound like a dentist's drill.",
    "A wonderful family film that made my kids laugh and my parents cry, in the best possible way.",
]


def test_seed_challenge_sentences_are_caught_inside_longer_reviews() -> None:
    texts = [
        *CLEAN,
        "Great movie, if you enjoy watching paint dry for two hours. The popcorn was nice though.",
        "Honestly? The visual effects were stunning, but the plot made zero sense from the first minute.",
        "I wish I knew what beautiful movie I just watched.",
        "Honestly, I wish I knew what beautiful film I just watched!",  # light edit
    ]
    hits = decontaminate(texts, [challenge_set()], 85)
    assert set(hits) == {2, 3, 4, 5}
    assert hits[2].source == "challenge" and hits[2].eval_index == 0 and hits[2].method == "partial"
    assert hits[2].matched_text == "Great movie, if you enjoy watching paint dry for two hours."
    assert hits[4].score == 100.0
    assert "challenge#0" in hits[2].detail() and "paint dry" in hits[2].detail()


def test_threshold_is_respected() -> None:
    texts = ["I wish I knew what beautiful film I just watched."]
    assert decontaminate(texts, [challenge_set()], 85)
    assert not decontaminate(texts, [challenge_set()], 99)


def test_against_files_in_every_format(tmp_path: Path) -> None:
    target = "The cinematography was gorgeous but the story limped along like a three-legged horse for hours."
    (tmp_path / "a.txt").write_text(f"unrelated line one\n{target}\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": target, "label": 0}) + "\n")
    (tmp_path / "c.csv").write_text(f'text,label\n"{target}",0\n')
    with gzip.open(tmp_path / "d.csv.gz", "wt") as fh:
        fh.write(f'text,label\n"{target}",0\n')
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [target], "label": [0]}), tmp_path / "e.parquet")
    for name in ("a.txt", "b.jsonl", "c.csv", "d.csv.gz", "e.parquet"):
        sets = load_eval_sets([tmp_path / name])
        assert [s.name for s in sets] == ["challenge", name]
        hits = decontaminate([CLEAN[0], target.replace("hours", "ages")], sets, 85)
        assert list(hits) == [1] and hits[1].source == name, name


def test_bad_evaluation_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.txt: no such file"):
        read_texts(tmp_path / "missing.txt")
    (tmp_path / "x.csv").write_text("review,label\nhi,0\n")
    with pytest.raises(InputError, match=r"x.csv: missing column\(s\) text"):
        read_texts(tmp_path / "x.csv")
    (tmp_path / "x.jsonl").write_text('{"text": "ok"}\n{oops\n')
    with pytest.raises(InputError, match="x.jsonl:2"):
        read_texts(tmp_path / "x.jsonl")
    with pytest.raises(InputError, match="test.csv.gz"):
        resolve_imdb_test(tmp_path)


def test_long_reference_and_copied_excerpt() -> None:
    long_ref = ("I rented this on a whim and regretted it within ten minutes. " * 3) + (
        "The lead actor delivers every line as if reading a grocery list in a wind tunnel, and the plot "
        "twists are visible from orbit. By the end I was rooting for the villain to win so it would stop."
    )
    excerpt = "The lead actor delivers every line as if reading a grocery list in a wind tunnel, and the plot twists are visible from orbit."
    hits = decontaminate([excerpt, CLEAN[1]], [EvalSet("imdb_test", [long_ref, "something else"])], 85)
    assert list(hits) == [0] and hits[0].method == "partial"


def test_real_imdb_test_split(imdb_dir: Path) -> None:
    texts = read_texts(resolve_imdb_test(imdb_dir))
    assert len(texts) == 25000
    copied = texts[123]
    items = [*CLEAN * 100, copied, "Great movie, if you enjoy watching paint dry for two hours, honestly."]
    hits = decontaminate(items, [challenge_set(), EvalSet("imdb_test", texts)], 85)
    assert {i: h.source for i, h in hits.items()} == {200: "imdb_test", 201: "challenge"}
    assert hits[200].eval_index == 123 and hits[200].score == 100.0
