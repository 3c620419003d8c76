"""`sarcgen finetune-compare` and `sarcgen predict` through the real CLI, on a tiny BERT; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.devtools.tiny_bert import (
    write_tiny_bert,
    write_toy_imdb,
    write_toy_synthetic,
)
from tests.cli_helpers import run_cli as run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli-ft")
    return {"model": write_tiny_bert(d / "tiny"), "imdb": write_toy_imdb(d / "imdb", 80, 30),
            "syn": write_toy_synthetic(d / "syn.jsonl", 30), "dir": d}


def small(inputs: dict[str, Path], *extra: str) -> list[str]:
    return ["finetune-compare", "--synthetic", str(inputs["syn"]), "--base-model", str(inputs["model"]),
            "--base-data", str(inputs["imdb"]), "--n-train", "40", "--n-validation", "16", "--n-test", "16",
            "--epochs", "2", "--batch-size", "8", "--max-length", "48", "--lr", "2e-3", "--threads", "2", "-q", *extra]


def test_finetune_compare_then_predict(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, stdout, err = run(small(inputs, "--out", str(out)), capsys)
    assert code == 0, err
    assert "report:" in stdout and "imdb_test" in stdout and "challenge: sarcastic negatives" in stdout
    assert "B-A" in stdout and any(v in stdout for v in ("better", "worse", "no detectable change"))
    for f in ("report.md", "results.json", "loss_curves.png", "attributions.png"):
        assert (out / f).is_file(), f
    ckpt = out / "checkpoints" / "B-seed42-mix0.05"
    assert (ckpt / "model.safetensors").is_file() and (ckpt / "tokenizer.json").is_file()
    settings = json.loads((ckpt / "sarcgen_training.json").read_text())["settings"]
    assert settings["n_train"] == 40 and settings["max_length"] == 48  # flags reached the checkpoint

    code, stdout, err = run(["predict", "--model", str(ckpt), "Great movie, if you enjoy watching paint dry.", "Loved it."], capsys)
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].split()[0] in ("negative", "positive") and "P(neg)=" in lines[0]
    f = tmp_path / "texts.txt"
    f.write_text("one review\nanother review\n")
    code, stdout, _ = run(["predict", "-m", str(ckpt), "--file", str(f), "--json"], capsys)
    rows = [json.loads(x) for x in stdout.strip().splitlines()]
    assert code == 0 and [r["text"] for r in rows] == ["one review", "another review"]


def test_mix_choice_and_report_only(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mix"
    code, stdout, err = run(small(inputs, "--out", str(out), "--mix", "0.5,1", "--epochs", "1"), capsys)
    assert code == 0, err
    assert "chosen mix" in stdout and "run B at mix 0.5" in err and "run B at mix 1:" in err  # balance printed
    res = json.loads((out / "results.json").read_text())
    assert set(res["mixes"]) == {"0.5", "1"} and res["chosen_mix"] in res["mixes"]
    best = min(res["mixes"], key=lambda m: res["mixes"][m]["selection"]["selection"])
    assert res["chosen_mix"] == best
    assert (out / "checkpoints" / "B-seed42-mix0.5" / "model.safetensors").is_file()
    md = (out / "report.md").read_text()
    assert "## Mixes and how one was chosen" in md and "**chosen**" in md
    code, stdout, err = run(small(inputs, "--out", str(out), "--mix", "0.5,1", "--epochs", "1", "--report-only"), capsys)
    assert code == 0, err
    assert "reused 3 finished run(s)" in stdout and (out / "partial" / "report.md").is_file()
    code, _, err = run(small(inputs, "--out", str(tmp_path / "x"), "--mix", "0.5,abc"), capsys)
    assert code == 2 and "--mix '0.5,abc'" in err and "Traceback" not in err
    code, _, err = run(small(inputs, "--out", str(tmp_path / "x"), "--report-only"), capsys)
    assert code == 6 and "no seed has finished" in err


def test_default_out_dir_is_inside_a_run_folder(tmp_path: Path) -> None:
    from sarcgen.cli.finetune import default_out_dir

    run_dir = tmp_path / "outputs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "generated.jsonl").write_text("")
    assert default_out_dir("outputs", str(run_dir)) == run_dir / "finetune"
    assert default_out_dir("outputs", "user/dataset").parent == Path("outputs")


def test_bad_base_data_columns(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("review,sentiment\n" + "x,1\n" * 100)
    argv = small(inputs)
    argv[argv.index("--base-data") + 1] = str(bad)
    code, _, err = run(argv, capsys)
    assert code == 2 and "bad.csv: missing column(s) text, label" in err and "Traceback" not in err


def test_bad_labels(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("text,label\n" + "fine movie,1\n" * 50 + "odd,3\n")
    argv = small(inputs)
    argv[argv.index("--base-data") + 1] = str(bad)
    code, _, err = run(argv, capsys)
    assert code == 2 and "labels.csv: column 'label'" in err and "outside {0, 1}" in err


def test_bad_challenge_file(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ch.jsonl"
    bad.write_text('{"text": "x", "label": -1}\n')
    code, _, err = run(small(inputs, "--challenge", str(bad)), capsys)
    assert code == 2 and "ch.jsonl" in err and "outside {0, 1}" in err


def test_empty_synthetic(inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    argv = small(inputs)
    argv[argv.index("--synthetic") + 1] = str(empty)
    code, _, err = run(argv, capsys)
    assert code == 2 and "synthetic training split is empty" in err


def test_model_not_loadable_offline(inputs: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv = small(inputs, "--out", str(inputs["dir"] / "never"))
    argv[argv.index("--base-model") + 1] = "bert-base-uncased-not-cached"
    code, _, err = run(argv, capsys)
    assert code == 3 and "bert-base-uncased-not-cached" in err and "--base-model" in err


def test_predict_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["predict", "--model", str(tmp_path), "hello"], capsys)
    assert code == 3 and "not a model folder" in err
    code, _, err = run(["predict", "--model", str(tmp_path)], capsys)
    assert code == 2 and "nothing to classify" in err


def test_finetune_compare_uses_the_run_folders_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--synthetic RUN takes RUN/recipe.yaml's finetune section (as `sarcgen run` does); flags still win."""
    from types import SimpleNamespace

    import yaml

    import sarcgen.finetune.compare as compare
    from sarcgen.recipe import Recipe

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "filtered.jsonl").write_text("")
    recipe = Recipe().resolved()
    recipe["finetune"].update(epochs=3, n_train=77, seed=5)
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    seen: list = []

    def fake_compare(settings, synthetic, out_dir, **kw):  # type: ignore[no-untyped-def]
        seen.append((settings, synthetic, Path(out_dir)))
        mix = SimpleNamespace(selection=SimpleNamespace(selection=0.5), sets={}, groups={})  # what the summary reads
        return SimpleNamespace(mixes={"all": mix}, chosen_mix="all", reused_runs=[])

    monkeypatch.setattr(compare, "run_compare", fake_compare)
    code, _, err = run(["finetune-compare", "--synthetic", str(run_dir), "--seed", "9", "-q"], capsys)
    assert code == 0, err
    settings, synthetic, out = seen[0]
    assert (settings.epochs, settings.n_train, settings.seed) == (3, 77, 9) and out == run_dir / "finetune"
    given = tmp_path / "given.yaml"
    given.write_text("finetune: {epochs: 1}\n")
    code, _, err = run(["finetune-compare", "--synthetic", str(run_dir), "-r", str(given), "-q"], capsys)
    assert code == 0 and (seen[1][0].epochs, seen[1][0].n_train) == (1, 3200)


def _reviews(n: int) -> list:
    """n generated-style records, sarcastic negatives and sincere positives alternating (publish keeps both classes)."""
    from sarcgen.records import Provenance, Review

    prov = Provenance(model_file="m.gguf", model_sha256="0" * 64, backend="fake", backend_version="0",
                      template_name="review.j2", template_hash="h", recipe_hash="r", sampling={}, seed=1, sarcgen_version="0")
    return [Review(id=f"r{i}", plan_index=i, label=i % 2, sarcastic=i % 2 == 0, device="deadpan" if i % 2 == 0 else "sincere",
                   aspect="plot", genre="drama", length="short", cue="great", provenance=prov,
                   text=(f"Great film number {i}, if you like naps." if i % 2 == 0 else f"Great film number {i}, I loved every minute."))
            for i in range(n)]


def test_finetune_compare_on_a_run_folder_reads_its_published_dataset(inputs: dict[str, Path], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--synthetic RUN reads RUN/dataset (what publish wrote), refused in one line before publish; the
    manifest's finetune record and results.json carry the same fingerprint of it."""
    from sarcgen.jsonl import write_jsonl

    run_dir = tmp_path / "run"
    write_jsonl(run_dir / "filtered.jsonl", _reviews(40))
    argv = small(inputs)
    argv[argv.index("--synthetic") + 1] = str(run_dir)
    code, _, err = run(argv, capsys)
    assert code == 2 and "run/dataset: not published yet" in err and f"run `sarcgen publish {run_dir}` first" in err
    assert "Traceback" not in err
    code, _, err = run(["publish", str(run_dir)], capsys)
    assert code == 0, err
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    results = json.loads((run_dir / "finetune" / "results.json").read_text())
    sizes = json.loads((run_dir / "dataset" / "publish.json").read_text())["split_sizes"]
    assert results["sizes"]["synthetic_train"] == sizes["train"]  # the published split, not a fresh one
    stage = json.loads((run_dir / "manifest.json").read_text())["stages"]["finetune"]
    from sarcgen.runfolder import fingerprint

    assert stage["inputs"] == {"dataset": results["fingerprints"]["synthetic_sha256"]} == {"dataset": fingerprint(run_dir / "dataset")}
