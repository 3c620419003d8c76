"""run_filter on hand-made run folders: outputs, counts, bad input, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.filter.run import run_filter
from sarcgen.recipe import Recipe
from sarcgen.runfolder import resolve_recipe
from tests.factories import GOOD_SARCASTIC, review_record, sample_records, write_run


def test_run_filter_outputs_and_reasons(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", sample_records(), ["{not json", "[1, 2]"])
    rep = run_filter([run], Recipe(), progress=False)
    assert rep.kept == 8
    assert rep.counts == {
        "contaminated": 1, "exact_duplicate": 1, "label_leak": 1, "malformed_json": 2, "meta_text": 1,
        "missing_positive_cue": 1, "near_duplicate": 1, "negative_twist": 1, "too_short": 1,
    }
    assert rep.total == 18 and rep.rejected == 10
    assert len(rep.malformed) == 2 and f"{run / 'generated.jsonl'}:17:" in rep.malformed[0]
    kept = [json.loads(x) for x in (run / "filtered.jsonl").read_text().splitlines()]
    assert [r["plan_index"] for r in kept] == sorted(r["plan_index"] for r in kept)
    assert "000000-s" in {r["id"] for r in kept} and "000025-s" not in {r["id"] for r in kept}
    rej = [json.loads(x) for x in (run / "filter_rejected.jsonl").read_text().splitlines()]
    assert all({"stage", "reason", "detail"} <= set(r) for r in rej)
    dup = next(r for r in rej if r["reason"] == "exact_duplicate")
    assert dup["id"] == "000025-s" and "000000-s" in dup["detail"]
    cont = next(r for r in rej if r["reason"] == "contaminated")
    assert "paint dry" in cont["detail"] and "challenge#0" in cont["detail"]
    data = json.loads((run / "filter_report.json").read_text())
    assert data["cells_before"]["deadpan"]["plot"] >= 1 and data["kept"] == 8
    assert data["decontamination"][0]["matched_text"].startswith("Great movie, if you enjoy")
    assert data["diversity_after"]["distinct_1"] > 0
    md = (run / "filter_report.md").read_text()
    for heading in ("Drops per reason", "Device x aspect", "Decontamination", "Diversity", "Malformed lines"):
        assert heading in md
    assert (run / "filter_lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_filter_is_deterministic(tmp_path: Path) -> None:
    recs = sample_records()
    a = run_filter([write_run(tmp_path / "a", recs)], Recipe(), tmp_path / "out_a", progress=False)
    b = run_filter([write_run(tmp_path / "b", recs)], Recipe(), tmp_path / "out_b", progress=False)
    for name in ("filtered.jsonl", "filter_rejected.jsonl", "filter_lengths.png"):
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name
    md_a = (a.out_dir / "filter_report.md").read_text().replace(str(tmp_path / "a"), "RUN")
    assert md_a == (b.out_dir / "filter_report.md").read_text().replace(str(tmp_path / "b"), "RUN")
    ja = json.loads((a.out_dir / "filter_report.json").read_text())
    jb = json.loads((b.out_dir / "filter_report.json").read_text())
    for j in (ja, jb):
        j.pop("inputs"), j.pop("out_dir")
    assert ja == jb
    # and rerunning in place gives the same bytes
    before = (a.out_dir / "filtered.jsonl").read_bytes()
    run_filter([tmp_path / "a"], Recipe(), tmp_path / "out_a", progress=False)
    assert (a.out_dir / "filtered.jsonl").read_bytes() == before


def test_jsonl_file_input_schema_errors_and_duplicate_ids(tmp_path: Path) -> None:
    recs = sample_records()[:3]
    bad = dict(recs[0], id="x1", label=3)
    unknown = dict(recs[1], id="x2", colour="red")
    f = tmp_path / "reviews.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [*recs, bad, unknown, recs[2]]) + "\n")
    rep = run_filter([f], Recipe(), progress=False)
    assert rep.counts["schema"] == 2 and rep.counts["duplicate_id"] == 1
    assert (tmp_path / "filtered.jsonl").exists()
    rej = [json.loads(x) for x in (tmp_path / "filter_rejected.jsonl").read_text().splitlines()]
    schema = [r for r in rej if r["reason"] == "schema"]
    assert any("label" in r["detail"] for r in schema) and any("colour" in r["detail"] for r in schema)
    assert all(":" in r["detail"] for r in schema)  # file:line named


def test_empty_and_missing_inputs_raise(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "generated.jsonl").write_text("")
    with pytest.raises(InputError, match="empty"):
        run_filter([empty], Recipe(), progress=False)
    with pytest.raises(InputError, match="no such file"):
        run_filter([tmp_path / "nope.jsonl"], Recipe(), progress=False)
    with pytest.raises(InputError, match="generated.jsonl"):
        run_filter([tmp_path], Recipe(), progress=False)
    with pytest.raises(InputError):
        run_filter([], Recipe(), progress=False)


def test_thresholds_come_from_run_recipe_then_flags(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", sample_records())
    (run / "recipe.yaml").write_text("filter:\n  min_words: 3\n  near_dup_threshold: 99.5\n")
    resolved = resolve_recipe(None, [run], stage="filter")
    rec, source = resolved.recipe, resolved.source
    assert source.endswith("recipe.yaml") and rec.filter.min_words == 3
    rep = run_filter([run], rec, progress=False)
    assert "too_short" not in rep.counts and "near_duplicate" not in rep.counts  # 99.5 is too strict for the edit
    rec2 = resolve_recipe(None, [run], {"filter.near_dup_threshold": 90}, stage="filter").recipe
    assert rec2.filter.near_dup_threshold == 90 and rec2.filter.min_words == 3
    rep2 = run_filter([run], rec2, tmp_path / "o2", progress=False)
    assert rep2.counts.get("near_duplicate") == 1


def test_against_file_and_two_runs(tmp_path: Path) -> None:
    recs = sample_records()
    a = write_run(tmp_path / "a", recs[:4])
    b = write_run(tmp_path / "b", recs[4:8])
    ev = tmp_path / "eval.txt"
    ev.write_text(GOOD_SARCASTIC[2][3].replace("amazing", "astonishing") + "\nsomething unrelated entirely here\n")
    rec = Recipe()
    rec.filter.against = [str(ev)]
    rep = run_filter([a, b], rec, tmp_path / "out", progress=False)
    assert rep.counts == {"contaminated": 1}
    assert rep.decontamination[0]["source"] == "eval.txt" and rep.kept == 7
    assert rep.eval_sets["eval.txt"] == 2


def test_records_made_before_the_guard_are_caught_as_prompt_copy(tmp_path: Path) -> None:
    copied = ("The two leads are brilliant together: every argument feels real and their timing had the whole "
              "theater laughing. I left wanting a sequel.")
    recs = sample_records()[:3] + [review_record(30, copied, device="mock gratitude", cue="brilliant")]
    run = write_run(tmp_path / "run", recs)
    rep = run_filter([run], Recipe(), progress=False)
    assert rep.by_stage["validate"] == {"prompt_copy": 1}
    rej = [json.loads(x) for x in (run / "filter_rejected.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rej if r["reason"] == "prompt_copy"] == ["000030-s"]
    assert "few-shot example 2" in next(r["detail"] for r in rej if r["reason"] == "prompt_copy")


def test_a_vanished_class_is_the_first_thing_the_filter_says(tmp_path: Path) -> None:
    """Every sincere twin dropped (here: all of them use a negative twist) -> loud, with the cause."""
    recs = [review_record(i, t, device=d, aspect=a, cue=c) for i, (d, a, c, t) in enumerate(GOOD_SARCASTIC)]
    recs += [review_record(20 + i, f"Brilliant cast, but the plot {i} was boring and a total waste of time.", sarcastic=False)
             for i in range(3)]
    run = write_run(tmp_path / "run", recs)
    rep = run_filter([run], Recipe(), progress=False)
    assert rep.classes["read"]["sincere positives"] == 3 and rep.classes["kept"]["sincere positives"] == 0
    assert rep.warnings[0].startswith("CLASS VANISHED: the filter removed ALL of the 3 sincere positives")
    assert rep.warnings[1].startswith("LABELS NOT VERIFIED: no signal but the request")  # no judge ran
    assert "validate/negative_twist 3" in rep.warnings[0]
    md = (run / "filter_report.md").read_text().splitlines()
    assert md[2].startswith("> **Warning:** CLASS VANISHED")
    assert json.loads((run / "filter_report.json").read_text())["warnings"] == rep.warnings
