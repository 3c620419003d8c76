"""BatchedLlamaCppBackend's outputs for fixed seeds, pinned on the tiny random GGUF.

The batched loop is tuned for speed (issue 15); these cases pin what it produced *before* that work,
so a faster loop is provably the same sampler: every request's text, finish reason and token counts
at a fixed `parallel`, with slot reuse (more requests than slots), mixed sampling settings (greedy,
no repeat penalty, top_k 0, stop strings), a warm second call, and the unified KV pool.

The expected values live in tests/backends/data/batch_pinned.json. They depend only on the tiny
GGUF (seed 0) and the llama.cpp build; after a deliberate change of either, regenerate them with
`python -m tests.backends.test_llamacpp_batch_pinned` and say why in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from sarcgen.backends.base import GenerationRequest
from sarcgen.recipe import ModelSpec
from tests.factories import review_requests

pytestmark = pytest.mark.llama

PINNED = Path(__file__).parent / "data" / "batch_pinned.json"


def _mixed(n: int) -> list[GenerationRequest]:
    """Requests that walk every branch of the sampler chain and of the finish logic."""
    out = []
    for i, r in enumerate(review_requests(n, seed0=77)):
        kw: dict[str, Any] = {"max_tokens": 20 + 3 * (i % 4)}
        if i % 5 == 1:
            kw["temperature"] = 0.0
        if i % 5 == 2:
            kw["repeat_penalty"] = 1.0
        if i % 5 == 3:
            kw["top_k"] = 0
            kw["top_p"] = 0.8
        if i % 5 == 4:
            kw["stop"] = ("e", "a")
        out.append(GenerationRequest(**{**r.__dict__, **kw}))
    return out


CASES: dict[str, dict[str, Any]] = {
    "p1": {"parallel": 1, "calls": [("plain", 4)]},
    "p3_reuse": {"parallel": 3, "calls": [("plain", 8)]},
    "p4_mixed_warm": {"parallel": 4, "calls": [("mixed", 10), ("plain", 5)]},
    "p8": {"parallel": 8, "calls": [("mixed", 12)]},
    "p3_unified": {"parallel": 3, "kv_unified": True, "calls": [("mixed", 7)]},
}


def run_case(tiny_gguf: Path, case: dict[str, Any]) -> list[dict[str, list]]:
    from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend

    be = BatchedLlamaCppBackend(
        ModelSpec(path=str(tiny_gguf)), parallel=case["parallel"], n_threads=1, n_ctx=1024,
        kv_unified=case.get("kv_unified", False),
    )
    be.load()
    try:
        calls = []
        for kind, n in case["calls"]:
            reqs = _mixed(n) if kind == "mixed" else review_requests(n)
            calls.append({r.key: [r.text, r.finish_reason, r.prompt_tokens, r.completion_tokens] for r in be.generate(reqs)})
        return calls
    finally:
        be.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_pinned_for_fixed_seeds(tiny_gguf: Path, llama_cpp, name: str) -> None:
    expected = json.loads(PINNED.read_text())[name]
    assert run_case(tiny_gguf, CASES[name]) == expected


if __name__ == "__main__":  # regenerate the pinned outputs (see the module docstring)
    import tempfile

    from sarcgen.devtools.tiny_gguf import write_tiny_qwen3_gguf

    with tempfile.TemporaryDirectory() as d:
        gguf = write_tiny_qwen3_gguf(Path(d) / "tiny-qwen3.gguf", shape="tiny", seed=0)
        data = {name: run_case(gguf, case) for name, case in sorted(CASES.items())}
    PINNED.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {PINNED}", file=sys.stderr)


class ChainPenaltySampler:
    """The sampler chain as it was before issue 15: llama.cpp's own penalties sampler first."""

    def __init__(self, ll: Any, vocab: Any, req: GenerationRequest) -> None:
        from sarcgen.backends.llamacpp_lowlevel import PENALTY_LAST_N, SlotSampler

        self._ll = ll
        inner = SlotSampler(ll, vocab, req)  # top-k ... dist, built the same way
        self.chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if req.repeat_penalty != 1.0:
            n_vocab = ll.llama_vocab_n_tokens(vocab)
            ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, req.repeat_penalty, 0.0, 0.0))
        ll.llama_sampler_chain_add(self.chain, inner.chain)  # the chain takes ownership
        inner.chain = None

    def sample(self, ctx: Any, idx: int) -> int:
        return self._ll.llama_sampler_sample(self.chain, ctx, idx)

    def free(self) -> None:
        self._ll.llama_sampler_free(self.chain)


def test_penalty_outside_the_chain_samples_what_llama_cpps_penalties_sampler_does(
    tiny_gguf: Path, llama_cpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long replies (past the 64-token penalty window), mixed settings: token for token the same."""
    import sarcgen.backends.llamacpp_batch as batch_mod

    reqs = [GenerationRequest(**{**r.__dict__, "max_tokens": 160, "stop": ()}) for r in _mixed(12)]
    # a strong penalty on half of them, so which tokens are in the 64-token window really matters
    reqs = [GenerationRequest(**{**r.__dict__, "repeat_penalty": 2.0}) if i % 2 else r for i, r in enumerate(reqs)]
    case = {"parallel": 4, "calls": []}

    def run() -> dict[str, list]:
        from sarcgen.backends.llamacpp_batch import BatchedLlamaCppBackend

        be = BatchedLlamaCppBackend(ModelSpec(path=str(tiny_gguf)), parallel=case["parallel"], n_threads=1, n_ctx=1024)
        try:
            return {r.key: [r.text, r.finish_reason, r.completion_tokens] for r in be.generate(reqs)}
        finally:
            be.close()

    new = run()
    monkeypatch.setattr(batch_mod, "new_sampler", ChainPenaltySampler)
    old = run()
    assert new == old
    assert max(r[2] for r in new.values()) > 80  # some replies ran well past the penalty window


@pytest.mark.parametrize("penalty", [1.1, 2.0, 0.5])
def test_repeat_penalty_is_bit_identical_to_llama_cpps_sampler(llama_cpp, penalty: float) -> None:
    """Random logits (negative, zero, positive) and accepted tokens from a small range, 400 steps:
    the window (eviction after 64 tokens) and the float32 arithmetic match the C sampler exactly."""
    import ctypes

    import numpy as np

    from sarcgen.backends.llamacpp_lowlevel import PENALTY_LAST_N, RepeatPenalty

    ll = llama_cpp
    n_vocab = 300
    ref = ll.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, penalty, 0.0, 0.0)
    mine = RepeatPenalty(penalty)
    rng = np.random.default_rng(7)
    dt = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
    try:
        for _ in range(400):
            logits = (rng.standard_normal(n_vocab) * 4).astype(np.float32)
            logits[rng.integers(0, n_vocab, 5)] = 0.0
            cand = np.zeros(n_vocab, dtype=dt)
            cand["id"], cand["logit"] = np.arange(n_vocab), logits
            arr = ll.llama_token_data_array(cand.ctypes.data_as(ctypes.POINTER(ll.llama_token_data)), n_vocab, -1, False)
            ll.llama_sampler_apply(ref, ctypes.byref(arr))
            row = logits.copy()
            mine.apply(row)
            assert np.array_equal(row.view(np.uint32), cand["logit"].view(np.uint32))
            tok = int(rng.integers(0, 90))  # repeats within the window, and evictions
            ll.llama_sampler_accept(ref, tok)
            mine.accept(tok)
    finally:
        ll.llama_sampler_free(ref)
