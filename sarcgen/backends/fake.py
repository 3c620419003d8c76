"""A queue-driven fake backend for fast unit tests (the real path is tested on a tiny GGUF).

Replies come from a list (cycled) or a callable `reply(request) -> str | GenerationResult`. Every
request is recorded in `.requests` so tests can assert on the prompts that were sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo

if TYPE_CHECKING:  # pragma: no cover
    from sarcgen.recipe import ModelSpec, Recipe

Reply = str | GenerationResult


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, replies: list[Reply] | Callable[[GenerationRequest], Reply] | None = None) -> None:
        self._replies = replies if replies is not None else ["Great movie, if you enjoy watching paint dry."]
        self.requests: list[GenerationRequest] = []
        self.loaded = False
        self._i = 0

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> FakeBackend:
        """The default replies: a recipe has no section for the fake backend."""
        return cls()

    def load(self) -> None:
        self.loaded = True

    def info(self) -> ModelInfo:
        return ModelInfo(
            model_file="fake.gguf", model_sha256="0" * 64, quantization=None, backend="fake", backend_version="0"
        )

    def _next(self, req: GenerationRequest) -> Reply:
        if callable(self._replies):
            return self._replies(req)
        reply = self._replies[self._i % len(self._replies)]
        self._i += 1
        return reply

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        for req in requests:
            self.requests.append(req)
            reply = self._next(req)
            if isinstance(reply, GenerationResult):
                yield GenerationResult(**{**reply.__dict__, "key": req.key})
            else:
                yield GenerationResult(
                    key=req.key, text=reply, prompt_tokens=50, completion_tokens=max(1, len(reply.split()))
                )

    def close(self) -> None:
        self.loaded = False
