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
from tests.backends.test_llamacpp_batch import _requests

pytestmark = pytest.mark.llama

PINNED = Path(__file__).parent / "data" / "batch_pinned.json"


def _mixed(n: int) -> list[GenerationRequest]:
    """Requests that walk every branch of the sampler chain and of the finish logic."""
    out = []
    for i, r in enumerate(_requests(n, seed0=77)):
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
            reqs = _mixed(n) if kind == "mixed" else _requests(n)
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
