"""`sarcgen publish` through the real CLI: defaults, flags, recipe, push, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sarcgen.cli import _register, cli, main
from tests.factories import make_reviews, make_run
from tests.http_helpers import TOKEN, FakeHub

pytestmark = pytest.mark.usefixtures("hf_datasets_cache")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def _exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_help_lists_publish(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["publish", "--help"])
    assert result.exit_code == 0
    for flag in ["--out", "--recipe", "--train", "--validation", "--test", "--seed", "--push", "--private", "--token"]:
        assert flag in result.output


def test_publish_defaults_to_run_dataset(runner: CliRunner, tmp_path: Path) -> None:
    run = make_run(tmp_path)
    result = runner.invoke(cli, ["publish", str(run)])
    assert result.exit_code == 0, result.output
    report = json.loads((run / "dataset" / "publish.json").read_text())
    sizes = report["split_sizes"]
    assert f"train {sizes['train']}, validation {sizes['validation']}, test {sizes['test']}" in result.output
    assert f"wrote {run / 'dataset'}" in result.output and "pushed" not in result.output
    assert report["settings"]["seed"] == 7  # the run's recipe.yaml


def test_flags_override_recipe(runner: CliRunner, tmp_path: Path) -> None:
    run = make_run(tmp_path)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"publish": {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 11,
                                                  "pretty_name": "Recipe name"}}))
    out = tmp_path / "out"
    result = runner.invoke(cli, ["publish", str(run), "--out", str(out), "--recipe", str(recipe), "--seed", "5",
                                 "--train", "0.5", "--validation", "0.25", "--test", "0.25"])
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "publish.json").read_text())["settings"]
    assert (settings["train"], settings["validation"], settings["test"], settings["seed"]) == (0.5, 0.25, 0.25, 5)
    assert "# Recipe name" in (out / "README.md").read_text()


def test_generated_fallback_warns(runner: CliRunner, tmp_path: Path) -> None:
    run = make_run(tmp_path, make_reviews(12), filtered=False, extras=False)
    result = runner.invoke(cli, ["publish", str(run)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and result.output.count("UNFILTERED generated.jsonl") == 1


def test_bad_input_is_one_line_and_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit(["publish", str(tmp_path / "nope")], capsys)
    assert code == 2 and "no such run folder" in err and "Traceback" not in err
    run = make_run(tmp_path)
    code, err = _exit(["publish", str(run), "--train", "0.9"], capsys)
    assert code == 5 and "publish.train + publish.validation + publish.test = 1.1" in err
    code, err = _exit(["publish", str(run), "--train", "2"], capsys)
    assert code == 2 and "publish.train" in err  # recipe validation names the key


def test_push_without_token_fails_before_network(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 hub: FakeHub) -> None:
    run = make_run(tmp_path)
    code, err = _exit(["publish", str(run), "--push", "alice/sarcasm"], capsys)
    assert code == 5 and "no Hugging Face token" in err and "HF_TOKEN" in err
    assert hub.log == [] and (run / "dataset" / "README.md").is_file()  # the local copy is still written


def test_push_to_fake_hub(runner: CliRunner, tmp_path: Path, hub: FakeHub) -> None:
    run = make_run(tmp_path)
    result = runner.invoke(cli, ["publish", str(run), "--push", "alice/sarcasm", "--private", "--token", TOKEN])
    assert result.exit_code == 0, result.output
    assert f"pushed to {hub.url}/datasets/alice/sarcasm" in result.output
    assert hub.repos["alice/sarcasm"]["private"] is True
    assert sorted(hub.repos["alice/sarcasm"]["files"]) == ["README.md", "data/test-00000-of-00001.parquet",
                                                          "data/train-00000-of-00001.parquet",
                                                          "data/validation-00000-of-00001.parquet"]


def test_push_failure_says_repo_state(tmp_path: Path, capsys: pytest.CaptureFixture[str], hub: FakeHub) -> None:
    hub.fail["commit"] = 403
    code, err = _exit(["publish", str(make_run(tmp_path)), "--push", "alice/sarcasm", "--token", TOKEN], capsys)
    assert code == 5 and "repo alice/sarcasm was created but is empty or partial" in err


def test_run_recipe_from_another_version_is_tolerated(runner: CliRunner, tmp_path: Path) -> None:
    """Only the publish section of RUN/recipe.yaml is read: unknown keys elsewhere do not block publishing."""
    run = make_run(tmp_path)
    data = yaml.safe_load((run / "recipe.yaml").read_text())
    data["generate"]["future_knob"] = True
    (run / "recipe.yaml").write_text(yaml.safe_dump(data))
    result = runner.invoke(cli, ["publish", str(run), "--test", "0.2", "--validation", "0.0"])
    assert result.exit_code == 0, result.output
    settings = json.loads((run / "dataset" / "publish.json").read_text())["settings"]
    assert (settings["train"], settings["validation"], settings["test"], settings["seed"]) == (0.8, 0.0, 0.2, 7)


def test_missing_class_is_one_line_refusal_and_the_flag_overrides(runner: CliRunner, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path, make_reviews(12, twin_every=0))
    code, err = _exit(["publish", str(run)], capsys)
    assert code == 5 and "holds no sincere positives" in err and "--allow-missing-class" in err
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 2 and "Traceback" not in err  # error + hint
    result = runner.invoke(cli, ["publish", str(run), "--allow-missing-class"])
    assert result.exit_code == 0 and "holds no sincere positives" in result.output and "published anyway" in result.output
