"""The gate audit in one command: sarcgen's filter on every labelled writer, against the gold reading.

For each folder of ../shared/data/labelled (or --labelled DIR: sarcgen run folders, each with a
gold.jsonl), the folder is copied to --work, `sarcgen.filter.run.run_filter` runs on the copy with
the folder's own recipe and `audit=gold.jsonl`, and the audit's tables are printed per writer: the
whole filter per class (kept, precision, label precision, recall of the good records) and each check
run alone (good records it rejects, bad ones it catches). With --judge-model the label gate runs too
(`filter.judge`), in enforce mode with the calibration's refusal switched off so the gate itself is
measured, and the calibration's verdict printed beside it; the judge's seconds per record are timed.

    .venv/bin/python benchmarks/gate_audit.py                              # rules only (seconds)
    .venv/bin/python benchmarks/gate_audit.py --judge-model /work/models/qwen2.5-coder-1.5b-instruct.gguf \\
        --parallel 8 --work .bench/gate-audit-qwen                          # + the Qwen2.5-1.5B judge (~20 min)
    .venv/bin/python benchmarks/gate_audit.py --replay-judge benchmarks/results/qwen-judge-answers   # replayed

--replay-judge DIR answers every judge request (calibration and reviews) with what the judge of an
earlier run in DIR answered for the same text (its judge_calibration.json and label_checks.jsonl),
through the filter's real judge stage: other rules or gates are measured on the same verdicts in
seconds. A text the earlier run did not judge is an error, unless --judge-model is given too: then
the real judge answers those texts first, and the answers are appended to DIR.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sarcgen.filter.audit import CHECK_HEADER, CLASS_HEADER, check_rows, class_rows

DEFAULT_LABELLED = ROOT.parent / "shared" / "data" / "labelled"


def replay_backend(folder: Path, records: Path) -> Any:
    """A backend answering each judge request with the answer recorded in `folder` (judge_calibration.json,
    label_checks.jsonl) for the same review text (`records`: the writer's generated.jsonl)."""
    from sarcgen.backends.base import ModelInfo
    from sarcgen.backends.fake import FakeBackend

    cal = json.loads((folder / "judge_calibration.json").read_text())
    answers = {a["text"]: a["answer"] for a in cal["answers"]}
    texts = {json.loads(x)["id"]: json.loads(x)["text"] for x in records.read_text().splitlines()}
    for line in (folder / "label_checks.jsonl").read_text().splitlines():
        row = json.loads(line)
        answers[texts[row["id"]]] = row["answer"]

    def reply(req: Any) -> str:
        text = req.messages[-1]["content"].removeprefix("Review: ")
        if text not in answers:
            raise KeyError(f"{folder}: no recorded judge answer for {text[:60]!r}")
        return str(answers[text])

    backend = FakeBackend(reply)
    backend.info = lambda: ModelInfo(model_file=f"{cal['model_file']} (replayed)", model_sha256="replayed",  # type: ignore[method-assign]
                                     quantization=None, backend="replay", backend_version="0")
    return backend


def complete_answers(folder: Path, records: Path, judge_model: str, parallel: int) -> int:
    """Ask the real judge about every record of `records` that has no recorded answer in `folder`
    (e.g. a record an older rule kept from reaching the judge) and append the answers. Returns how many."""
    from sarcgen.backends import create_backend
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.filter.judge import judge_reviews
    from sarcgen.recipe import ModelSpec, Recipe
    from sarcgen.records import Review

    known = {json.loads(x)["id"] for x in (folder / "label_checks.jsonl").read_text().splitlines()}
    missing = [Review.model_validate_json(x) for x in records.read_text().splitlines() if json.loads(x)["id"] not in known]
    if not missing:
        return 0
    recipe = Recipe()
    recipe.generate.parallel = parallel
    backend = create_backend(recipe, ModelSpec.model_validate(parse_model_arg(judge_model)))
    backend.load()
    try:
        outcomes = judge_reviews(missing, backend, progress=False)
    finally:
        backend.close()
    with (folder / "label_checks.jsonl").open("a") as f:
        for o in outcomes:
            f.write(json.dumps({"id": o.id, "check": "judge", "answer": o.verdict.raw.strip()[:200]}) + "\n")
    return len(outcomes)


def audit_writer(folder: Path, work: Path, judge_model: str | None, gate: str, parallel: int, threads: int | None,
                 replay: Path | None = None) -> dict[str, Any]:
    from sarcgen.backends.gguf import parse_model_arg
    from sarcgen.filter.run import run_filter
    from sarcgen.runfolder import resolve_recipe

    copy = work / folder.name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("filter*", "filtered.jsonl", "label_checks.jsonl",
                                                                  "judge_*"))
    for p in copy.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    judged = judge_model is not None or replay is not None
    ov: dict[str, Any] = {"filter.judge": judged}
    if judged:
        ov.update({"filter.judge_mode": "enforce", "filter.judge_gate": gate, "filter.judge_min_precision": 0.0,
                   "filter.judge_min_recall": 0.0})
    if judge_model is not None and replay is None:
        ov.update({"filter.judge_model": parse_model_arg(judge_model), "generate.parallel": parallel,
                   "generate.backend": "llamacpp"})
        if threads is not None:
            ov["generate.llamacpp.n_threads"] = threads
    recipe = resolve_recipe(None, [copy], ov, stage="filter").recipe
    t0 = time.perf_counter()
    backend = None
    if replay is not None:
        if judge_model is not None:
            complete_answers(replay / folder.name, folder / "generated.jsonl", judge_model, parallel)
        backend = replay_backend(replay / folder.name, folder / "generated.jsonl")
    report = run_filter([copy], recipe, copy, recipe_source=str(copy / "recipe.yaml"), progress=False,
                        audit=copy / "gold.jsonl", backend=backend)
    seconds = time.perf_counter() - t0
    out = {"writer": folder.name, "records": report.total, "seconds": round(seconds, 1), "audit": report.audit}
    if report.judge:
        cal = report.judge.get("calibration") or {}
        out["judge"] = {"model": report.judge.get("model_file"), "gate": gate, "calibration_passed": cal.get("passed"),
                        "calibration_per_class": cal.get("per_class"),
                        "seconds_per_record": round(seconds / (report.total + 45), 2)}
    return out


def print_tables(results: list[dict[str, Any]]) -> None:
    print("| writer | " + " | ".join(CLASS_HEADER) + " |")
    print("|" + "---|" * (len(CLASS_HEADER) + 1))
    for res in results:
        for cells in class_rows(res["audit"]["classes"]):
            print(f"| {res['writer']} | " + " | ".join(str(c) for c in cells) + " |")
    print()
    print("| writer | " + " | ".join(CHECK_HEADER) + " |")
    print("|" + "---|" * (len(CHECK_HEADER) + 1))
    for res in results:
        for cells in check_rows(res["audit"]["checks"]):
            print(f"| {res['writer']} | " + " | ".join(str(x) for x in cells) + " |")
    for res in results:
        if "judge" in res:
            j = res["judge"]
            per = "; ".join(f"{k} precision {v['precision']} recall {v['recall']}" for k, v in (j["calibration_per_class"] or {}).items())
            print(f"\n{res['writer']}: judge {j['model']} ({j['gate']} gate), calibration "
                  f"{'passed' if j['calibration_passed'] else 'FAILED'} ({per}); {j['seconds_per_record']} s per record "
                  f"(calibration included), {res['seconds']} s in all")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labelled", type=Path, default=DEFAULT_LABELLED, help="folder of labelled run folders")
    ap.add_argument("--writer", action="append", default=None, help="only this writer folder (repeatable)")
    ap.add_argument("--work", type=Path, default=ROOT / ".bench" / "gate-audit", help="where the copies are filtered")
    ap.add_argument("--judge-model", default=None, help="a GGUF: run the label gate (filter.judge) with it")
    ap.add_argument("--replay-judge", type=Path, default=None, metavar="DIR",
                    help="replay the judge answers recorded by an earlier --judge-model run with --work DIR")
    ap.add_argument("--gate", default="sentiment_and_sarcasm", choices=["sentiment", "sentiment_and_sarcasm"])
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="save the results here")
    args = ap.parse_args()
    folders = sorted(p for p in args.labelled.iterdir() if (p / "gold.jsonl").is_file())
    if args.writer:
        folders = [p for p in folders if p.name in args.writer]
    if not folders:
        sys.exit(f"gate_audit: no labelled run folders (with gold.jsonl) under {args.labelled}")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.replay_judge is not None and args.replay_judge.resolve() == args.work.resolve():
        sys.exit("gate_audit: --replay-judge DIR must not be the --work folder (the copies are made anew there)")
    results = [audit_writer(f, args.work, args.judge_model, args.gate, args.parallel, args.threads, args.replay_judge)
               for f in folders]
    print_tables(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
