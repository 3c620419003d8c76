"""The backend factory and the sequential llama.cpp backend on the tiny GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from sarcgen.backends import BACKENDS, create_backend, register_backend
from sarcgen.backends.base import GenerationRequest
from sarcgen.backends.fake import FakeBackend
from sarcgen.backends.llamacpp import ChatTemplate, LlamaCppBackend
from sarcgen.errors import BackendError
from sarcgen.recipe import ModelSpec, load_recipe

MSGS = [{"role": "system", "content": "You write reviews."}, {"role": "user", "content": "One review, please."}]


def test_factory_picks_engines(tmp_path: Path) -> None:
    r = load_recipe(None, {"model": {"path": str(tmp_path / "m.gguf")}, "generate.n_threads": 3, "generate.n_ctx": 1024})
    b = create_backend(r)
    assert isinstance(b, LlamaCppBackend) and b.n_threads == 3 and b.n_ctx == 1024
    assert b.model_spec.path == str(tmp_path / "m.gguf")
    other = ModelSpec(path="judge.gguf")
    assert create_backend(r, other).model_spec == other
    assert isinstance(create_backend(load_recipe(None, {"generate.backend": "fake"})), FakeBackend)


def test_factory_parallel_and_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    r = load_recipe(None, {"generate.parallel": 4})
    try:
        b = create_backend(r)
    except BackendError as exc:  # the batched engine is another module; if absent, say so clearly
        assert "parallel" in str(exc) or "llamacpp_batch" in str(exc)
    else:
        assert type(b).__name__ == "BatchedLlamaCppBackend"
    made = []
    monkeypatch.setitem(BACKENDS, "fake", lambda recipe, spec: made.append(spec) or FakeBackend(["x"]))
    assert isinstance(create_backend(load_recipe(None, {"generate.backend": "fake"})), FakeBackend) and made == [None]
    register_backend("fake", "sarcgen.backends.nothing_here:Nope")
    with pytest.raises(BackendError, match="not available"):
        create_backend(load_recipe(None, {"generate.backend": "fake"}))


def test_chat_template_rendering_and_fallback() -> None:
    qwen3 = ChatTemplate("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                         "{% if add_generation_prompt %}<|im_start|>assistant\n"
                         "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}")
    out = qwen3.render(MSGS)
    assert out.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") and not qwen3.is_fallback
    for broken in (None, "{% if %}", "{{ raise_exception('no system role') }}"):
        t = ChatTemplate(broken)
        assert t.render(MSGS) == ("<|im_start|>system\nYou write reviews.<|im_end|>\n<|im_start|>user\n"
                                  "One review, please.<|im_end|>\n<|im_start|>assistant\n")
        assert t.is_fallback
    sandboxed = ChatTemplate("{{ messages.__class__.__mro__ }}")
    sandboxed.render(MSGS)
    assert sandboxed.is_fallback  # unsafe access is refused, not executed


def test_not_loaded_is_a_clear_error() -> None:
    b = LlamaCppBackend(ModelSpec(path="x.gguf"))
    for call in (b.info, lambda: b.render(MSGS), lambda: b.complete(GenerationRequest(key="k", messages=MSGS, seed=1))):
        with pytest.raises(BackendError, match="not loaded"):
            call()


@pytest.mark.llama
def test_llamacpp_backend_reuses_the_prompt_prefix(tiny_gguf: Path, llama_cpp, monkeypatch) -> None:
    monkeypatch.setenv("SARCGEN_CACHE_DIR", str(Path(tiny_gguf).parent / "cache"))
    b = LlamaCppBackend(ModelSpec(path=str(tiny_gguf)), n_ctx=1024, n_threads=2)
    b.load()
    try:
        info = b.info()
        assert info.backend == "llamacpp" and info.quantization == "F16" and info.extra["chat_template"] == "gguf"
        assert b.render(MSGS).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        evaluated: list[int] = []
        real_eval = b.llm.eval
        monkeypatch.setattr(b.llm, "eval", lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1])
        long_system = {"role": "system", "content": "You write short movie reviews. " * 20}
        reqs = [GenerationRequest(key=str(i), messages=[long_system, {"role": "user", "content": f"Review {i}."}],
                                  seed=i, max_tokens=12) for i in range(2)]
        first = b.complete(reqs[0])
        n_first = sum(evaluated)
        evaluated.clear()
        second = b.complete(reqs[1])
        assert first.prompt_tokens == second.prompt_tokens > 380
        # the second prompt only evaluates its tail (plus one token per generated token)
        assert sum(evaluated) < 60 < n_first
        assert {first.finish_reason, second.finish_reason} <= {"stop", "length"}
        # seeds decide the sample: the same request twice gives the same text
        assert b.complete(reqs[0]).text == first.text
    finally:
        b.close()
