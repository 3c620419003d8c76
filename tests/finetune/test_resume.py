"""A multi-run comparison killed mid-way resumes without redoing its finished runs.

Six runs (A and B at two mixes, two seeds) on a tiny BERT through the real CLI in a subprocess;
SIGKILL (or Ctrl-C) once three completion records exist; a rerun reuses those three byte for byte
and trains only the rest. Also: a finished run is never silently replaced by one with other inputs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sarcgen.devtools.tiny_bert import write_tiny_bert, write_toy_imdb, write_toy_synthetic
from sarcgen.errors import InputError
from sarcgen.finetune.runs import RUNS_DIR, EvalScores, RunRecord, RunSpec, SelectionLosses, load_record, save_record

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("resume")
    return {"model": write_tiny_bert(d / "tiny"), "imdb": write_toy_imdb(d / "imdb", 60, 20),
            "syn": write_toy_synthetic(d / "syn.jsonl", 45)}


def _start(inputs: dict[str, Path], out: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "sarcgen.cli", "finetune-compare", "--synthetic", str(inputs["syn"]),
            "--base-model", str(inputs["model"]), "--base-data", str(inputs["imdb"]), "--n-train", "30",
            "--n-validation", "10", "--n-test", "10", "--epochs", "1", "--batch-size", "8", "--max-length", "32",
            "--lr", "2e-3", "--seeds", "2", "--mix", "0.5,1", "--threads", "1", "--out", str(out), "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _finished(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / RUNS_DIR).glob("*.json"))} if (out / RUNS_DIR).is_dir() else {}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_comparison_resumes_without_redoing_finished_runs(inputs: dict[str, Path], tmp_path: Path, sig: int) -> None:
    out = tmp_path / "cmp"
    proc = _start(inputs, out)
    end = time.monotonic() + 240
    while len(_finished(out)) < 3:
        assert proc.poll() is None, f"finished before it could be stopped: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < end, "no progress"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Interrupted" in err and "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    before = _finished(out)
    assert 3 <= len(before) < 6 and not (out / "results.json").exists()

    proc = _start(inputs, out)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    after = _finished(out)
    assert len(after) == 6
    for name, blob in before.items():
        assert after[name] == blob, f"{name} was redone"  # reused byte for byte, not retrained
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["reused_runs"]) == sorted(n.removesuffix(".json") for n in before)
    assert f"reused {len(before)} finished run(s)" in stdout
    assert results["chosen_mix"] in ("0.5", "1") and len(results["seeds"]) == 2


def test_a_run_with_other_inputs_is_refused_not_overwritten(tmp_path: Path) -> None:
    spec = RunSpec("B", 42, 0.1)
    rec = RunRecord(key=spec.key, run="B", seed=42, mix=0.1, fingerprint="aaa", checkpoint="c", best_epoch=1,
                    best_val_loss=0.5, history=[{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5}], train_seconds=1.0,
                    train_examples_per_s=2.0, device="cpu", stopped_early=False, n_train=10, n_synthetic=1,
                    selection=SelectionLosses(imdb_validation=0.5, synthetic_validation=None, selection=0.5),
                    elapsed_s=1.0, eval={"imdb_test": EvalScores(sha256="x", p_negative=[0.2, 0.9])})
    save_record(tmp_path, spec, rec)
    assert load_record(tmp_path, spec, "aaa") == rec
    assert load_record(tmp_path, RunSpec("A", 42), "aaa") is None  # not finished yet
    with pytest.raises(InputError, match=r"B-seed42-mix0.1 was trained with other inputs"):
        load_record(tmp_path, spec, "bbb")
    (tmp_path / RUNS_DIR / f"{spec.key}.json").write_text('{"key": "B-seed42-mix0.1", "fingerprint": "aaa"}')
    with pytest.raises(InputError, match=r"B-seed42-mix0.1.json: not a run record of this sarcgen \(run: Field required\)"):
        load_record(tmp_path, spec, "aaa")
