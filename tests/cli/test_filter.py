"""`sarcgen filter` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sarcgen.cli import _register, cli, main
from tests.factories import sample_records, write_run


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def test_filter_command_writes_outputs_and_prints_summary(tmp_path: Path, runner: CliRunner) -> None:
    run = write_run(tmp_path / "run", sample_records(), ["{broken"])
    res = runner.invoke(cli, ["filter", str(run), "-q"])
    assert res.exit_code == 0, res.output
    assert "Filtered 17 rows: kept 8, rejected 9" in res.output
    assert "near_duplicate" in res.output and "contaminated" in res.output and "malformed_json" in res.output
    assert "generated.jsonl:17" in res.output
    for name in ("filtered.jsonl", "filter_rejected.jsonl", "filter_report.md", "filter_report.json", "filter_lengths.png"):
        assert (run / name).is_file(), name


def test_flags_override_the_recipe(tmp_path: Path, runner: CliRunner) -> None:
    run = write_run(tmp_path / "run", sample_records())
    recipe = tmp_path / "r.yaml"
    recipe.write_text("filter:\n  near_dup_threshold: 99.9\n  min_words: 3\n")
    ev = tmp_path / "eval.txt"
    ev.write_text(sample_records()[3]["text"] + "\n")
    out = tmp_path / "out"
    res = runner.invoke(cli, ["filter", str(run), "--out", str(out), "-r", str(recipe), "--against", str(ev), "-q"])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "filter_report.json").read_text())
    assert rep["settings"]["near_dup_threshold"] == 99.9 and rep["settings"]["min_words"] == 3
    assert "near_duplicate" not in rep["counts"] and "too_short" not in rep["counts"]
    assert rep["counts"]["contaminated"] == 2 and rep["eval_sets"]["eval.txt"] == 1
    res = runner.invoke(cli, ["filter", str(run), "--out", str(out), "-r", str(recipe), "--near-dup-threshold", "90", "-q"])
    assert res.exit_code == 0
    rep = json.loads((out / "filter_report.json").read_text())
    assert rep["settings"]["near_dup_threshold"] == 90 and rep["counts"]["near_duplicate"] == 1


def test_bad_inputs_exit_non_zero_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for args in ([str(tmp_path / "missing")], [str(empty)], [str(tmp_path)],
                 [str(write_run(tmp_path / "r1", sample_records())), str(write_run(tmp_path / "r2", sample_records()))]):
        with pytest.raises(SystemExit) as exc:
            main(["filter", *args, "-q"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("Error: ") and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(tmp_path / "r1"), "--imdb-test", str(tmp_path / "nope.csv"), "-q"])
    assert exc.value.code == 2 and "IMDB test split not found" in capsys.readouterr().err


def test_help_lists_the_options(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["filter", "--help"])
    assert res.exit_code == 0
    for opt in ("--out", "--recipe", "--near-dup-threshold", "--decontam-threshold", "--against", "--imdb-test", "--judge", "--judge-model"):
        assert opt in res.output


def test_a_file_of_only_malformed_lines_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1\nnot json\n')
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(bad), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert f"{bad}: no readable records (2 malformed line(s); first: {bad}:1:" in capsys.readouterr().err
