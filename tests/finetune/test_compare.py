"""run_compare end to end on a tiny BERT: A and B, several seeds, every report file, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.challenge import CHALLENGE_SET
from sarcgen.devtools.tiny_bert import (
    write_tiny_bert,
    write_toy_imdb,
    write_toy_synthetic,
)
from sarcgen.finetune.analysis import aggregate, classification_metrics
from sarcgen.finetune.compare import REPORT_FILES, run_compare
from sarcgen.finetune.results import RunSummary, SeedRun, SetMetrics, read_results
from sarcgen.finetune.runs import SelectionLosses
from sarcgen.recipe import FinetuneSettings


def test_classification_metrics_groups_and_f1() -> None:
    m = classification_metrics([0, 0, 1, 1], [0.9, 0.2, 0.1, 0.6],
                               [{"kind": "sarcastic"}, {"kind": "sarcastic"}, {"kind": "sincere"}, {"sarcastic": False}],
                               keep_predictions=True)
    assert m.accuracy == 0.5 and m.model_extra == {"p_true": pytest.approx(0.6), "sarcastic_accuracy": 0.5, "sarcastic_n": 2,
                                                    "sincere_accuracy": 0.5, "sincere_n": 2}
    assert m.f1 == pytest.approx(0.5) and [p.pred for p in m.predictions or []] == [0, 1, 1, 0]
    assert "predictions" not in classification_metrics([0], [0.9]).model_dump()  # only where kept


def test_aggregate_mean_and_std() -> None:
    def run(acc: float) -> RunSummary:
        return RunSummary(key="k", run="A", seed=1, mix=None, fingerprint="f", checkpoint="c", best_epoch=1, best_val_loss=0.5,
                          history=[], train_seconds=1.0, train_examples_per_s=1.0, device="cpu", stopped_early=False,
                          n_train=1, n_synthetic=0, selection=SelectionLosses(imdb_validation=0.5, synthetic_validation=None,
                                                                              selection=0.5),
                          elapsed_s=1.0, metrics={"x": SetMetrics(n=4, accuracy=acc, f1=acc, f1_macro=acc, p_true=acc, sarcastic_n=2)})

    agg = aggregate([SeedRun(seed=s, A=run(v), B=run(v)) for s, v in ((1, 0.5), (2, 0.7))])
    assert agg["A"]["x.accuracy"].mean == pytest.approx(0.6) and agg["A"]["x.p_true"].mean == pytest.approx(0.6)
    assert agg["B"]["x.accuracy"].std == pytest.approx(0.1414, abs=1e-3) and "x.sarcastic_n" not in agg["A"]


def test_run_compare_two_seeds_writes_every_file(tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "tiny")
    base = write_toy_imdb(tmp_path / "imdb", 80, 30)
    syn = write_toy_synthetic(tmp_path / "syn.jsonl", 45)
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"text": "Oh great, another sequel.", "label": 0}\n{"text": "Great sequel.", "label": 1}\n')
    settings = FinetuneSettings(base_model=str(model), base_data=str(base), n_train=40, n_validation=16, n_test=16,
                                epochs=2, patience=1, batch_size=8, max_length=48, learning_rate=2e-3, seeds=2, seed=5)
    out = tmp_path / "out"
    res = run_compare(settings, str(syn), out, challenge_files=[str(extra)], progress=False, num_threads=2)

    for f in ("report.md", "results.json", "loss_curves.png", "attributions.png", "settings.json", "flips.csv"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    assert res.seeds == [5, 6]
    assert set(res.checkpoints) == {"A-seed5", "B-seed5-mix0.05", "A-seed6", "B-seed6-mix0.05"}
    for path in res.checkpoints.values():
        assert (Path(path) / "model.safetensors").is_file()
    run = res.runs[0]
    assert run.B.n_train > run.A.n_train == 40
    for r in (run.A, run.B):
        m = r.metrics
        assert {"imdb_test", "challenge", "challenge_seen", "challenge_unseen", "boundary", "extra", "synthetic_test"} <= set(m)
        assert {"accuracy", "f1", "p_true", "sarcastic_accuracy", "sincere_accuracy"} <= set(m["challenge"].model_dump())
        assert len(m["challenge"].predictions or []) == len(CHALLENGE_SET)
    from sarcgen.challenge import load_challenge_pairs

    assert len(res.challenge_table) == len(CHALLENGE_SET) + len(load_challenge_pairs()) + 2  # not the boundary pairs
    assert len(res.aggregate["A"]["imdb_test.accuracy"].values) == 2
    assert len((res.attributions or {})["A"]) == len(CHALLENGE_SET)
    assert read_results(out / "results.json") == res  # the file reads back as what was returned

    saved = json.loads((out / "results.json").read_text())
    assert saved["challenge_table"][0]["text"] == CHALLENGE_SET[0].text
    md = (out / "report.md").read_text()
    assert "Great movie, if you enjoy watching paint dry" in md and "95% bootstrap intervals" in md
    assert "loss_curves.png" in md and "attributions.png" in md and "B-seed6-mix0.05" in md
    assert "## Headline" in md and "2 seeds" in md and "McNemar" in md and "## Examples that flipped" in md
    assert "## The seed sentences" in md and "## Balance of the synthetic training data" in md
    assert "## Contrast pairs" in md and "## Other metrics: probability of the true class" in md
    st = saved["mixes"][saved["chosen_mix"]]["sets"]["imdb_test"]  # results.json keeps its field names
    assert st["seeds"] == 2 and st["n"] == 16 and st["a_low"] <= st["a"] <= st["a_high"]
    assert st["verdict"] in ("better", "worse", "no detectable change")
    assert set(saved["mixes"]["0.05"]) == {"selection", "sets", "groups", "pairs", "slices", "n_synthetic", "metrics"}
    assert saved["mixes"]["0.05"]["metrics"]["p_true"]["imdb_test"]["test"] == "exact sign test over examples"
    fp = saved["fingerprints"]
    assert len(fp["synthetic_sha256"]) == 64 and len(fp["imdb_train_ids_sha256"]) == 64 and fp["model"]["weights_sha256"]
    assert all((out / name).is_file() for name in REPORT_FILES)


def test_a_new_challenge_file_is_evaluated_without_retraining(tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "tiny")
    base = write_toy_imdb(tmp_path / "imdb", 60, 20)
    syn = write_toy_synthetic(tmp_path / "syn.jsonl", 30)
    settings = FinetuneSettings(base_model=str(model), base_data=str(base), n_train=30, n_validation=10, n_test=10,
                                epochs=1, batch_size=8, max_length=32, learning_rate=2e-3)
    out = tmp_path / "out"
    first = run_compare(settings, str(syn), out, progress=False, num_threads=1, attributions=False)
    assert first.reused_runs == []
    extra = tmp_path / "later.csv"
    extra.write_text("text,label,kind\nOh great another sequel,0,sarcastic\nA great sequel,1,sincere\n")
    again = run_compare(settings, str(syn), out, challenge_files=[str(extra)], progress=False, num_threads=1,
                        attributions=False)
    assert sorted(again.reused_runs) == ["A-seed42", "B-seed42-mix0.05"]
    assert again.runs[0].A.history == first.runs[0].A.history  # not retrained
    assert "later" in again.mixes["0.05"].sets and "later: sarcastic negatives" in again.mixes["0.05"].groups
