"""`sarcgen loop`: generate where the classifier fails (fake writer, tiny BERT, toy IMDB; frozen and full)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS
from sarcgen.backends.fake import FakeBackend
from sarcgen.finetune.data import TextSet
from sarcgen.loop import error_cells, focus
from sarcgen.recipe import load_recipe
from tests.cli_helpers import run_cli
from tests.study_helpers import varied_reply, write_study


@pytest.fixture()
def varied_fake(monkeypatch: pytest.MonkeyPatch) -> list:
    prompts: list = []

    def make(recipe, spec=None):
        def reply(req):
            prompts.append(req.messages[-1]["content"])
            return varied_reply(req)
        return FakeBackend(reply)

    monkeypatch.setitem(BACKENDS, "fake", make)
    return prompts


def test_error_cells_and_focus() -> None:
    rec = load_recipe(None)
    dev = TextSet("dev", ["Great acting, if you like wood.", "The plot was a wonderful nap.", "Loved the acting.",
                          "A fine plot."], [0, 0, 1, 1],
                  [{"device": "deadpan"}, {"device": "deadpan"}, {}, {}])
    cells = error_cells(dev, [True, True, False, True], rec.generate.attributes)
    assert cells["device"] == Counter({"deadpan": 2}) and cells["aspect"] == Counter({"acting": 1, "plot": 2})
    assert cells["class"] == Counter({"sarcastic": 2, "sincere": 1}) and cells["length"] == Counter({"short": 3})
    r = focus(rec, cells, 2)
    a = r.generate.attributes
    assert a.devices == ["deadpan"] and set(a.aspects) == {"acting", "plot"} and [b.name for b in a.lengths] == ["short"]
    assert r.generate.seed == rec.generate.seed + 2 and r.generate.twin_ratio == rec.generate.twin_ratio
    none = focus(rec, error_cells(dev, [False] * 4, rec.generate.attributes), 1)
    assert none.generate.attributes.devices == rec.generate.attributes.devices  # nothing to narrow on


def _study(tmp_path: Path, frozen: bool) -> tuple[Path, Path]:
    recipe = write_study(tmp_path, "{n: 8, backend: fake, seed: 7, attributes: {devices: [deadpan, understatement, mock gratitude]}}",
                         finetune=f", freeze_encoder: {str(frozen).lower()}")
    dev = tmp_path / "dev.jsonl"
    rows = [{"text": f"What a great plot, if you enjoy naps number {i}.", "label": 0, "device": "deadpan"} for i in range(6)]
    rows += [{"text": f"The acting was great and I loved it, take {i}.", "label": 1} for i in range(6)]
    dev.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return recipe, dev


@pytest.mark.parametrize("frozen", [True, False])
def test_loop_runs_rounds_records_them_and_resumes(varied_fake: list, tmp_path: Path, capsys, frozen: bool) -> None:
    recipe, dev = _study(tmp_path, frozen)
    out = tmp_path / "loop"
    code, stdout, err = run_cli(["loop", str(recipe), "--dev", str(dev), "--rounds", "2", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    state = json.loads((out / "loop.json").read_text())
    rounds = state["rounds"]
    assert rounds[0]["round"] == 0 and "cells" not in rounds[0] and rounds[0]["synthetic_rows"] == 0
    assert len(rounds) >= 2 and rounds[1]["kept"] >= 1 and rounds[1]["focus"]["lengths"]
    assert state["stopped"] and 0 <= state["best_round"] < len(rounds)
    assert (out / "round-01" / "generated.jsonl").is_file() and (out / "round-01" / "filter_report.json").is_file()
    assert "[loop] round 1: generating where round 0 erred" in stdout and "[loop] stopped" in stdout
    # the round's prompts asked only for the cells of the errors
    focus_devices = set(rounds[1]["focus"]["devices"])
    asked = [p for p in varied_fake if "sarcastic" in p.split("review")[0]]
    assert asked and all(any(d in p for d in focus_devices) for p in asked)
    # a rerun finds every round done and trains nothing again
    n_prompts = len(varied_fake)
    code, stdout, err = run_cli(["loop", str(recipe), "--dev", str(dev), "--rounds", "2", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    assert json.loads((out / "loop.json").read_text())["rounds"] == rounds and len(varied_fake) == n_prompts


def test_loop_resumes_after_a_crash_between_rounds(varied_fake: list, tmp_path: Path, capsys, monkeypatch) -> None:
    import sarcgen.loop as loop_mod

    recipe, dev = _study(tmp_path, True)
    out = tmp_path / "loop"
    real = loop_mod._round
    calls: list[int] = []

    def crash_in_round_1(recipe, data, out, r, *a, **k):
        calls.append(r)
        if r == 1 and calls.count(1) == 1:
            raise KeyboardInterrupt
        return real(recipe, data, out, r, *a, **k)

    monkeypatch.setattr(loop_mod, "_round", crash_in_round_1)
    code, _, _ = run_cli(["loop", str(recipe), "--dev", str(dev), "--rounds", "1", "--out", str(out), "-q"], capsys)
    assert code == 130
    saved = json.loads((out / "loop.json").read_text())
    assert [r["round"] for r in saved["rounds"]] == [0]  # round 0 was saved before the crash
    code, _, err = run_cli(["loop", str(recipe), "--dev", str(dev), "--rounds", "1", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    done = json.loads((out / "loop.json").read_text())
    assert done["rounds"][0] == saved["rounds"][0] and [r["round"] for r in done["rounds"]] == [0, 1]
    assert calls == [0, 1, 1]  # round 0 was not trained again


def test_loop_bad_dev_is_one_line(tmp_path: Path, capsys) -> None:
    recipe, dev = _study(tmp_path, True)
    code, _, err = run_cli(["loop", str(recipe), "--dev", str(tmp_path / "none.csv"), "--out", str(tmp_path / "l")], capsys)
    assert code == 2 and "none.csv" in err
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "loop.json").write_text(json.dumps({"dev": "other.csv", "rounds": []}))
    code, _, err = run_cli(["loop", str(recipe), "--dev", str(dev), "--out", str(tmp_path / "l")], capsys)
    assert code == 2 and "other.csv" in err


@pytest.mark.llama
def test_loop_on_the_tiny_gguf(tmp_path: Path, tiny_gguf: Path, llama_cpp, capsys) -> None:
    """The loop through the real llama-cpp-python: random weights write gibberish, so the gates keep
    little or nothing; the rounds are still generated, filtered, trained, recorded and resumable."""
    recipe, dev = _study(tmp_path, True)
    text = recipe.read_text().replace("backend: fake, ", "max_retries: 0, llamacpp: {n_ctx: 4096}, ")
    recipe.write_text(text + f"model: {{path: {tiny_gguf}}}\n")
    out = tmp_path / "loop"
    code, stdout, err = run_cli(["loop", str(recipe), "--dev", str(dev), "--rounds", "1", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    rounds = json.loads((out / "loop.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [0, 1] and rounds[1]["generated"] >= 8
    manifest = json.loads((out / "round-01" / "manifest.json").read_text())
    assert len(manifest["model"]["sha256"]) == 64 and manifest["status"] == "complete"


def test_run_with_loop_option(varied_fake: list, tmp_path: Path, capsys) -> None:
    recipe, dev = _study(tmp_path, True)
    code, stdout, err = run_cli(["run", str(recipe), "--loop", str(dev), "--rounds", "1", "--out", str(tmp_path / "r"), "-q"],
                                capsys)
    assert code == 0, err
    state = json.loads((tmp_path / "r" / "loop" / "loop.json").read_text())
    assert [r["round"] for r in state["rounds"]] == [0, 1] and "Done: " in stdout
    assert not (tmp_path / "r" / "generated.jsonl").exists()  # the loop replaces the four stages


def test_kept_rows_read_every_rounds_records_less_the_held_out_rewrites(tmp_path: Path) -> None:
    """The rounds' filtered records through the one records reader: twins keep a per-round pair id, and a
    rewrite of an IMDB validation/test review (its provenance source key) is left out."""
    from sarcgen.loop import kept_rows

    def write(folder: Path, rows: list[dict]) -> Path:
        folder.mkdir()
        (folder / "filtered.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return folder

    r1 = write(tmp_path / "round-1", [{"text": "Great,<br />a nap.", "label": 0, "pair_id": "p1"},
                                      {"text": "Great film.", "label": 1, "pair_id": "p1"},
                                      {"text": "Rewrite of a test review.", "label": 0,
                                       "provenance": {"source": {"key": "held"}}}])
    r2 = write(tmp_path / "round-2", [{"text": "Another one.", "label": 1, "provenance": {"source": {"key": "fine"}}}])
    rows = kept_rows([r1, r2, tmp_path / "round-3"], held_out={"held"})
    assert rows.texts == ["Great, a nap.", "Great film.", "Another one."] and rows.labels == [0, 1, 1]
    assert [m["pair_id"] for m in rows.meta] == ["round-1:p1", "round-1:p1", None]
