"""freeze_encoder: only the pooler and classifier train, on features cached once per comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sarcgen.devtools.tiny_bert import write_tiny_bert, write_toy_imdb, write_toy_synthetic
from sarcgen.finetune.compare import run_compare
from sarcgen.recipe import FinetuneSettings


def _weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path / "model.safetensors"))


def test_frozen_encoder_trains_the_head_only_and_caches_features(tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "tiny")
    base = write_toy_imdb(tmp_path / "imdb", 80, 30)
    syn = write_toy_synthetic(tmp_path / "syn.jsonl", 45)
    settings = FinetuneSettings(base_model=str(model), base_data=str(base), n_train=40, n_validation=16, n_test=16,
                                epochs=5, patience=1, batch_size=8, max_length=48, learning_rate=5e-3, seeds=2,
                                mix=[0.5, 1.0], freeze_encoder=True)
    out = tmp_path / "out"
    res = run_compare(settings, str(syn), out, progress=False, num_threads=1, attributions=False)
    assert len(res.checkpoints) == 6 and res.chosen_mix in ("0.5", "1")
    before = _weights(model)
    after = _weights(Path(res.checkpoints["B-seed42-mix0.5"]))
    encoder = [k for k in before if "encoder" in k or "embeddings" in k]
    assert encoder and all(np.array_equal(before[k], after[k]) for k in encoder)  # frozen
    assert not np.array_equal(before["classifier.weight"], after["classifier.weight"])  # trained
    caches = list((out / "features").glob("features-*.npz"))
    assert len(caches) == 1
    with np.load(caches[0]) as z:
        keys = set(z["keys"].tolist())
    assert len(keys) >= 40 + 16 + 16  # IMDB train/validation/test, challenge and synthetic texts, each once
    assert res.runs[0].A.device.startswith("cpu (frozen encoder")


def test_a_mean_pooling_encoder_is_pooled_as_it_was_trained_everywhere(tmp_path: Path) -> None:
    """A sentence-transformers folder (1_Pooling says mean) -> features are masked means, and the saved
    checkpoint says so, so `sarcgen predict` gives exactly the logits the comparison evaluated."""
    import json

    import torch

    from sarcgen.finetune.data import TextSet
    from sarcgen.finetune.frozen import FeatureCache, frozen_logits, train_head
    from sarcgen.finetune.model import encoder_pooling, load_model, mean_pool
    from sarcgen.finetune.train import load_checkpoint, predict_logits

    model = write_tiny_bert(tmp_path / "tiny")
    assert encoder_pooling(str(model)) == "cls"
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert encoder_pooling(str(model)) == "mean"
    texts = ["a fine film with a fine cast", "dull and long", "great fun", "boring plot", "loved the ending", "awful"]
    train = TextSet("t", texts, [1, 0, 1, 0, 1, 0], [{}] * 6)
    settings = FinetuneSettings(base_model=str(model), epochs=2, batch_size=2, max_length=16, learning_rate=5e-3)
    cache = FeatureCache(tmp_path / "features", str(model), 16)
    res = train_head(str(model), train, train, settings, tmp_path / "ckpt", seed=1, cache=cache)
    tok, base = load_model(str(model))
    enc = tok(texts[:2], padding=True, return_tensors="pt")
    with torch.inference_mode():
        want = mean_pool(base.base_model(**enc).last_hidden_state, enc["attention_mask"]).numpy()
    assert np.allclose(cache.features(base, tok, texts[:2]), want, atol=1e-5)  # masked means, not the first token
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["sarcgen_pooling"] == "mean"
    tok2, saved, max_length = load_checkpoint(tmp_path / "ckpt", 1)
    evaluated = frozen_logits(res.model, res.tokenizer, cache)(train)
    assert np.allclose(predict_logits(saved, tok2, texts, max_length), evaluated, atol=1e-4)
