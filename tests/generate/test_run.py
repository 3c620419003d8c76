"""The generate driver with fake backends: records, rejections, retries, resume, out-of-order results."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from sarcgen.backends.base import GenerationRequest, GenerationResult
from sarcgen.backends.fake import FakeBackend
from sarcgen.errors import BackendError, RecipeError
from sarcgen.generate.run import dry_run, generate_run
from sarcgen.jsonl import read_jsonl
from sarcgen.records import Rejection, Review
from sarcgen.runfolder import default_run_dir
from tests.factories import GOOD_REPLY, generate_recipe, run_ids


def test_run_folder_records_and_manifest(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path)
    fake = FakeBackend([GOOD_REPLY])
    s = generate_run(recipe, backend=fake, progress=False)
    run = default_run_dir(recipe)
    assert s.out_dir == run and run == tmp_path / "outputs" / "t-seed1234"
    assert {p.name for p in run.iterdir()} == {"generated.jsonl", "rejected.jsonl", "manifest.json", "recipe.yaml", "generate.log", ".lock"}
    recs = [Review.model_validate(r) for r in read_jsonl(run / "generated.jsonl")]
    assert len(recs) == 6 == s.accepted and len({r.id for r in recs}) == 6
    assert any(not r.sarcastic for r in recs)
    for r in recs:
        assert r.text == GOOD_REPLY and r.label == (0 if r.sarcastic else 1)
        p = r.provenance
        assert p.template_name == "review.j2" and len(p.template_hash) == 64
        assert p.recipe_hash == recipe.hash() and p.model_file == "fake.gguf" and p.backend == "fake"
        assert p.sampling["max_tokens"] == recipe.generate.sampling.max_tokens and p.attempt == 0
    twins = [r for r in recs if not r.sarcastic]
    assert all(t.pair_id and any(r.pair_id == t.pair_id and r.sarcastic for r in recs) for t in twins)
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "complete" and m["accepted"] == 6 and m["recipe_hash"] == recipe.hash()
    assert m["model"]["file"] == "fake.gguf" and m["tokens"]["completion"] > 0 and m["tokens"]["tokens_per_s"] > 0
    assert m["recipe"]["generate"]["n"] == 6 and m["template"]["name"] == "review.j2"
    assert "complete: 6 accepted" in (run / "generate.log").read_text()
    # the prompts sent were the template's: static prefix shared, variable part last
    assert all(r.messages[:-1] == fake.requests[0].messages[:-1] for r in fake.requests)


def test_retries_with_new_seed_then_accept(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path, n=4, max_retries=3)
    first_seeds: dict[str, int] = {}

    def reply(req: GenerationRequest) -> str:
        item = req.key.split("#")[0]
        if item not in first_seeds:
            first_seeds[item] = req.seed
            return "Here is a sarcastic review: " + GOOD_REPLY
        return GOOD_REPLY

    s = generate_run(recipe, backend=FakeBackend(reply), progress=False)
    run = s.out_dir
    rej = [Rejection.model_validate(r) for r in read_jsonl(run / "rejected.jsonl")]
    assert len(rej) == 4 and all(r.reason == "meta_text" and r.attempt == 0 and not r.final for r in rej)
    recs = [Review.model_validate(r) for r in read_jsonl(run / "generated.jsonl")]
    assert all(r.provenance.attempt == 1 and r.provenance.seed != first_seeds[r.id] for r in recs)
    assert s.rejected == {"meta_text": 4}


def test_exhausted_item_is_skipped_and_run_continues(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path, n=5, max_retries=2)

    def reply(req: GenerationRequest) -> GenerationResult | str:
        if req.key.startswith("000000-s"):
            return GenerationResult(key=req.key, text="Great movie, if you", finish_reason="length")
        return GOOD_REPLY

    s = generate_run(recipe, backend=FakeBackend(reply), progress=False)
    rej = read_jsonl(s.out_dir / "rejected.jsonl")
    assert [(r["attempt"], r["final"], r["reason"]) for r in rej] == [(0, False, "truncated"), (1, False, "truncated"), (2, True, "truncated")]
    assert "000000-s" not in run_ids(s.out_dir) and len(run_ids(s.out_dir)) == 5 and s.exhausted == 1
    # resuming does not retry the exhausted item again
    fake = FakeBackend([GOOD_REPLY])
    generate_run(generate_recipe(tmp_path, n=6, max_retries=2), backend=fake, progress=False)
    assert not any(r.key.startswith("000000-s") for r in fake.requests)
    assert len(run_ids(s.out_dir)) == 6


def test_resume_continues_without_duplicates(tmp_path: Path) -> None:
    generate_run(generate_recipe(tmp_path, n=3), backend=FakeBackend([GOOD_REPLY]), progress=False)
    run = default_run_dir(generate_recipe(tmp_path))
    before = (run / "generated.jsonl").read_text()
    # a crash mid-write leaves half a line: it is cut off, and that item is generated again
    with (run / "generated.jsonl").open("a") as fh:
        fh.write('{"id": "000099-s", "text": "half')
    fake = FakeBackend([GOOD_REPLY])
    s = generate_run(generate_recipe(tmp_path, n=7), backend=fake, progress=False)
    assert s.resumed and s.accepted == 7 and s.new_accepted == 4 and len(fake.requests) == 4
    got = run_ids(run)
    assert len(got) == 7 == len(set(got))
    assert (run / "generated.jsonl").read_text().startswith(before)
    m = json.loads((run / "manifest.json").read_text())
    assert len(m["sessions"]) == 2 and m["accepted"] == 7
    # already complete: nothing to do, the backend is not even loaded
    idle = FakeBackend([GOOD_REPLY])
    assert generate_run(generate_recipe(tmp_path, n=7), backend=idle, progress=False).new_accepted == 0
    assert not idle.loaded and not idle.requests


def test_resume_refuses_another_recipe(tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate_run(generate_recipe(tmp_path, n=2), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    with pytest.raises(RecipeError, match="another recipe"):
        generate_run(generate_recipe(tmp_path, n=2, twin_ratio=0.1), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    with pytest.raises(RecipeError, match="shard"):
        generate_run(generate_recipe(tmp_path, n=2), backend=FakeBackend([GOOD_REPLY]), out_dir=out, shard="0/2", progress=False)


class ReorderingBackend(FakeBackend):
    """Pulls up to `slots` requests before answering, then answers in reverse (like a batched engine)."""

    def __init__(self, replies, slots: int = 4) -> None:
        super().__init__(replies)
        self.slots = slots

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        it = iter(requests)
        pending: list[GenerationRequest] = []
        while True:
            while len(pending) < self.slots:
                req = next(it, None)
                if req is None:
                    break
                pending.append(req)
            if not pending:
                return
            req = pending.pop()  # newest first
            yield from super().generate([req])


def test_out_of_order_parallel_results(tmp_path: Path) -> None:
    n = 0

    def reply(req: GenerationRequest) -> str:
        nonlocal n
        n += 1
        return "" if n % 3 == 0 else GOOD_REPLY  # some empties force retries in later rounds

    recipe = generate_recipe(tmp_path, n=11)
    backend = ReorderingBackend(reply, slots=4)
    s = generate_run(recipe, backend=backend, progress=False)
    got = run_ids(s.out_dir)
    assert len(got) == 11 == len(set(got)) == s.accepted
    assert got != sorted(got)  # really came back out of order
    rej = read_jsonl(s.out_dir / "rejected.jsonl")
    assert rej and all(r["reason"] == "empty" for r in rej)
    # never more requests than needed: each request was either accepted or rejected
    assert len(backend.requests) == 11 + len(rej)


def test_backend_errors_stop_the_run_cleanly(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path, n=5, max_retries=20)
    fail = FakeBackend(lambda req: GenerationResult(key=req.key, text="", finish_reason="error", error="boom"))
    with pytest.raises(BackendError, match="in a row"):
        generate_run(recipe, backend=fail, progress=False)
    m = json.loads((default_run_dir(recipe) / "manifest.json").read_text())
    assert m["status"] == "failed" and m["counts"]["reasons"] == {"backend_error": 8}
    assert not fail.loaded  # closed


def test_hopeless_run_stops(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path, n=3, max_retries=0)
    with pytest.raises(BackendError, match="used up all their retries"):
        generate_run(recipe, backend=FakeBackend(["As an AI, I cannot."]), progress=False)


def test_interrupt_marks_manifest_and_resumes(tmp_path: Path) -> None:
    calls = 0

    def reply(req: GenerationRequest) -> str:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return GOOD_REPLY

    recipe = generate_recipe(tmp_path, n=6)
    with pytest.raises(KeyboardInterrupt):
        generate_run(recipe, backend=FakeBackend(reply), progress=False)
    run = default_run_dir(recipe)
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"
    assert len(run_ids(run)) == 3
    s = generate_run(recipe, backend=FakeBackend([GOOD_REPLY]), progress=False)
    assert s.status == "complete" and len(set(run_ids(run))) == 6 == len(run_ids(run))


def test_dry_run_loads_nothing(tmp_path: Path) -> None:
    recipe = generate_recipe(tmp_path)
    shown = dry_run(recipe, 4)
    assert len(shown) == 4 and [i.plan_index for i, _ in shown] == sorted(i.plan_index for i, _ in shown)
    assert all(m[-1]["role"] == "user" for _, m in shown)
    assert not (tmp_path / "outputs").exists()


def test_same_seed_same_plan_and_seeds(tmp_path: Path) -> None:
    a = generate_run(generate_recipe(tmp_path, n=5), backend=FakeBackend([GOOD_REPLY]), out_dir=tmp_path / "a", progress=False)
    b = generate_run(generate_recipe(tmp_path, n=5), backend=FakeBackend([GOOD_REPLY]), out_dir=tmp_path / "b", progress=False)
    def strip(run: Path) -> list[tuple[str, str, str, int]]:
        return [(r["id"], r["device"], r["cue"], r["provenance"]["seed"]) for r in read_jsonl(run / "generated.jsonl")]
    assert strip(a.out_dir) == strip(b.out_dir)


def test_factory_fake_backend(tmp_path: Path) -> None:
    s = generate_run(generate_recipe(tmp_path, n=2), progress=False)  # backend: fake from the recipe
    assert s.accepted == 2


def test_two_runs_cannot_write_one_folder(tmp_path: Path) -> None:
    from sarcgen.errors import InputError
    from sarcgen.runfolder import lock_folder

    out = tmp_path / "run"
    out.mkdir()
    held = lock_folder(out)
    try:
        with pytest.raises(InputError, match="another sarcgen generate"):
            generate_run(generate_recipe(tmp_path, n=2), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False)
    finally:
        held.close()
    assert generate_run(generate_recipe(tmp_path, n=2), backend=FakeBackend([GOOD_REPLY]), out_dir=out, progress=False).accepted == 2


def test_a_reply_that_copies_a_few_shot_example_is_rejected_as_prompt_copy(tmp_path: Path) -> None:
    """SmolLM2-135M answered a sarcastic item with the prompt's sincere example, verbatim."""
    sincere_example = ("The two leads are brilliant together: every argument feels real and their timing had the "
                       "whole theater laughing. I left wanting a sequel.")
    replies = iter([sincere_example, "Many thanks to the writers for dialogue so wooden that the haunted house could "
                    "have used it for firewood. I have never been so relaxed during a horror movie, honestly.", GOOD_REPLY])
    recipe = generate_recipe(tmp_path, n=1, twin_ratio=0.0)
    s = generate_run(recipe, backend=FakeBackend(lambda req: next(replies)), progress=False)
    assert s.accepted == 1 and s.rejected == {"prompt_copy": 2}
    rej = [Rejection.model_validate(r) for r in read_jsonl(s.out_dir / "rejected.jsonl")]
    assert [r.reason for r in rej] == ["prompt_copy", "prompt_copy"]
    assert "few-shot example 2" in rej[0].detail and "few-shot example 1" in rej[1].detail
    assert [Review.model_validate(r).text for r in read_jsonl(s.out_dir / "generated.jsonl")] == [GOOD_REPLY]
