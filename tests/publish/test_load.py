"""sarcgen.publish.load.load_synthetic: every source finetune-compare accepts gives the same splits."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.recipe import PublishSettings
from tests.factories import make_reviews, make_run, write_jsonl


def _ids(dd) -> dict[str, list[str]]:
    return {split: list(ds["id"]) for split, ds in dd.items()}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from sarcgen.publish.run import publish_run

    root = tmp_path_factory.mktemp("syn")
    run = make_run(root)
    return run, publish_run(run, root / "out").out_dir


def test_run_folder_gives_the_published_splits(published: tuple[Path, Path]) -> None:
    import datasets

    from sarcgen.publish.load import load_synthetic

    run, out = published
    from_run = load_synthetic(str(run))
    assert _ids(from_run) == _ids(datasets.load_from_disk(str(out / "hf_dataset")))
    assert from_run["train"].features["label"].names == ["negative", "positive"]


@pytest.mark.parametrize("layout", ["hub", "save_to_disk_parent", "save_to_disk_dir"])
def test_published_folder_in_either_layout(published: tuple[Path, Path], tmp_path: Path, layout: str) -> None:
    from sarcgen.publish.load import load_synthetic

    run, out = published
    expected = _ids(load_synthetic(run))
    if layout == "hub":  # only README.md + data/*.parquet, as downloaded from the Hub
        src = tmp_path / "hub"
        shutil.copytree(out / "data", src / "data")
        shutil.copy(out / "README.md", src / "README.md")
    elif layout == "save_to_disk_parent":
        src = tmp_path / "disk"
        shutil.copytree(out / "hf_dataset", src / "hf_dataset")
    else:
        src = out / "hf_dataset"
    dd = load_synthetic(src)
    assert _ids(dd) == expected
    assert dd["train"].features == load_synthetic(run)["train"].features


def test_jsonl_file_and_settings(tmp_path: Path) -> None:
    from sarcgen.publish.load import load_synthetic

    path = tmp_path / "records.jsonl"
    write_jsonl(path, make_reviews(30))
    dd = load_synthetic(path, PublishSettings(train=0.5, validation=0.25, test=0.25))
    assert sum(len(ds) for ds in dd.values()) == 40 and len(dd["train"]) < 30


def test_generated_only_run_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from sarcgen.publish.load import load_synthetic

    with caplog.at_level("WARNING"):
        dd = load_synthetic(make_run(tmp_path, make_reviews(12), filtered=False, extras=False))
    assert sum(len(ds) for ds in dd.values()) == 16
    assert "UNFILTERED generated.jsonl" in caplog.text


def test_empty_sources_are_input_errors(tmp_path: Path) -> None:
    from sarcgen.publish.load import load_synthetic

    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="empty"):
        load_synthetic(tmp_path / "empty.jsonl")
    run = tmp_path / "run"
    run.mkdir()
    (run / "filtered.jsonl").write_text("\n")
    with pytest.raises(InputError, match="no records"):
        load_synthetic(run)
    with pytest.raises(InputError, match="no synthetic data found"):
        load_synthetic(tmp_path)  # a folder with nothing usable
    with pytest.raises(InputError, match="no such file or folder"):
        load_synthetic("./does/not/exist")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="not a synthetic data source"):
        load_synthetic(tmp_path / "notes.txt")


def test_hub_id_offline_names_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE on, or the endpoint unreachable: a fast InputError naming the id."""
    import datasets.config

    from sarcgen.publish.load import load_synthetic

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(InputError, match=r"'someone/sarcastic-reviews' from the Hub: .*not reachable \(offline\)"):
        load_synthetic("someone/sarcastic-reviews")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")  # nothing listens there
    start = time.monotonic()
    with pytest.raises(InputError, match="someone/other-reviews"):
        load_synthetic("someone/other-reviews")
    assert time.monotonic() - start < 10  # no 25 s of retries against a dead network
    assert datasets.config.HF_HUB_OFFLINE is False  # offline mode was only borrowed


def test_finetune_adapter_uses_it(published: tuple[Path, Path]) -> None:
    """finetune-compare's --synthetic goes through load_synthetic for a published folder; a run folder
    is read from its RUN/dataset only, so one never published (this one published elsewhere) is refused."""
    import sarcgen.finetune.synthetic_data as adapter  # sarcgen's own module: an import error must fail
    run, out = published
    splits = adapter.load_synthetic_splits(str(out))
    assert len(splits["train"]) > 0 and set(splits["train"].labels) == {0, 1}
    with pytest.raises(InputError, match="not published yet"):
        adapter.load_synthetic_splits(str(run))
