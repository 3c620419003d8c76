"""The blind judge: answer parsing, agreement, the filter's judge stage (fake and real tiny GGUF)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.backends.base import GenerationRequest, GenerationResult
from sarcgen.backends.fake import FakeBackend
from sarcgen.errors import QualityError
from sarcgen.filter import judge as jg
from sarcgen.filter.calibration import CALIBRATION_SET
from sarcgen.filter.run import run_filter
from sarcgen.recipe import Recipe
from sarcgen.records import Review
from tests.factories import CALIBRATION_ANSWERS, GOOD_SARCASTIC, good_records, review_record, write_run


@pytest.mark.parametrize(
    ("answer", "label", "sarcastic"),
    [
        ("sentiment: negative\nsarcastic: yes", 0, True),
        ("Sentiment: Positive\nSarcastic: No", 1, False),
        ("<think>hmm</think>**Sentiment:** negative\n**Sarcastic:** true", 0, True),
        ("The sentiment is negative and the review is not sarcastic.", 0, False),
        ("negative\nyes", 0, True),
        ("sentiment - pos, sarcasm - n", 1, False),
        ("I think this reviewer is being sarcastic; overall negative.", 0, True),
    ],
)
def test_parse_verdict(answer: str, label: int, sarcastic: bool) -> None:
    v = jg.parse_verdict(answer)
    assert (v.label, v.sarcastic) == (label, sarcastic) and v.parsed


@pytest.mark.parametrize("answer", ["", "qwe rty uiop", "positive or negative? yes or no", "sentiment: unsure"])
def test_unparseable_answers(answer: str) -> None:
    assert not jg.parse_verdict(answer).parsed


def test_judge_is_blind_and_counts_reasons() -> None:
    reviews = [Review.model_validate(r) for r in good_records()]
    answers = {
        reviews[0].text: "sentiment: negative\nsarcastic: yes",
        reviews[1].text: "sentiment: positive\nsarcastic: no",  # both wrong
        reviews[2].text: "sentiment: negative\nsarcastic: no",  # sarcasm wrong
        reviews[3].text: "gibberish",
        reviews[6].text: "sentiment: positive\nsarcastic: no",
        reviews[7].text: "sentiment: negative\nsarcastic: no",  # sentiment wrong
    }

    def reply(req: GenerationRequest):
        text = req.messages[-1]["content"].removeprefix("Review: ")
        if text == reviews[4].text:
            return GenerationResult(key=req.key, text="", finish_reason="error", error="boom")
        return answers.get(text, "sentiment: negative\nsarcastic: yes")

    be = FakeBackend(reply)
    out = jg.judge_reviews(reviews, be, progress=False)
    assert [o.reason for o in out] == [None, jg.BOTH, jg.SARCASM, jg.UNPARSEABLE, jg.ERROR, None, None, jg.SENTIMENT]
    for req, r in zip(be.requests, reviews):
        last = req.messages[-1]["content"]
        assert last == f"Review: {r.text}"  # the judge sees only the text
        assert req.temperature == 0.0 and req.max_tokens <= 32
        assert not any(r.device in m["content"] and r.device != "deadpan" for m in req.messages if m["role"] == "user")
    stats = jg.agreement(out)
    assert stats["judged"] == 8 and stats["agreements"] == 3 and stats["agreement_rate"] == 0.375
    assert stats["unparseable"] == 1 and stats["errors"] == 1 and stats["parsed"] == 6


def calibrated_judge(answer: str, wrong_on_calibration: int = 0) -> FakeBackend:
    """A fake judge that answers the calibration set right (but the first `wrong_on_calibration`
    items wrong, both questions) and every other review with `answer`."""
    wrong = {c.text for c in CALIBRATION_SET[:wrong_on_calibration]}

    def reply(req: GenerationRequest) -> str:
        text = req.messages[-1]["content"].removeprefix("Review: ")
        if text in wrong:
            return "sentiment: positive\nsarcastic: no" if "sarcastic: yes" in CALIBRATION_ANSWERS[text] else "sentiment: negative\nsarcastic: yes"
        return CALIBRATION_ANSWERS.get(text, answer)

    return FakeBackend(reply)


def test_filter_judge_stage_with_fake_backend(tmp_path: Path) -> None:
    recs = good_records()
    run = write_run(tmp_path / "run", recs)
    rec = Recipe()
    rec.filter.judge = True
    be = calibrated_judge("sentiment: negative\nsarcastic: yes")  # right for sarcastic, wrong for sincere twins
    rep = run_filter([run], rec, backend=be, progress=False)
    assert rep.kept == 6 and rep.counts == {jg.BOTH: 2}  # the default gate confirms the label and the sarcasm flag
    assert rep.labels == {"verified": True, "by": "fake.gguf (sentiment_and_sarcasm gate)"}
    assert not any("NOT VERIFIED" in w for w in rep.warnings)
    rows = [json.loads(x) for x in (run / "label_checks.jsonl").read_text().splitlines()]
    assert len(rows) == len(recs) and sum(r["confirmed"] for r in rows) == 6  # a verdict per row, kept or not
    assert all(r["acted"] and r["check"] == "judge" for r in rows)
    assert rep.judge["agreement_rate"] == 0.75 and rep.judge["backend"] == "fake"
    cal = rep.judge["calibration"]
    assert cal["passed"] and cal["sentiment_accuracy"] == 1.0 and cal["sarcasm_accuracy"] == 1.0 and cal["n"] >= 40
    assert len(be.requests) == len(CALIBRATION_SET) + len(recs)  # calibration first, then each review once
    saved = json.loads((run / "judge_calibration.json").read_text())
    assert saved["model_file"] == "fake.gguf" and len(saved["answers"]) == len(CALIBRATION_SET)
    dis = [json.loads(x) for x in (run / "judge_disagreements.jsonl").read_text().splitlines()]
    assert [d["id"] for d in dis] == ["000010-t", "000011-t"]
    assert dis[0]["judge_label"] == 0 and dis[0]["label"] == 1 and dis[0]["answer"].startswith("sentiment")
    assert "## Judge" in (run / "filter_report.md").read_text()


def gullible_judge(sincere_read_as_sarcastic: int, sarcastic_read_as_sincere: int = 0) -> FakeBackend:
    """Right on the calibration set but for the first N sincere reviews (read as sarcastic negatives)
    and the first M sarcastic ones (read as sincere praise); every other review: negative, sarcastic."""
    from sarcgen.filter.calibration import SARCASTIC, SINCERE

    flip = {c.text: "sentiment: negative\nsarcastic: yes" for c in SINCERE[:sincere_read_as_sarcastic]}
    flip |= {c.text: "sentiment: positive\nsarcastic: no" for c in SARCASTIC[:sarcastic_read_as_sincere]}

    def reply(req: GenerationRequest) -> str:
        text = req.messages[-1]["content"].removeprefix("Review: ")
        return flip.get(text) or CALIBRATION_ANSWERS.get(text, "sentiment: negative\nsarcastic: yes")

    return FakeBackend(reply)


def test_a_judge_that_would_let_wrong_labels_through_stops_the_filter_with_its_scores(tmp_path: Path) -> None:
    recs = [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC)]
    run = write_run(tmp_path / "run", recs)
    rec = Recipe()
    rec.filter.judge = True
    # 6 of the 15 sincere calibration reviews read as sarcastic negatives: as a gate for sarcastic
    # negatives it would let 6 sincere reviews through beside 15 right ones (precision 0.71 < 0.8)
    with pytest.raises(QualityError) as err:
        run_filter([run], rec, backend=gullible_judge(6), progress=False)
    msg = str(err.value)
    assert "failed its calibration" in msg and "sarcastic negatives precision 0.71 recall 1.00" in msg
    assert "--judge-model" in msg and "advisory" in msg and "\n" not in msg
    assert not (run / "filtered.jsonl").exists()  # nothing half-written
    saved = json.loads((run / "judge_calibration.json").read_text())
    assert saved["passed"] is False and saved["per_class"]["sarcastic negatives"]["wrong_label"] == 6
    rec.filter.judge_min_precision = 0.7  # the threshold is the recipe's
    rep = run_filter([run], rec, backend=gullible_judge(6), progress=False)
    assert rep.judge["calibration"]["passed"] and rep.kept == len(recs)


def test_a_judge_that_would_empty_a_class_stops_the_filter(tmp_path: Path) -> None:
    """The 1.5B judge's pattern: 13 of 15 sarcastic reviews read as sincere praise (recall 0.13)."""
    run = write_run(tmp_path / "run", [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC)])
    rec = Recipe()
    rec.filter.judge = True
    rep = run_filter([run], rec, backend=gullible_judge(0, 13), progress=False)  # 0.13 >= 0.1: it may gate
    assert rep.judge["calibration"]["per_class"]["sarcastic negatives"]["recall"] == 0.1333
    rec.filter.judge_min_recall = 0.5
    with pytest.raises(QualityError, match="sarcastic negatives precision 1.00 recall 0.13"):
        run_filter([run], rec, backend=gullible_judge(0, 13), progress=False)


def test_advisory_mode_records_verdicts_and_drops_nothing(tmp_path: Path) -> None:
    recs = good_records()
    run = write_run(tmp_path / "run", recs)
    rec = Recipe()
    rec.filter.judge, rec.filter.judge_mode = True, "advisory"
    rep = run_filter([run], rec, backend=FakeBackend(["sentiment: negative\nsarcastic: yes"]), progress=False)
    assert rep.kept == len(recs) and "judge" not in rep.by_stage
    assert rep.judge["mode"] == "advisory" and rep.judge["calibration"]["passed"] is False
    assert rep.judge["agreement_rate"] == 0.75  # the verdicts are still recorded ...
    assert len((run / "judge_disagreements.jsonl").read_text().splitlines()) == 2  # ... with the disagreements
    assert any("failed its calibration" in w and "advisory" in w for w in rep.warnings)
    md = (run / "filter_report.md").read_text()
    assert "failed its calibration" in md.split("## ")[0]  # in the report's first lines


@pytest.mark.llama
def test_judge_runs_on_real_tiny_gguf(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    """Random weights answer gibberish: the stage must run end to end and name the reason."""
    recs = [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC[:3])]
    run = write_run(tmp_path / "run", recs)
    rec = Recipe()
    rec.model.path = str(tiny_gguf)
    rec.filter.judge = True
    rec.generate.llamacpp.n_threads = 1
    rec.generate.llamacpp.n_ctx = 2048
    with pytest.raises(QualityError, match="failed its calibration"):  # random weights cannot pass it
        run_filter([run], rec, progress=False)
    rec.filter.judge_mode = "advisory"
    rep = run_filter([run], rec, progress=False)
    assert rep.judge is not None and rep.judge["judged"] == 3 and rep.kept == 3
    assert rep.judge["model_file"] == tiny_gguf.name and rep.judge["backend"].startswith("llama")
    lines = [json.loads(x) for x in (run / "judge_disagreements.jsonl").read_text().splitlines()]
    assert len(lines) == 3 - rep.judge["agreements"]
    assert {x["reason"] for x in lines} <= {jg.UNPARSEABLE, jg.SENTIMENT, jg.SARCASM, jg.BOTH}


@pytest.mark.llama
def test_judge_model_runs_in_process_after_an_openai_run(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    """--judge-model names a GGUF: it is judged with, not silently ignored in favour of the run's server."""
    from sarcgen.recipe import ModelSpec

    recs = [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC[:2])]
    run = write_run(tmp_path / "run", recs)
    rec = Recipe()
    rec.generate.backend, rec.generate.openai.base_url = "openai", "http://127.0.0.1:9/v1"  # nobody listens there
    rec.generate.llamacpp.n_threads, rec.generate.llamacpp.n_ctx = 1, 2048
    rec.filter.judge, rec.filter.judge_mode = True, "advisory"
    rec.filter.judge_model = ModelSpec(path=str(tiny_gguf))
    rep = run_filter([run], rec, progress=False)
    assert rep.judge is not None and rep.judge["model_file"] == tiny_gguf.name and rep.judge["backend"].startswith("llama")
    assert jg.judge_recipe(rec).generate.backend == "llamacpp" and jg.judge_recipe(Recipe()) == Recipe()
