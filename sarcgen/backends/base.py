"""The backend protocol every engine implements.

A backend takes chat requests and yields results. `generate` is an iterator in, iterator out, so a
backend that decodes several sequences at once may pull requests as slots free up and yield results
out of order (each result carries its request's `key`). Backends import their engine inside
`load()`, so importing sarcgen stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion to run."""

    key: str
    messages: list[dict[str, str]]
    seed: int
    max_tokens: int = 200
    temperature: float = 0.9
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    stop: tuple[str, ...] = ()

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters, as recorded in provenance."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
        }


@dataclass
class GenerationResult:
    """What came back for one request. `finish_reason` is "stop", "length" or "error"."""

    key: str
    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Provenance of the engine and weights, copied into every record."""

    model_file: str
    model_sha256: str
    quantization: str | None
    backend: str
    backend_version: str
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """What every engine does (`load`, `info`, `generate`, `close`), plus optional capabilities
    with defaults. Subclass it explicitly, so an engine inherits the defaults of what it lacks and
    callers ask plainly (`backend.status_line()`), never probe with `getattr`."""

    name: str
    n_ctx: int | None = None
    """Tokens one sequence may hold (prompt + reply), where the engine has a fixed context; None
    where it does not (a server). Generate checks the first prompt and its longest reply fit."""
    loaded: bool = True
    """False while a backend handed in still needs `load()`; an engine that does not track it
    counts as loaded (whoever passes a backend in loads it)."""

    def load(self) -> None:
        """Load the model (heavy imports happen here). Raises `ModelError` with a clear message."""

    def info(self) -> ModelInfo:
        """Provenance of the loaded model."""

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """Run requests; yield one result per request (possibly out of order)."""

    def close(self) -> None:
        """Free the model."""

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        """Tokens the chat prompt of `messages` takes once rendered; None where the engine cannot count here."""
        return None

    def status_line(self) -> str | None:
        """`2/3 up [0:14 1:12 2:0(down)]` for a fleet or a Ray pool (shown beside the progress bar); None for one engine."""
        return None

    def replica_stats(self) -> dict[str, Any] | None:
        """What each replica of a fleet or Ray pool did (manifest.json `replicas`); None for one engine."""
        return None
