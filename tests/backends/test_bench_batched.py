"""benchmarks/bench_batched_peer.py and its sarcgen side: the figures it reports are what they say.

The side runs the real batched backend on the tiny random GGUF (the 0.6B model and the C++ peer are
the benchmark's own business); the per-round summary and the step breakdown are checked on rows
whose answers are known.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_batched_peer  # noqa: E402
import bench_batched_side  # noqa: E402

from sarcgen.backends.base import GenerationRequest  # noqa: E402

pytestmark = pytest.mark.llama


def _requests(n: int) -> list[GenerationRequest]:
    # Seeds 16-18: the tiny model's small vocabulary makes an end-of-generation token likely; with
    # these every request runs to max_tokens, as the side requires (it times pure decode steps).
    return [GenerationRequest(key=f"r{i}", messages=[{"role": "system", "content": "Write sarcastic reviews. " * 8},
                                                     {"role": "user", "content": f"Review {i} of a film."}],
                              seed=16 + i, max_tokens=12) for i in range(n)]


def test_side_splits_decode_steps_and_runs_the_peer_loop(tiny_gguf: Path, llama_cpp) -> None:
    job = bench_batched_peer.side_job(tiny_gguf, _requests(3), threads=1, flash_attn=0, kv_unified=False,
                                      engine_loop=True)
    out = bench_batched_side.run(job)
    # 12 new tokens each: the first is sampled from the prompt step, the other 11 need a pure decode step.
    assert out["decode_steps"] == 11
    assert out["decode_tps"] == pytest.approx(3 * 11 / out["decode_seconds"])
    assert 0 < out["decode_call_seconds"] + out["sample_seconds"] <= out["decode_seconds"]
    assert out["engine_loop_tps"] > 0 and out["prompt_tps"] > 0 and out["kv_size"] > 0
    assert out["prompt_tokens"] > 0 and out["mean_prompt_tokens"] > out["prompt_tokens"]  # prefix + tails


def test_side_process_gives_the_same_texts_with_and_without_its_timers(tiny_gguf: Path, llama_cpp) -> None:
    """The benchmark's own side process (run_sarcgen) and, in this process, the wrapped step methods
    plus the engine loop (run after generation) give the same outputs."""
    reqs = _requests(2)
    kw = {"threads": 1, "flash_attn": 0, "kv_unified": False}
    own_process = bench_batched_peer.run_sarcgen(ROOT, tiny_gguf, reqs, **kw)
    in_process = bench_batched_side.run(bench_batched_peer.side_job(tiny_gguf, reqs, engine_loop=True, **kw))
    assert own_process["texts_sha"] == in_process["texts_sha"]


def _row(rnd: int, b: int, sarcgen: float, peer: float) -> dict:
    side = {"decode_tps": sarcgen, "prompt_tps": 150.0, "prompt_tokens": 600, "decode_steps": 10,
            "decode_seconds": 10 * b / sarcgen, "decode_call_seconds": 9 * b / sarcgen, "sample_seconds": 0.05,
            "engine_loop_tps": peer}
    return {"round": rnd, "batch": b, "sarcgen": side,
            "peer": {"decode_tps": peer, "prompt_tps": 160.0, "prompt_tokens": 660, "decode_seconds": 10 * b / peer,
                     "tg": 10}}


def test_summary_gives_per_round_ratio_spread_and_step_breakdown() -> None:
    rows = [_row(0, 16, 45.0, 50.0), _row(1, 16, 52.0, 50.0), _row(2, 16, 49.0, 49.0)]
    (s,) = bench_batched_peer.summarise(rows, [16], ["sarcgen"])
    assert (s["rounds"], s["ratio_min"], s["ratio_median"], s["ratio_max"]) == (3, 0.9, 1.0, 1.04)
    assert s["sarcgen_tps"] == 49.0 and s["peer_tps"] == 50.0 and s["peer_pp_tokens"] == 660
    (d,) = bench_batched_peer.step_breakdown(rows, [16], ["sarcgen"])
    assert d["step_ms"] == pytest.approx(1000 * 16 / 49.0)  # median over rounds of decode_seconds / steps
    assert d["outside_decode"] == pytest.approx(0.1)
    assert d["peer_step_ms"] == pytest.approx(1000 * 16 / 50.0)
    assert d["engine_loop_step_ms"] == pytest.approx(1000 * 16 / 50.0)
