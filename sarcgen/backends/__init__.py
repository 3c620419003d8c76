"""Generation backends: one small interface, several engines.

- `llamacpp`: in-process llama-cpp-python on a local GGUF (sequential, or `parallel` sequences).
- `openai`: any OpenAI-compatible server (llama-server, vLLM, llama_cpp.server).
- `fake`: a queue-driven stand-in for fast tests.

Several `base_url`s make the openai backend a fleet (`fleet.FleetBackend`); `executor: ray` runs
the engine in Ray workers (`ray_pool.RayPool`); both route with `pool.ReplicaPool`.

`create_backend(recipe)` picks one from `recipe.generate.backend`. Engines are registered in
`BACKENDS` as "module:Class" strings (imported only when chosen, so `sarcgen --help` stays fast);
the class must provide ``from_recipe(recipe, model_spec) -> Backend``. `register_backend` adds one
at run time (tests, plug-ins).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from sarcgen.recipe import ModelSpec, Recipe

BackendFactory: TypeAlias = "Callable[[Recipe, ModelSpec | None], Backend]"
"""Builds a backend from the recipe and the model to use (None: the recipe's)."""

# name -> "module:Class" (or a factory taking (recipe, model_spec)).
BACKENDS: dict[str, str | BackendFactory] = {
    "llamacpp": "sarcgen.backends.llamacpp:LlamaCppBackend",
    "openai": "sarcgen.backends.openai:OpenAIBackend",
    "fake": "sarcgen.backends.fake:FakeBackend",
}
# Used instead of BACKENDS["llamacpp"] when generate.parallel > 1 (continuous batching).
BATCHED_LLAMACPP = "sarcgen.backends.llamacpp_batch:BatchedLlamaCppBackend"
# Used instead of BACKENDS["openai"] when generate.openai.base_url lists several servers.
FLEET = "sarcgen.backends.fleet:FleetBackend"
# Wraps the chosen engine when generate.executor is "ray": one copy per Ray worker.
RAY_POOL = "sarcgen.backends.ray_pool:RayPool"


def register_backend(name: str, factory: str | BackendFactory) -> None:
    """Register an engine: a "module:Class" string or a callable ``(recipe, model_spec) -> Backend``."""
    BACKENDS[name] = factory


def _load(target: str, what: str) -> Any:  # the engine's class: from_recipe is its only contract
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"backend {what!r} is not available ({exc})", "choose another with --backend") from None


def create_backend(recipe: Recipe, model_spec: ModelSpec | None = None) -> Backend:
    """A backend for `recipe.generate` (not loaded yet: call `.load()`).

    `model_spec` overrides `recipe.model` (the filter stage's judge may use another model).
    """
    g = recipe.generate
    name: str = g.backend
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}", f"choose one of {', '.join(sorted(BACKENDS))}")
    target = BACKENDS[name]
    if g.executor == "ray":
        return _load(RAY_POOL, "ray executor").from_recipe(recipe, model_spec)
    if name == "llamacpp" and g.parallel > 1:
        target, name = BATCHED_LLAMACPP, f"llamacpp (parallel={g.parallel})"
    if name == "openai" and isinstance(g.openai.base_url, list):
        from sarcgen.backends.openai import base_urls

        if len(base_urls(g.openai.base_url)) > 1:
            target, name = FLEET, "openai fleet"
    if callable(target):
        return target(recipe, model_spec)
    cls = _load(target, name)
    if name == "fake" and not hasattr(cls, "from_recipe"):
        return cls()
    return cls.from_recipe(recipe, model_spec)


__all__ = [
    "BACKENDS",
    "Backend",
    "GenerationRequest",
    "GenerationResult",
    "ModelInfo",
    "create_backend",
    "register_backend",
]
