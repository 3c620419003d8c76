"""BatchedLlamaCppBackend: the real llama-cpp-python low-level path on the tiny random GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from sarcgen.backends.base import GenerationRequest
from sarcgen.recipe import ModelSpec
from tests.factories import review_requests

pytestmark = pytest.mark.llama

@pytest.fixture
def make_backend(tiny_gguf: Path, llama_cpp):
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend

    made = []

    def make(parallel: int, **kw):
        be = BatchedLlamaCppBackend(ModelSpec(path=str(tiny_gguf)), parallel=parallel, n_threads=1, n_ctx=1024, **kw)
        be.load()
        made.append(be)
        return be

    yield make
    for be in made:
        be.close()


def _run(be, reqs):
    return {r.key: r for r in be.generate(reqs)}


def test_every_request_gets_a_result_with_counts(make_backend) -> None:
    be = make_backend(4)
    reqs = review_requests(10)
    out = _run(be, reqs)
    assert sorted(out) == [r.key for r in reqs]
    for r in out.values():
        assert r.finish_reason in ("stop", "length") and r.error is None
        assert r.prompt_tokens > 20
        assert 0 <= r.completion_tokens <= 24
        if r.finish_reason == "length":
            assert r.completion_tokens == 24
    # more requests than slots: slots were reused, the shared prefix evaluated once and reused
    assert be.stats["prefix_tokens"] > 10
    assert be.stats["reused_tokens"] >= 10 * be.stats["prefix_tokens"] * 0.9
    info = be.info()
    assert info.backend == "llamacpp" and info.extra["parallel"] == 4 and len(info.model_sha256) == 64


def test_reproducible_at_fixed_parallel(make_backend) -> None:
    reqs = review_requests(7)
    a = _run(make_backend(3), reqs)
    b = _run(make_backend(3), reqs)
    assert {k: (r.text, r.finish_reason, r.completion_tokens) for k, r in a.items()} == {
        k: (r.text, r.finish_reason, r.completion_tokens) for k, r in b.items()
    }
    # a second generate() on the same (warm) backend reuses the cached prefix and still agrees
    be = make_backend(3)
    _run(be, review_requests(3, seed0=5))
    c = _run(be, reqs)
    assert {k: r.text for k, r in c.items()} == {k: r.text for k, r in a.items()}


def test_seeds_matter(make_backend) -> None:
    be = make_backend(2)
    reqs = review_requests(4, max_tokens=16)
    other = review_requests(4, max_tokens=16, seed0=9000)
    a, b = _run(be, reqs), _run(be, other)
    assert [a[k].text for k in sorted(a)] != [b[k].text for k in sorted(b)]


def test_parallel_1_and_4_both_complete(make_backend) -> None:
    reqs = review_requests(6)
    one = _run(make_backend(1), reqs)
    four = _run(make_backend(4), reqs)
    assert sorted(one) == sorted(four) == [r.key for r in reqs]
    assert all(r.finish_reason in ("stop", "length") for r in [*one.values(), *four.values()])


def test_results_stream_and_pull_lazily(make_backend) -> None:
    be = make_backend(2)
    pulled = []

    def reqs():
        for r in review_requests(6):
            pulled.append(r.key)
            yield r

    gen = be.generate(reqs())
    first = next(gen)
    assert first.key in pulled and len(pulled) <= 3
    rest = list(gen)
    assert len(rest) == 5 and len(pulled) == 6


def test_greedy_and_stop_strings(make_backend) -> None:
    be = make_backend(2)
    base = review_requests(2, max_tokens=20)
    greedy = [GenerationRequest(**{**r.__dict__, "temperature": 0.0}) for r in base]
    a = _run(be, greedy)
    b = _run(be, [GenerationRequest(**{**r.__dict__, "seed": 42}) for r in greedy])
    assert {k: r.text for k, r in a.items()} == {k: r.text for k, r in b.items()}  # greedy ignores seeds
    text = a["item-000"].text
    if len(text) > 6:
        stop = text[3:6]
        (res,) = list(be.generate([GenerationRequest(**{**greedy[0].__dict__, "stop": (stop,)})]))
        assert res.finish_reason == "stop" and stop not in res.text and text.startswith(res.text)


def test_prompt_too_long_is_an_error_result(make_backend) -> None:
    be = make_backend(2)
    long = GenerationRequest(key="long", messages=[{"role": "user", "content": "word " * 3000}], seed=1)
    out = _run(be, [*review_requests(2), long])
    assert out["long"].finish_reason == "error" and "does not fit" in out["long"].error
    assert out["item-000"].finish_reason in ("stop", "length")


def test_factory_picks_batched_backend_for_parallel(tiny_gguf: Path) -> None:
    from sarcgen.backends import create_backend
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend
    from sarcgen.recipe import load_recipe

    recipe = load_recipe(None, {"model.path": str(tiny_gguf), "generate.parallel": 4, "generate.n_threads": 1})
    be = create_backend(recipe)
    assert isinstance(be, BatchedLlamaCppBackend) and be.parallel == 4 and be.n_threads == 1


def test_parallel_1_matches_the_sequential_backend(make_backend, tiny_gguf: Path) -> None:
    """Same prompt rendering, tokens and sampler chain: at N=1 the replies are the sequential ones."""
    from sarcgen.backends.llamacpp import LlamaCppBackend

    reqs = review_requests(5, max_tokens=30)
    seq = LlamaCppBackend(ModelSpec(path=str(tiny_gguf)), n_threads=1, n_ctx=1024)
    seq.load()
    try:
        expected = {r.key: (r.text, r.finish_reason, r.completion_tokens) for r in seq.generate(reqs)}
    finally:
        seq.close()
    got = {r.key: (r.text, r.finish_reason, r.completion_tokens) for r in make_backend(1).generate(reqs)}
    assert got == expected


def test_unified_kv_pool_mode(make_backend) -> None:
    """kv_unified=True: one KV pool; the prefix cells are shared by every sequence (metadata copy)."""
    reqs = review_requests(9)
    a = _run(make_backend(3, kv_unified=True), reqs)
    b = _run(make_backend(3, kv_unified=True), reqs)
    assert sorted(a) == [r.key for r in reqs]
    assert {k: r.text for k, r in a.items()} == {k: r.text for k, r in b.items()}
    assert all(r.finish_reason in ("stop", "length") for r in a.values())


def _cli(args: list[str]) -> None:
    from sarcgen.cli import main

    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), f"exit {exc.code}"


def test_generate_cli_with_parallel_same_records_and_resume(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    """`sarcgen generate --parallel 3`: the same run folder guarantees as sequential mode."""
    import json

    smoke = str(Path(__file__).resolve().parents[2] / "recipes" / "smoke.yaml")
    base = ["generate", "-r", smoke, "--model", str(tiny_gguf), "--threads", "1", "--parallel", "3", "-q"]

    def records(run: Path) -> list[dict]:
        return [json.loads(x) for x in (run / "generated.jsonl").read_text().splitlines()]

    _cli([*base, "--n", "6", "--out", str(tmp_path / "a")])
    first = records(tmp_path / "a")
    assert len(first) == 6 == len({r["id"] for r in first})
    assert all(r["provenance"]["backend"] == "llamacpp" for r in first)
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["model"]["parallel"] == 3 and m["status"] == "complete"
    # resume to a larger n: the first six stay as they were, three more are added
    _cli([*base, "--n", "9", "--out", str(tmp_path / "a")])
    more = records(tmp_path / "a")
    assert more[:6] == first and len(more) == 9 == len({r["id"] for r in more})
    # the same command twice (same seed, same N): the same records and texts
    for name in ("b", "c"):
        _cli([*base, "--n", "9", "--out", str(tmp_path / name)])
    b, c = records(tmp_path / "b"), records(tmp_path / "c")
    assert [(r["id"], r["text"]) for r in b] == [(r["id"], r["text"]) for r in c]
