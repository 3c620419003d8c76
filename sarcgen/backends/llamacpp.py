"""In-process llama-cpp-python on a local GGUF, one sequence at a time.

Why `create_completion` on a prompt we render ourselves instead of `create_chat_completion`:
- the chat template comes from the GGUF metadata and is rendered here with
  `enable_thinking=False` (Qwen3 thinking models then skip their `<think>` block), which
  llama-cpp-python's chat handler does not pass;
- every prompt starts with the same system prompt and few-shot examples, and llama-cpp-python's
  `generate` reuses the KV cache for the longest common token prefix with the previous prompt, so
  only the variable tail of each prompt is evaluated (measured: 2.4 s instead of 7.3 s for a
  540-token prompt on 2 cores).
Plain text out, no grammar: JSON-schema grammar sampling is ~8x slower and the attributes are
already known from the plan.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.errors import BackendError, ModelError
from sarcgen.recipe import ModelSpec

if TYPE_CHECKING:
    from llama_cpp import Llama

    from sarcgen.backends.gguf import ResolvedModel
    from sarcgen.recipe import Recipe

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _raise_exception(message: str) -> None:
    raise ValueError(message)


def _strftime_now(fmt: str) -> str:
    return time.strftime(fmt)


class ChatTemplate:
    """A model's Jinja2 chat template rendered in a sandbox (ChatML when missing or broken)."""

    def __init__(self, source: str | None, *, bos_token: str = "", eos_token: str = "") -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals.update(raise_exception=_raise_exception, strftime_now=_strftime_now)
        self.bos_token, self.eos_token = bos_token, eos_token
        self.fallback = env.from_string(CHATML_TEMPLATE)
        self.source = source or CHATML_TEMPLATE
        self.is_fallback = not source
        try:
            self.template = env.from_string(source) if source else self.fallback
        except Exception:  # a template this Jinja cannot parse: ChatML is what Qwen uses anyway
            self.template, self.is_fallback = self.fallback, True

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text for `messages`, ending with the assistant turn opener, thinking off."""
        kw: dict[str, object] = dict(
            messages=messages,
            add_generation_prompt=True,
            enable_thinking=False,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        )
        try:
            return self.template.render(**kw)
        except Exception:
            self.is_fallback = True
            self.template = self.fallback
            return self.fallback.render(**kw)


def import_llama_cpp() -> Any:
    """The llama_cpp module (imported on first load, so `import sarcgen` stays fast)."""
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(f"llama-cpp-python is not importable ({exc})", "pip install llama-cpp-python") from None
    return llama_cpp


class LoadedGguf(Protocol):
    """What `gguf_model_info` reads of a llama.cpp backend, sequential or batched (the batched
    module imports this one)."""

    name: str
    resolved: ResolvedModel | None
    chat: ChatTemplate | None
    _version: str


def gguf_model_info(backend: LoadedGguf, **extra: object) -> ModelInfo:
    """Provenance of a loaded llama.cpp backend (sequential or batched): the resolved GGUF file,
    its hash and quantization, the llama-cpp-python version, and `extra` engine settings."""
    r = backend.resolved
    if r is None:
        raise BackendError("the llama.cpp backend is not loaded yet", "call load() first")
    return ModelInfo(
        model_file=r.file_name,
        model_sha256=r.sha256,
        quantization=r.quantization,
        backend=backend.name,
        backend_version=backend._version,
        extra={
            "path": str(r.path),
            "source": r.source,
            "size": r.size,
            "architecture": r.header.architecture,
            **extra,
            "chat_template": "chatml-fallback" if backend.chat and backend.chat.is_fallback else "gguf",
        },
    )


class LlamaCppBackend(Backend):
    """Sequential llama-cpp-python backend. `load()` resolves, validates and loads the GGUF."""

    name = "llamacpp"

    def __init__(
        self,
        model_spec: ModelSpec,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        n_batch: int = 512,
        verbose: bool = False,
    ) -> None:
        self.model_spec = model_spec
        self.n_ctx: int = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_gpu_layers = n_gpu_layers
        self.n_batch = n_batch
        self.verbose = verbose
        self.llm: Llama | None = None
        self.resolved: ResolvedModel | None = None
        self.chat: ChatTemplate | None = None
        self._version = ""

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> LlamaCppBackend:
        g = recipe.generate
        return cls(
            model_spec or recipe.model, n_ctx=g.llamacpp.n_ctx, n_threads=g.llamacpp.n_threads,
            n_gpu_layers=g.llamacpp.n_gpu_layers,
        )

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        from sarcgen.backends.gguf import resolve_model

        if self.llm is not None:
            return
        from sarcgen.backends.llamacpp_log import route_llama_logs

        self.resolved = resolve_model(self.model_spec)
        llama_cpp = import_llama_cpp()
        self._version = getattr(llama_cpp, "__version__", "unknown")
        router = route_llama_logs(llama_cpp, self.verbose)
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(self.resolved.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=self.n_gpu_layers,
                n_batch=self.n_batch,
                verbose=router.echo,
            )
        except Exception as exc:
            raise ModelError(
                f"llama.cpp could not load {self.resolved.path} ({exc}){router.failure_detail()}",
                "check that the file is a llama.cpp GGUF of a supported architecture",
            ) from None
        meta = getattr(self.llm, "metadata", {}) or {}
        self.chat = ChatTemplate(
            meta.get("tokenizer.chat_template") or self.resolved.header.chat_template,
            bos_token=self._token_text(self.llm.token_bos()),
            eos_token=self._token_text(self.llm.token_eos()),
        )

    def _token_text(self, tok: int) -> str:
        if self.llm is None:
            return ""
        try:
            return self.llm.detokenize([tok], special=True).decode("utf-8", errors="ignore")
        except Exception:
            return ""

    def info(self) -> ModelInfo:
        return gguf_model_info(self, n_ctx=self.n_ctx, n_threads=self.n_threads)

    # -- generation ---------------------------------------------------------------------------

    def render(self, messages: list[dict[str, str]]) -> str:
        """The exact prompt text sent to the model for `messages`."""
        if self.chat is None:
            raise BackendError("the llama.cpp backend is not loaded yet", "call load() first")
        return self.chat.render(messages)

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """How many tokens the prompt of `messages` takes (the driver checks it against n_ctx)."""
        if self.llm is None:
            raise BackendError("the llama.cpp backend is not loaded yet", "call load() first")
        return len(self.llm.tokenize(self.render(messages).encode("utf-8"), special=True))

    def complete(self, req: GenerationRequest) -> GenerationResult:
        """Run one request (errors become a result with finish_reason "error", never an exception)."""
        if self.llm is None:
            raise BackendError("the llama.cpp backend is not loaded yet", "call load() first")
        t0 = time.perf_counter()
        try:
            out = self.llm.create_completion(
                self.render(req.messages),
                max_tokens=req.max_tokens,
                temperature=req.temperature,
                top_p=req.top_p,
                top_k=req.top_k,
                min_p=req.min_p,
                repeat_penalty=req.repeat_penalty,
                stop=list(req.stop) or None,
                seed=req.seed,
            )
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a failed request is a rejection, not a crashed run
            return GenerationResult(
                key=req.key, text="", finish_reason="error", seconds=time.perf_counter() - t0, error=str(exc)[:500]
            )
        if not isinstance(out, dict):  # pragma: no cover - a stream: create_completion was not asked for one
            raise BackendError("llama.cpp returned a stream for a single completion")
        choice = out["choices"][0]
        usage = out.get("usage")
        return GenerationResult(
            key=req.key,
            text=choice.get("text") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage["prompt_tokens"]) if usage else 0,
            completion_tokens=int(usage["completion_tokens"]) if usage else 0,
            seconds=time.perf_counter() - t0,
        )

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """One request at a time, in order; pulls the next request only when the last is done."""
        for req in requests:
            yield self.complete(req)

    def close(self) -> None:
        if self.llm is not None:
            close = getattr(self.llm, "close", None)
            if callable(close):
                close()
            self.llm = None
