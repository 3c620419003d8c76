"""A fleet of OpenAI-compatible servers (vLLM, llama-server, llama_cpp.server replicas) behind one client.

`--base-url` given several times (or `--base-url-file FILE`, one URL a line) makes `sarcgen
generate` and the judge route over all of them with `sarcgen.backends.pool.ReplicaPool`: the
replica with the fewest requests in flight gets the next one, up to `--parallel` per replica; a
replica that stops answering is ejected for a while and its requests are re-sent elsewhere; the
run fails (exit 4, one line naming each URL) only when all of them are down. No load balancer to
bring. Each replica is an `OpenAICompatBackend` with its own pooled httpx client and one quick
retry of its own ($SARCGEN_HTTP_RETRIES overrides), so failing over costs seconds, not the
single-server backoff of about 8 s.

Every replica must serve the same model: the first one that answers names it (or `--api-model`),
and a replica that lists other models is a configuration error.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.backends.base import GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.openai import (
    DaemonThreads,
    OpenAICompatBackend,
    base_urls,
    env_number,
    normalize_base_url,
)
from sarcgen.backends.pool import DOWN_ERRORS, PoolSettings, ReplicaPool
from sarcgen.errors import BackendError, InputError

if TYPE_CHECKING:
    from sarcgen.recipe import ModelSpec, Recipe


def read_url_file(path: str | Path) -> list[str]:
    """URLs from a text file, one a line (blank lines and `#` comments skipped); names file:line on error."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{p}: cannot read the URL file ({exc.strerror})", "pass a text file with one URL a line") from None
    urls = []
    for no, line in enumerate(lines, 1):
        url = line.split("#", 1)[0].strip()
        if not url:
            continue
        try:
            urls.append(normalize_base_url(url))
        except BackendError as exc:
            raise InputError(f"{p}:{no}: {exc.message}", "one http(s)://HOST:PORT[/v1] a line") from None
    if not urls:
        raise InputError(f"{p}: no URL in the file", "one http(s)://HOST:PORT[/v1] a line")
    return urls


class HttpReplica:
    """One server of the fleet: its own client, requests run on the fleet's thread pool."""

    down_errors = DOWN_ERRORS

    def __init__(self, backend: OpenAICompatBackend, pool: DaemonThreads, fleet: FleetBackend) -> None:
        self.backend, self._pool, self._fleet = backend, pool, fleet
        self.name = backend.base_url
        self.capacity = backend.concurrency
        self._loaded = False
        self._load_lock = threading.Lock()

    def ensure_loaded(self) -> None:
        """GET /models once (also for a replica that was down at start), checking the model name."""
        with self._load_lock:
            if self._loaded:
                return
            self.backend.load()  # raises ReplicaUnavailable when the server does not answer
            self._fleet.agree_on_model(self.backend)
            self._loaded = True

    def _run(self, req: GenerationRequest) -> GenerationResult:
        self.ensure_loaded()
        return self.backend.complete(req)

    def submit(self, req: GenerationRequest) -> Future[GenerationResult]:
        return self._pool.submit(self._run, req)

    def close(self) -> None:
        self.backend.close()


class FleetBackend(ReplicaPool):
    """Chat completions over several OpenAI-compatible servers serving one model."""

    name = "openai"

    def __init__(self, urls: list[str], *, model: str | None = None, parallel: int = 4, timeout: float = 120.0,
                 max_retries: int = 1, backoff: float = 0.25, settings: PoolSettings | None = None) -> None:
        super().__init__(settings)
        if len(urls) < 1:
            raise BackendError("a fleet needs at least one --base-url")
        self.urls = list(urls)
        self.model = model
        self.parallel = parallel
        self._model_lock = threading.Lock()
        self._executor: DaemonThreads | None = None
        self._make = lambda url: OpenAICompatBackend(url, model=model, concurrency=parallel, timeout=timeout,
                                                     max_retries=max_retries, backoff=backoff)

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> FleetBackend:
        """From `recipe.generate`: base_url (a list), api_model, parallel (per replica), request_timeout."""
        g = recipe.generate
        return cls(base_urls(g.openai.base_url), model=g.openai.api_model, parallel=g.parallel, timeout=g.openai.request_timeout,
                   max_retries=env_number("SARCGEN_HTTP_RETRIES", 1, int),
                   backoff=env_number("SARCGEN_HTTP_BACKOFF", 0.25, float))

    def agree_on_model(self, backend: OpenAICompatBackend) -> None:
        """The first replica to answer names the model; every other must serve it too."""
        with self._model_lock:
            if self.model is None:
                self.model = backend.model
            elif self.model not in backend._served and backend._served:
                raise BackendError(
                    f"{backend.base_url} serves {', '.join(backend._served)}, not {self.model}",
                    "every --base-url of a fleet must serve the same model (or pass --api-model)",
                )
            backend.model = self.model

    def load(self) -> None:
        """Open a client per replica and ask each which model it serves; replicas that do not answer
        are ejected (and tried again later); at least one must answer."""
        self._executor = DaemonThreads("sarcgen-fleet")  # Ctrl-C does not wait for requests in flight
        replicas = [HttpReplica(self._make(url), self._executor, self) for url in self.urls]
        self.set_replicas(replicas)
        for st, rep in zip(self.states, replicas):
            try:
                rep.ensure_loaded()
            except DOWN_ERRORS as exc:
                self._eject(st, exc)
        if all(st.failures for st in self.states):
            lines = "; ".join(f"{st.replica.name}: {st.last_error}" for st in self.states)
            raise BackendError(f"none of the {len(self.urls)} servers answers ({lines})",
                               "start at least one of them (each --base-url), then rerun the same command")

    def info(self) -> ModelInfo:
        """The served model as provenance, and every replica's URL."""
        import httpx

        return ModelInfo(model_file=self.model or "unknown", model_sha256="unknown", quantization=None,
                         backend="openai", backend_version=f"httpx {httpx.__version__}",
                         extra={"base_url": list(self.urls), "replicas": len(self.urls)})

    def close(self) -> None:
        super().close()
        if self._executor is not None:
            self._executor = None
