"""The tiny random-weight Qwen3 GGUF is a real GGUF that real llama-cpp-python runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sarcgen.backends.gguf import read_gguf_header
from sarcgen.devtools.tiny_gguf import QWEN3_CHAT_TEMPLATE, write_tiny_qwen3_gguf


def test_tiny_gguf_header(tiny_gguf: Path) -> None:
    h = read_gguf_header(tiny_gguf)
    assert h.architecture == "qwen3"
    assert h.quantization == "F16"
    assert h.chat_template == QWEN3_CHAT_TEMPLATE
    assert h.expected_size == tiny_gguf.stat().st_size
    assert tiny_gguf.stat().st_size < 1_000_000
    assert h.metadata["tokenizer.ggml.model"] == "gpt2"
    assert h.metadata["tokenizer.ggml.pre"] == "qwen2"


def test_tiny_gguf_is_deterministic(tmp_path: Path, tiny_gguf: Path) -> None:
    again = write_tiny_qwen3_gguf(tmp_path / "again.gguf", seed=0)
    assert again.read_bytes() == tiny_gguf.read_bytes()


def test_chat_template_honours_enable_thinking() -> None:
    import jinja2

    t = jinja2.Environment().from_string(QWEN3_CHAT_TEMPLATE)
    msgs = [{"role": "user", "content": "hi"}]
    off = t.render(messages=msgs, add_generation_prompt=True, enable_thinking=False)
    on = t.render(messages=msgs, add_generation_prompt=True)
    assert off == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert on == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.llama
def test_llama_cpp_runs_tiny_gguf(tiny_gguf: Path, llama_cpp) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_gguf), n_ctx=512, n_threads=2, verbose=False)
    try:
        # Byte-level BPE with merges: "the" is one token, specials are recognised.
        assert len(llm.tokenize(b" the", add_bos=False)) == 1
        ids = llm.tokenize(b"<|im_start|>user", add_bos=False, special=True)
        assert ids[0] == llm.token_eos() - 1  # <|im_start|> sits right before <|im_end|>
        assert llm.metadata["tokenizer.chat_template"] == QWEN3_CHAT_TEMPLATE
        out = llm.create_completion("<|im_start|>user\nWrite a review<|im_end|>\n<|im_start|>assistant\n",
                                    max_tokens=16, seed=3)
        assert out["usage"]["completion_tokens"] >= 1
        chat = llm.create_chat_completion(messages=[{"role": "user", "content": "hello"}], max_tokens=16, seed=3)
        assert chat["choices"][0]["finish_reason"] in ("stop", "length")
        assert chat["usage"]["completion_tokens"] >= 1
    finally:
        llm.close()
