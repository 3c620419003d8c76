"""One split for the synthetic reviews: publish and finetune-compare put the same review in the same split."""

from __future__ import annotations

import json
from pathlib import Path

from sarcgen.recipe import PublishSettings
from tests.factories import make_reviews, write_jsonl


def _texts(dd) -> dict[str, list[str]]:
    return {split: list(ds["text"]) for split, ds in dd.items()}


def test_the_same_jsonl_splits_the_same_via_publish_and_finetune_compare(tmp_path: Path) -> None:
    from sarcgen.finetune.data import clean_text
    from sarcgen.finetune.synthetic_data import load_synthetic_splits
    from sarcgen.publish.run import publish_run

    reviews = make_reviews(60)
    jsonl = tmp_path / "reviews.jsonl"
    write_jsonl(jsonl, reviews)
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "filtered.jsonl", reviews)
    publish_run(run, run / "dataset", PublishSettings())

    import datasets

    published = _texts(datasets.load_from_disk(str(run / "dataset" / "hf_dataset")))
    for source in (jsonl, run, run / "dataset"):  # a bare JSONL (split in memory), the run folder, its published folder
        splits = load_synthetic_splits(str(source))
        assert {s: ts.texts for s, ts in splits.items() if len(ts)} == {
            s: [clean_text(t) for t in texts] for s, texts in published.items()}, source


def test_hand_made_rows_use_the_same_split(tmp_path: Path) -> None:
    """Rows with only text/label/pair_id are split by the same function (twins together, seeded)."""
    from sarcgen.finetune.synthetic_data import load_synthetic_splits, read_records
    from sarcgen.publish.split import split_records

    rows = [{"text": f"review {i}", "label": i % 2, "pair_id": f"p{i // 2}", "sarcastic": i % 2 == 0} for i in range(40)]
    rows.append({"text": "kept in test by hand", "label": 1, "split": "test"})
    path = tmp_path / "hand.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    splits = load_synthetic_splits(str(path))
    expected = split_records([r for r in read_records(path) if r.split is None], PublishSettings())
    assert splits["train"].texts == [r.text for r in expected["train"]]
    assert "kept in test by hand" in splits["test"].texts
    for ts in splits.values():  # contrast twins never straddle two splits
        pairs = {t.split()[1] for t in ts.texts if t.startswith("review")}
        assert all(str(int(p) ^ 1) in pairs for p in pairs)
