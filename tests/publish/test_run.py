"""sarcgen.publish.run: splits, schema, both on-disk layouts, the dataset card, IMDB compatibility.

`make_reviews` / `make_run` (tests/factories.py) build hand-made run folders.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sarcgen.errors import InputError, PublishError
from sarcgen.recipe import PublishSettings
from sarcgen.records import SINCERE, Review
from tests.factories import DEVICES, make_reviews, make_run

# ---------------------------------------------------------------------------------------------
# Splits


def _split_ids(parts: dict[str, list[Review]]) -> dict[str, list[str]]:
    return {s: [r.id for r in rs] for s, rs in parts.items()}


@pytest.mark.parametrize("pair_style", ["shared", "pointer"])
def test_split_keeps_twins_together_and_covers_every_device(pair_style: str) -> None:
    from sarcgen.publish.split import split_records

    reviews = make_reviews(80, pair_style=pair_style)
    parts = split_records(reviews, PublishSettings())
    assert sorted(r.id for rs in parts.values() for r in rs) == sorted(r.id for r in reviews)
    where = {r.id: s for s, rs in parts.items() for r in rs}
    twins = [r for r in reviews if r.device == SINCERE]
    assert twins and all(where[t.id] == where[t.id.replace("-t", "-s")] for t in twins)
    for split, rs in parts.items():
        assert {r.device for r in rs if r.sarcastic} == set(DEVICES), split
        assert {r.label for r in rs} == {0, 1}, split
    sizes = {s: len(rs) for s, rs in parts.items()}
    total = len(reviews)
    assert abs(sizes["train"] - 0.8 * total) <= 0.08 * total, sizes
    assert all(rs == sorted(rs, key=lambda r: r.plan_index) for rs in parts.values())


def test_split_is_seeded_and_order_independent() -> None:
    from sarcgen.publish.split import split_records

    reviews = make_reviews(64)
    a = _split_ids(split_records(reviews, PublishSettings(seed=1)))
    assert a == _split_ids(split_records(list(reversed(reviews)), PublishSettings(seed=1)))
    assert a != _split_ids(split_records(reviews, PublishSettings(seed=2)))


def test_split_fractions_checked_and_zero_split_dropped() -> None:
    from sarcgen.publish.schema import build_dataset
    from sarcgen.publish.split import split_records

    with pytest.raises(PublishError, match=r"publish.train \+ publish.validation \+ publish.test = 1.1"):
        split_records(make_reviews(8), PublishSettings(train=0.9, validation=0.1, test=0.1))
    dd = build_dataset(make_reviews(40), PublishSettings(train=0.75, validation=0.0, test=0.25))
    assert list(dd) == ["train", "test"]


def test_small_strata_still_split_without_loss() -> None:
    from sarcgen.publish.split import split_records

    reviews = make_reviews(3, twin_every=0)  # three devices, one review each
    parts = split_records(reviews, PublishSettings())
    assert sum(len(rs) for rs in parts.values()) == 3


# ---------------------------------------------------------------------------------------------
# Schema and bad input


def test_features_are_explicit_and_imdb_compatible() -> None:
    from datasets import ClassLabel, Value

    from sarcgen.publish.schema import PROVENANCE_COLUMNS, build_dataset

    dd = build_dataset(make_reviews(16), PublishSettings())
    feats = dd["train"].features
    assert feats["label"] == ClassLabel(names=["negative", "positive"])
    assert feats["text"] == Value("string") and feats["sarcastic"] == Value("bool")
    assert feats["plan_index"] == Value("int64") and feats["seed"] == Value("int64")
    assert list(feats)[:11] == ["text", "label", "sarcastic", "device", "aspect", "genre", "length", "cue",
                                "pair_id", "id", "plan_index"]
    assert set(PROVENANCE_COLUMNS) <= set(feats)
    row = next(r for r in dd["train"] if r["pair_id"] is None)
    assert json.loads(row["sampling"])["temperature"] == 0.9 and row["model_sha256"] == "ab" * 32


def test_bad_inputs_are_clear(tmp_path: Path) -> None:
    from sarcgen.publish.inputs import read_run_inputs as read_run
    from sarcgen.publish.schema import build_dataset

    with pytest.raises(InputError, match="no such run folder"):
        read_run(tmp_path / "missing")
    run = tmp_path / "r"
    run.mkdir()
    with pytest.raises(InputError, match="neither filtered.jsonl nor generated.jsonl"):
        read_run(run)
    (run / "filtered.jsonl").write_text("")
    with pytest.raises(InputError, match="no records"):
        read_run(run)
    good = make_reviews(2)[0].model_dump_json()
    (run / "filtered.jsonl").write_text(good + "\n{not json\n")
    with pytest.raises(InputError, match=r"filtered.jsonl:2: malformed JSON"):
        read_run(run)
    (run / "filtered.jsonl").write_text(good + "\n" + json.dumps({**json.loads(good), "label": 5}) + "\n")
    with pytest.raises(InputError, match=r"filtered.jsonl:2: not a sarcgen review record: label"):
        read_run(run)
    dup = make_reviews(2)
    with pytest.raises(PublishError, match="duplicate record id"):
        build_dataset(dup + dup[:1], PublishSettings())
    with pytest.raises(PublishError, match="no records"):
        build_dataset([], PublishSettings())


# ---------------------------------------------------------------------------------------------
# On disk, loading back, the card


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    from sarcgen.publish.run import publish_run

    root = tmp_path_factory.mktemp("pub")
    result = publish_run(make_run(root), root / "out")
    return root, result


def test_publish_writes_both_layouts_and_loads_back_exactly(published: tuple[Path, object]) -> None:
    import datasets

    from sarcgen.publish.inputs import read_run_inputs as read_run
    from sarcgen.publish.schema import build_dataset

    root, result = published
    out = result.out_dir
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == [
        "data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet"]
    assert (out / "README.md").is_file() and (out / "hf_dataset" / "dataset_dict.json").is_file()
    expected = build_dataset(read_run(root / "run").records, PublishSettings(seed=7))  # recipe.yaml's seed
    hub = datasets.load_dataset(str(out))
    disk = datasets.load_from_disk(str(out / "hf_dataset"))
    for loaded in (hub, disk):
        assert list(loaded) == ["train", "validation", "test"]
        for split in expected:
            assert loaded[split].features == expected[split].features
            assert loaded[split].to_list() == expected[split].to_list()
    assert result.split_sizes == {s: len(ds) for s, ds in expected.items()}
    report = json.loads((out / "publish.json").read_text())
    assert report["settings"]["seed"] == 7 and report["split_sizes"] == result.split_sizes


def test_card_metadata_is_valid_hub_yaml(published: tuple[Path, object]) -> None:
    from huggingface_hub import DatasetCard

    _, result = published
    card = DatasetCard.load(result.out_dir / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "apache-2.0" and meta["language"] == ["en"]
    assert meta["task_categories"] == ["text-classification"] and meta["task_ids"] == ["sentiment-classification"]
    assert meta["size_categories"] == ["n<1K"] and meta["pretty_name"]
    assert meta["configs"] == [{"config_name": "default", "data_files": [
        {"split": s, "path": f"data/{s}-*"} for s in ("train", "validation", "test")]}]
    info = meta["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == result.split_sizes
    label = next(f for f in info["features"] if f["name"] == "label")
    assert label["dtype"] == {"class_label": {"names": {"0": "negative", "1": "positive"}}}
    assert info["download_size"] == sum(p.stat().st_size for p in (result.out_dir / "data").glob("*.parquet"))


def test_card_body_says_how_it_was_made(published: tuple[Path, object]) -> None:
    _, result = published
    body = (result.out_dir / "README.md").read_text()
    for needle in ["Qwen3-4B-Instruct-2507-Q4_K_M.gguf", "ab" * 32, "Q4_K_M", "llamacpp 0.3.36",
                   "`review.j2` (hash `t0h4sh`)", "r3c1peh4sh", "accepted 64, rejected 9", "fixture-recipe", "near_duplicate | 4",
                   "Agreement over the reviews it judged: 0.91", "only reviews whose label it confirmed were kept", f"| train | {result.split_sizes['train']} |", "| sincere | positive |", "Synthetic text",
                   "One model's notion of sarcasm", "English only", "concatenate_datasets",
                   "imdb.cast(synthetic.features)", "ClassLabel: 0 = negative, 1 = positive"]:
        assert needle in body, needle
    assert "unfiltered" not in body.lower()


def test_generated_fallback_is_loud_and_bare_run_card(tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_run

    run = make_run(tmp_path, make_reviews(20), filtered=False, extras=False)
    result = publish_run(run)
    assert result.out_dir == run / "dataset" and result.source.name == "generated.jsonl"
    assert any("UNFILTERED" in w for w in result.warnings)
    body = (result.out_dir / "README.md").read_text()
    assert "Warning: unfiltered data" in body and "not validated, deduplicated" in body.replace("NOT", "not")
    assert "No LLM judge was run" in body


def test_republish_removes_stale_splits(tmp_path: Path) -> None:
    import datasets

    from sarcgen.publish.run import publish_run

    run = make_run(tmp_path)
    publish_run(run, tmp_path / "out")
    result = publish_run(run, tmp_path / "out", PublishSettings(train=0.8, validation=0.0, test=0.2))
    assert not (tmp_path / "out" / "data" / "validation-00000-of-00001.parquet").exists()
    assert list(datasets.load_dataset(str(result.out_dir))) == ["train", "test"]
    assert list(datasets.load_from_disk(str(result.out_dir / "hf_dataset"))) == ["train", "test"]


def test_concatenates_with_imdb(published: tuple[Path, object], imdb_dir: Path) -> None:
    """Real IMDB rows, shaped as the Hub's stanfordnlp/imdb (string text, ClassLabel neg/pos) and as
    read from the local CSV (large_string text, int label): one cast each, then concatenate."""
    import datasets

    _, result = published
    synthetic = datasets.load_dataset(str(result.out_dir))["train"].select_columns(["text", "label"])
    with gzip.open(imdb_dir / "test.csv.gz", "rt", encoding="utf-8") as fh:
        import pandas as pd

        frame = pd.read_csv(fh, nrows=50)
    hub_like = datasets.Dataset.from_dict(
        {"text": frame["text"].tolist(), "label": frame["label"].tolist()},
        features=datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}),
    )
    hub_like = hub_like.cast_column("label", datasets.ClassLabel(names=["negative", "positive"]))
    both = datasets.concatenate_datasets([hub_like, synthetic])
    assert len(both) == 50 + len(synthetic) and both.features["label"].names == ["negative", "positive"]
    assert both["label"][:50] == frame["label"].tolist()
    assert Counter(both["label"][50:]) == Counter(synthetic["label"])

    csv = datasets.load_dataset("csv", data_files=str(imdb_dir / "test.csv.gz"), split="train", nrows=50)
    csv = csv.select_columns(["text", "label"]).cast(synthetic.features)  # the card's recipe
    assert len(datasets.concatenate_datasets([csv, synthetic])) == 50 + len(synthetic)


def test_tiny_run_leaves_out_empty_splits(tmp_path: Path) -> None:
    import datasets

    from sarcgen.publish.run import publish_run

    result = publish_run(make_run(tmp_path, make_reviews(1, twin_every=0)), settings=PublishSettings(allow_missing_class=True))
    assert result.split_sizes == {"train": 1}
    assert any("holds no sincere positives" in w and "allow_missing_class" in w for w in result.warnings)
    assert any("validation split would be empty" in w for w in result.warnings)
    assert datasets.load_dataset(str(result.out_dir))["train"]["id"] == ["000000-s"]
    assert "> Note: the test split would be empty" in (result.out_dir / "README.md").read_text()


def test_skewed_split_is_reported() -> None:
    from sarcgen.publish.schema import build_dataset
    from sarcgen.publish.split import split_warnings

    reviews = make_reviews(24, twin_every=0)  # three per technique: coverage beats the 80/10/10 shares
    dd = build_dataset(reviews, PublishSettings())
    assert all(set(ds["device"]) == set(DEVICES) for ds in dd.values())
    notes = split_warnings(dd, PublishSettings(), len(reviews))
    assert any("the train split holds" in n for n in notes)
    big = make_reviews(400, twin_every=0)
    assert split_warnings(build_dataset(big, PublishSettings()), PublishSettings(), 400) == []


def test_a_missing_class_is_refused_unless_allowed(tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_run

    only_sarcastic = make_run(tmp_path / "a", make_reviews(12, twin_every=0))
    with pytest.raises(PublishError, match="holds no sincere positives.*--allow-missing-class"):
        publish_run(only_sarcastic)
    assert not (only_sarcastic / "dataset").exists()
    only_sincere = make_run(tmp_path / "b", [r for r in make_reviews(12, twin_every=1) if not r.sarcastic])
    with pytest.raises(PublishError, match="holds no sarcastic negatives"):
        publish_run(only_sincere)
    res = publish_run(only_sarcastic, settings=PublishSettings(allow_missing_class=True))
    assert sum(res.split_sizes.values()) == 12
    # A run that planned no twins (twin_ratio 0) expects none.
    recipe = yaml.safe_load((only_sarcastic / "recipe.yaml").read_text())
    recipe["generate"]["twin_ratio"] = 0.0
    (only_sarcastic / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert sum(publish_run(only_sarcastic).split_sizes.values()) == 12


def test_a_class_that_nearly_vanished_in_the_filter_is_refused_as_documented(tmp_path: Path) -> None:
    """README: publish refuses a class of which fewer than filter.vanished_class_share (0.1) survived."""
    from sarcgen.publish.run import publish_run

    reviews = make_reviews(48, twin_every=1)  # 48 sarcastic negatives, 48 sincere positives
    kept = [r for r in reviews if r.sarcastic][:4] + [r for r in reviews if not r.sarcastic]
    run = make_run(tmp_path, kept)
    report = json.loads((run / "filter_report.json").read_text())
    report["classes"] = {"read": {"sarcastic negatives": 48, "sincere positives": 48},
                         "kept": {"sarcastic negatives": 4, "sincere positives": 48}}
    (run / "filter_report.json").write_text(json.dumps(report))
    with pytest.raises(PublishError, match=r"holds 4 of the 48 sarcastic negatives read .*vanished_class_share 0.1"):
        publish_run(run)
    res = publish_run(run, settings=PublishSettings(allow_missing_class=True))
    assert any("4 of the 48 sarcastic negatives read" in w for w in res.warnings)


def test_labels_no_calibrated_judge_confirmed_are_published_with_a_loud_warning(tmp_path: Path) -> None:
    from sarcgen.publish.run import publish_run

    run = make_run(tmp_path)
    verified = publish_run(run)  # the fixture's judge passed its calibration and enforced
    assert not any("LABELS NOT VERIFIED" in w for w in verified.warnings)
    report = json.loads((run / "filter_report.json").read_text())
    report["judge"]["mode"] = "advisory"
    report["judge"]["calibration"]["passed"] = False
    (run / "filter_report.json").write_text(json.dumps(report))
    res = publish_run(run, tmp_path / "out2")
    assert any(w.startswith("LABELS NOT VERIFIED: the judge judge.gguf (sentiment gate) failed its calibration") for w in res.warnings)
    card = (res.out_dir / "README.md").read_text()
    assert "**The labels are not verified.**" in card and "after failing its calibration" in card
    del report["judge"]
    (run / "filter_report.json").write_text(json.dumps(report))
    res = publish_run(run, tmp_path / "out3")
    assert any(w.startswith("LABELS NOT VERIFIED: no signal but the request") for w in res.warnings)
    assert "No LLM judge was run" in (res.out_dir / "README.md").read_text()
