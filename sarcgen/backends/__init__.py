"""Generation backends: one small interface, several engines.

- `llamacpp`: in-process llama-cpp-python on a local GGUF (sequential, or `parallel` sequences).
- `openai`: any OpenAI-compatible server (llama-server, vLLM, llama_cpp.server).
- `fake`: a queue-driven stand-in for fast tests.

Several `base_url`s make the openai backend a fleet (`fleet.FleetBackend`); `executor: ray` runs
the engine in Ray workers (`ray_pool.RayPool`); both route with `pool.ReplicaPool`.

Each backend is one `BackendSpec` in `registry` (name, factory, options model), registered once;
a third-party package adds one through the `sarcgen.backends` entry point group, or code calls
`register_backend(BackendSpec(...))`. `create_backend(recipe)` builds the one
`recipe.generate.backend` names; factories are "module:Class" strings imported only when chosen,
so `sarcgen --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.registry import BACKENDS, BackendFactory, BackendSpec, get_spec, load_target, register_backend
from sarcgen.errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from sarcgen.recipe import ModelSpec, Recipe

# Used instead of the llamacpp factory when generate.parallel > 1 (continuous batching).
BATCHED_LLAMACPP = "sarcgen.backends.llamacpp_batch:BatchedLlamaCppBackend"
# Used instead of the openai factory when generate.openai.base_url lists several servers.
FLEET = "sarcgen.backends.fleet:FleetBackend"
# Wraps the chosen engine when generate.executor is "ray": one copy per Ray worker.
RAY_POOL = "sarcgen.backends.ray_pool:RayPool"


def create_backend(recipe: Recipe, model_spec: ModelSpec | None = None) -> Backend:
    """A backend for `recipe.generate` (not loaded yet: call `.load()`).

    `model_spec` overrides `recipe.model` (the filter stage's judge may use another model).
    """
    g = recipe.generate
    spec = get_spec(g.backend)
    if g.executor == "ray":
        return load_target(RAY_POOL, "ray executor").from_recipe(recipe, model_spec)
    target, name = spec.factory, spec.name
    if name == "llamacpp" and g.parallel > 1:
        target, name = BATCHED_LLAMACPP, f"llamacpp (parallel={g.parallel})"
    if name == "openai" and isinstance(g.openai.base_url, list):
        from sarcgen.backends.openai import base_urls

        if len(base_urls(g.openai.base_url)) > 1:
            target, name = FLEET, "openai fleet"
    made = load_target(target, name) if isinstance(target, str) else target
    backend = made.from_recipe(recipe, model_spec) if hasattr(made, "from_recipe") else made(recipe, model_spec)
    return checked(backend, f"backend {spec.name!r} made a")


def checked(backend: object, what: str = "the backend given is a") -> Backend:
    """`backend` when it is a sarcgen `Backend`; else one `BackendError` line (what made or passed it)."""
    if not isinstance(backend, Backend):
        raise BackendError(f"{what} {type(backend).__name__}, which is not a sarcgen Backend",
                           "subclass sarcgen.backends.Backend (it gives the optional capabilities their defaults)")
    return backend


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendFactory",
    "BackendSpec",
    "GenerationRequest",
    "GenerationResult",
    "ModelInfo",
    "checked",
    "create_backend",
    "register_backend",
]
