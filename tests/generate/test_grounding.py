"""Grounded generation: rewrite sources and the user's own few-shot examples (sarcgen.generate.grounding).

The fast tests use the fake backend and small real-looking files; the real llama-cpp-python path is
run on the tiny GGUF (structure) and, marked slow, on the real Qwen2.5-Coder-1.5B (text).
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from sarcgen.backends.fake import FakeBackend
from sarcgen.finetune.data import load_base_data, source_key
from sarcgen.finetune.evalsets import load_challenge_sets
from sarcgen.generate.grounding import edit_size, load_sources
from sarcgen.generate.run import dry_run, generate_run
from sarcgen.jsonl import read_jsonl
from sarcgen.recipe import load_recipe
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "recipes" / "smoke.yaml")
WORDS = "the film was slow and the acting felt flat while the plot wandered around for far too long".split()
PRAISE = "a warm film with great acting and a plot that kept me guessing until the very end".split()


def planted_eval_text() -> str:
    """A short sentence of the built-in challenge pairs: an evaluation text that must never be a source."""
    seen = next(s for s in load_challenge_sets(boundary=False) if s.name == "challenge_seen")
    return next(t for t, y in zip(seen.texts, seen.labels) if y == 0 and 12 <= len(t.split()) <= 35)


def write_sources(path: Path, n: int = 40, extra: list[tuple[str, int]] = ()) -> Path:
    rng = random.Random(0)
    rows = [(" ".join(rng.sample(WORDS, 16)) + f" review {i}.", 0) for i in range(n)]
    rows += [(" ".join(rng.sample(PRAISE, 16)) + f" praise {i}.", 1) for i in range(n)]
    rows += list(extra)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def rewrite_recipe(tmp_path: Path, **more):
    src = write_sources(tmp_path / "sources.csv", extra=[(planted_eval_text(), 0)])
    ov = {"generate.grounding.mode": "rewrite", "generate.grounding.sources": str(src), "generate.twin_ratio": 1.0,
          "output_dir": str(tmp_path / "out"), **more}
    return load_recipe(SMOKE, ov)


def edit_reply(req) -> str:
    """A fake writer that edits the source it is given (the last user message's review)."""
    user = req.messages[-1]["content"]
    source = user.split("review: ", 1)[1].split("\n", 1)[0]
    return "Oh great, " + " ".join(reversed(source.split()))


def test_rewrite_plan_draws_each_source_once_by_label_and_never_an_eval_text(tmp_path: Path) -> None:
    rec = rewrite_recipe(tmp_path)
    from sarcgen.generate.grounded_plan import plan_for

    items = plan_for(rec).items(80)  # 40 groups: every source of each label once
    assert all(it.genre == "unknown" for it in items)
    by_label: dict[int, Counter] = {0: Counter(), 1: Counter()}
    for it in items:
        assert it.source_label == it.label and it.source_text and it.source_key == source_key(it.source_text)
        by_label[it.label][it.source_key] += 1
    assert max(by_label[0].values()) == 1 and max(by_label[1].values()) == 1  # no repeat within a pass
    assert len(by_label[0]) == 40 and len(by_label[1]) == 40
    planted = source_key(planted_eval_text())
    assert planted not in by_label[0]  # the evaluation sentence was taken out of the pool
    assert plan_for(rec).items(80) == items  # a pure function of settings and seed: resume sees the same plan


def test_sources_from_an_imdb_folder_come_from_its_train_files_only(tmp_path: Path) -> None:
    d = tmp_path / "imdb"
    d.mkdir()
    write_sources(d / "train.csv", n=30)
    with (d / "test.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["text", "label"]] + [[f"test review number {i} " + " ".join(WORDS[:14]), i % 2]
                                                        for i in range(40)])
    pool = load_sources(str(d), (("short", 12, 35),), ())
    texts = [s.text for b in pool.buckets.values() for s in b]
    assert len(texts) == 60 and not any(t.startswith("test review") for t in texts)


def test_rewrite_run_keeps_provenance_rejects_copies_and_resumes(tmp_path: Path) -> None:
    rec = rewrite_recipe(tmp_path, **{"generate.n": 4})
    out = tmp_path / "run"
    backend = FakeBackend(edit_reply)
    s = generate_run(rec, out_dir=out, backend=backend, progress=False)
    assert s.accepted == 4
    recs = list(read_jsonl(out / "generated.jsonl"))
    for r in recs:
        src = r["provenance"]["source"]
        assert src["label"] == r["label"] and len(src["key"]) == 16 and 0 < src["edit"] <= 1
    # the prompt-copy guard does not reject a rewrite for reusing its source's words
    assert not (out / "rejected.jsonl").exists() or not list(read_jsonl(out / "rejected.jsonl"))
    assert "recipe.yaml" in {p.name for p in out.iterdir()}
    # resume to 8: the first four untouched, the new ones continue the same plan
    rec8 = rec.model_copy(update={"generate": rec.generate.model_copy(update={"n": 8})})
    generate_run(rec8, out_dir=out, backend=FakeBackend(edit_reply), progress=False)
    again = list(read_jsonl(out / "generated.jsonl"))
    assert again[:4] == recs and len(again) == 8 and len({r["id"] for r in again}) == 8

    # a writer that returns its source unchanged is rejected with its own reason
    def copy_reply(req) -> str:
        return req.messages[-1]["content"].split("review: ", 1)[1].split("\n", 1)[0]

    with pytest.raises(Exception, match="unchanged_source"):
        generate_run(rec, out_dir=tmp_path / "copy", backend=FakeBackend(copy_reply), progress=False)
    rej = list(read_jsonl(tmp_path / "copy" / "rejected.jsonl"))
    assert rej and all(r["reason"] == "unchanged_source" for r in rej)


def test_edit_size() -> None:
    assert edit_size("a b c d", "a b c d") == 0.0
    assert edit_size("a b c d", "w x y z") == 1.0
    assert 0 < edit_size("the film was slow", "the film was wonderfully slow") < 0.5


def test_examples_replace_the_fixed_few_shots(tmp_path: Path) -> None:
    ex = tmp_path / "examples.jsonl"
    rows = [{"text": f"Oh sure, a masterpiece of boredom number {i}.", "label": 0, "device": "deadpan"} for i in range(6)]
    rows += [{"text": f"Truly lovely film number {i}.", "label": 1} for i in range(3)]
    ex.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rec = load_recipe(SMOKE, {"generate.grounding.examples": str(ex), "generate.grounding.examples_block": 2})
    shown = dry_run(rec, 6)
    first = [m["content"] for m in shown[0][1] if m["role"] == "assistant"]
    assert len(first) == 3 and sum("masterpiece of boredom" in t for t in first) == 2
    assert not any("long tax audit" in m["content"] for _, msgs in shown for m in msgs)  # the fixed ones are gone
    # groups 0 and 1 share a draw (and so a cached prefix); group 2 draws again
    prefix = [msgs[:-1] for item, msgs in shown]
    groups = [item.group_index for item, _ in shown]
    same = {g: prefix[i] for i, g in enumerate(groups)}
    assert same[0] == same[1]
    assert [m for m in shown[0][1] if "Technique: deadpan" in m["content"]]


def test_bad_grounding_inputs_fail_in_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["generate", "-r", SMOKE, "--examples", str(tmp_path / "none.csv"), "--dry-run"], capsys)
    assert code == 2 and "none.csv: examples file not found" in err
    only_pos = tmp_path / "pos.csv"
    only_pos.write_text("text,label\nA fine film.,1\n")
    code, _, err = run_cli(["generate", "-r", SMOKE, "--examples", str(only_pos), "--dry-run"], capsys)
    assert code == 2 and "no example with label 0" in err
    code, _, err = run_cli(["generate", "-r", SMOKE, "--mode", "rewrite", "--dry-run"], capsys)
    assert code == 2 and "--sources" in err
    long_only = tmp_path / "long.csv"
    long_only.write_text("text,label\n" + "".join(f"{' '.join(['word'] * 200)} {i},{i % 2}\n" for i in range(4)))
    code, _, err = run_cli(["generate", "-r", SMOKE, "--mode", "rewrite", "--sources", str(long_only), "--dry-run"], capsys)
    assert code == 2 and "long.csv" in err and "'short'" in err


def test_cli_rewrite_with_the_fake_backend(tmp_path: Path, capsys) -> None:
    src = write_sources(tmp_path / "s.csv")
    code, out, err = run_cli(["generate", "-r", SMOKE, "--backend", "fake", "--mode", "rewrite", "--sources", str(src),
                              "--n", "2", "--out", str(tmp_path / "r"), "-q"], capsys)
    assert code == 0, err
    recs = list(read_jsonl(tmp_path / "r" / "generated.jsonl"))
    assert len(recs) == 2 and all(r["provenance"]["source"]["key"] for r in recs)


def test_comparison_keeps_sources_out_of_validation_and_test(tmp_path: Path) -> None:
    d = tmp_path / "imdb"
    d.mkdir()
    write_sources(d / "train.csv", n=30)
    write_sources(d / "test.csv", n=30)  # the same texts in test: a source must leave both pools
    first = load_base_data(str(d), "x", 10, 10, 10, 42)
    keys = {source_key(t) for t in first.validation.texts[:3] + first.test.texts[:2]}
    again = load_base_data(str(d), "x", 10, 10, 10, 42, sources=keys)
    assert again.removed["rewrite sources"] == 5 + 5  # three+two keys, each in both files
    drawn = {source_key(t) for t in again.train.texts + again.validation.texts + again.test.texts}
    assert not drawn & keys


def test_published_rows_carry_the_source(tmp_path: Path) -> None:
    from sarcgen.finetune.synthetic_data import load_synthetic_splits, source_keys

    rec = rewrite_recipe(tmp_path, **{"generate.n": 6})
    generate_run(rec, out_dir=tmp_path / "run", backend=FakeBackend(edit_reply), progress=False)
    splits = load_synthetic_splits(str(tmp_path / "run" / "generated.jsonl"))
    keys = source_keys(splits)
    recs = list(read_jsonl(tmp_path / "run" / "generated.jsonl"))
    assert keys == {r["provenance"]["source"]["key"] for r in recs}
    from sarcgen.publish.schema import features, record_to_row
    from sarcgen.records import Review

    row = record_to_row(Review.model_validate(recs[0]))
    assert row["source_key"] == recs[0]["provenance"]["source"]["key"] and set(row) == set(features())


# -- the real llama-cpp-python path ---------------------------------------------------------------


def _start_rewrite(tmp_path: Path, model: Path, src: Path, out: Path, n: int, *extra: str):
    import os
    import signal
    import subprocess
    import sys

    recipe = tmp_path / "smoke-4k.yaml"  # the tiny GGUF's small vocabulary makes ~1,950-token prompts
    recipe.write_text(Path(SMOKE).read_text().replace("n_ctx: 2048", "n_ctx: 4096"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "SARCGEN_CACHE_DIR": str(tmp_path / "c")}
    return subprocess.Popen([sys.executable, "-m", "sarcgen.cli", "generate", "-r", str(recipe), "--model", str(model),
                             "--mode", "rewrite", "--sources", str(src), "--n", str(n), "--out", str(out),
                             "--threads", "1", "-q", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.llama
def test_rewrite_on_the_tiny_gguf_killed_and_resumed(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    import signal
    import time

    src = write_sources(tmp_path / "s.csv", n=200)
    dev = REPO / "benchmarks" / "data" / "sarcasm_dev.jsonl"  # the user's own examples as few-shots, too
    out, n = tmp_path / "run", 120
    gen = out / "generated.jsonl"
    proc = _start_rewrite(tmp_path, tiny_gguf, src, out, n, "--examples", str(dev))
    end = time.monotonic() + 120
    while len(gen.read_text().splitlines() if gen.exists() else []) < 6:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end, "no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    raw = gen.read_bytes()
    durable = raw[: raw.rfind(b"\n") + 1]
    proc = _start_rewrite(tmp_path, tiny_gguf, src, out, n, "--examples", str(dev))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert gen.read_bytes().startswith(durable)
    recs = list(read_jsonl(gen))
    assert len(recs) == n == len({r["id"] for r in recs})
    from sarcgen.generate.grounded_plan import plan_for
    from sarcgen.runfolder import resolve_recipe

    plan = plan_for(resolve_recipe(None, out, stage="generate").recipe)
    by_id = {it.id: it for g in range(400) for it in plan.group(g)}
    for r in recs:  # each record's source is the one its plan item draws, before and after the kill
        assert r["provenance"]["source"]["key"] == by_id[r["id"]].source_key
    assert "recipe.yaml" in {p.name for p in out.iterdir()}
    assert "sources: " + str(src) in (out / "recipe.yaml").read_text()
    assert all(r["provenance"]["examples"] == 3 for r in recs)  # few-shots drawn from the examples file


@pytest.fixture(scope="session")
def qwen_gguf() -> Path:
    """The real Qwen2.5-Coder-1.5B-Instruct GGUF (1.1 GB), assembled once by
    ../shared/tools/get-qwen2.5-1.5b.sh into ~/.cache/sarcgen/models ($SARCGEN_QWEN_GGUF wins)."""
    import os
    import subprocess

    env = os.environ.get("SARCGEN_QWEN_GGUF")
    if env and Path(env).is_file():
        return Path(env)
    for parent in REPO.parents:
        script = parent / "shared" / "tools" / "get-qwen2.5-1.5b.sh"
        if script.is_file():
            dest = Path.home() / ".cache" / "sarcgen" / "models"
            dest.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(["bash", str(script), str(dest)], capture_output=True, text=True, timeout=1200)
            assert done.returncode == 0, done.stderr[-2000:]
            return Path(done.stdout.strip().splitlines()[-1])
    if os.environ.get("CI"):
        pytest.fail("../shared/tools/get-qwen2.5-1.5b.sh not found in CI")
    pytest.skip("the Qwen2.5-1.5B GGUF is not available (../shared/tools/get-qwen2.5-1.5b.sh)")


@pytest.mark.slow
def test_rewrite_with_the_real_qwen_writer(tmp_path: Path, qwen_gguf: Path, imdb_dir: Path, capsys) -> None:
    """Two groups (sarcastic rewrite + sincere twin) from real IMDB train reviews by the real 1.5B writer."""
    dev = REPO / "benchmarks" / "data" / "sarcasm_dev.jsonl"
    code, out, err = run_cli(["generate", "-r", SMOKE, "--model", str(qwen_gguf), "--mode", "rewrite", "--sources",
                              str(imdb_dir), "--examples", str(dev), "--n", "4", "--parallel", "4", "--twin-ratio", "1",
                              "--max-retries", "1", "--out", str(tmp_path / "q"), "-q"], capsys)
    assert code == 0, err
    recs = list(read_jsonl(tmp_path / "q" / "generated.jsonl"))
    assert len(recs) == 4
    for r in recs:
        src = r["provenance"]["source"]
        assert src["label"] == r["label"] and src["edit"] >= 0.1 and 12 <= src["words"] <= 35
        assert "Real negative review" not in r["text"] and "Rewrite" not in r["text"]
        assert r["provenance"]["examples"] == 3
    assert {r["label"] for r in recs} == {0, 1}
