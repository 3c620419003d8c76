"""A backend for any OpenAI-compatible chat server: llama.cpp's llama-server, vLLM, llama_cpp.server.

Users who outgrow one machine already run such servers; sarcgen drives them instead of inventing a
cluster. Requests go out with bounded concurrency (a thread pool of `concurrency` workers over one
pooled httpx client) and results stream back as they complete, out of order, each with its key.

Failures: 429, 5xx, timeouts and connection errors are retried with exponential backoff and jitter
(a `Retry-After` header is honoured, capped). A server that stays down raises `BackendError` naming
the URL, never a fake reply, so the generate run stops with everything accepted so far saved and a
rerun of the same command resumes. Other 4xx replies are configuration errors and fail at once.
Retries (default 4) and the first backoff (default 0.5 s, doubling, capped at 20 s) can be set with
$SARCGEN_HTTP_RETRIES and $SARCGEN_HTTP_BACKOFF.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from sarcgen.backends.base import Backend, GenerationRequest, GenerationResult, ModelInfo
from sarcgen.errors import BackendError, ReplicaUnavailable
from sarcgen.jsonl import json_list, json_number, json_object

if TYPE_CHECKING:
    import httpx

    from sarcgen.recipe import ModelSpec, Recipe

R = TypeVar("R")
N = TypeVar("N", int, float)

def _choice(reply: dict[str, object]) -> tuple[str, str]:
    """(text, finish reason) of a chat completion's first choice; KeyError, IndexError or TypeError
    when the body is not one."""
    choices = reply["choices"]
    if not isinstance(choices, list) or not isinstance(choices[0], dict) or not isinstance(choices[0]["message"], dict):
        raise TypeError("not a chat completion")
    content = choices[0]["message"].get("content") or ""
    if not isinstance(content, str):
        raise TypeError("content is not text")
    return content, str(choices[0].get("finish_reason") or "stop")


RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class DaemonThreads:
    """A minimal executor that runs each task on its own daemon thread and never waits for one.

    HTTP requests can take up to the request timeout; a ThreadPoolExecutor joins its workers on
    shutdown and at interpreter exit, so Ctrl-C used to wait that long. An abandoned request's
    result is not needed: the generate driver asks for it again on resume (nothing accepted is lost).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def submit(self, fn: Callable[..., R], *args: object) -> Future[R]:
        fut: Future[R] = Future()

        def run() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)

        threading.Thread(target=run, name=self.name, daemon=True).start()
        return fut

    def shutdown(self, wait: bool = False, cancel_futures: bool = False) -> None:
        """Nothing to join (daemon threads); present so it can stand in for a ThreadPoolExecutor."""


def normalize_base_url(url: str) -> str:
    """`http://host:8080` -> `http://host:8080/v1`; a URL with a path is kept as given (minus '/')."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(
            f"--base-url {url!r} is not an http(s) URL",
            "pass the server's OpenAI endpoint, e.g. --base-url http://127.0.0.1:8080/v1",
        )
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def base_urls(value: str | list[str] | None) -> list[str]:
    """The recipe's `generate.openai.base_url` (one URL or a list) as a list of normalized URLs, each once."""
    raw = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for url in raw:
        norm = normalize_base_url(url)
        if norm not in out:
            out.append(norm)
    return out


def env_number(name: str, default: N, kind: type[N]) -> N:
    """An operational knob from the environment (retries and backoff are not part of a recipe)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BackendError(f"${name}={raw!r} is not a number", f"unset it or give a {kind.__name__}") from None
    if value < 0:
        raise BackendError(f"${name}={raw!r} must not be negative")
    return value


class OpenAICompatBackend(Backend):
    """Chat completions from an OpenAI-compatible server, `concurrency` requests in flight."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        api_key: str | None = None,
        send_extra_sampling: bool = True,
    ) -> None:
        if concurrency < 1:
            raise BackendError(f"concurrency must be at least 1, got {concurrency}")
        self.base_url = normalize_base_url(base_url)
        self.model = model
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.api_key = api_key or os.environ.get("SARCGEN_API_KEY") or os.environ.get("OPENAI_API_KEY")
        # top_k / min_p / repeat_penalty / chat_template_kwargs are not in OpenAI's schema; llama.cpp
        # servers and vLLM read them (pass False for a server that rejects unknown fields).
        self.send_extra_sampling = send_extra_sampling
        self._client: httpx.Client | None = None
        self._served: list[str] = []
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self.retries = 0  # total retries made, for the run summary and tests

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> OpenAICompatBackend:
        """From `recipe.generate`: base_url, api_model, parallel (= concurrency), request_timeout."""
        g = recipe.generate
        if not g.openai.base_url:
            raise BackendError(
                "--backend openai needs the server's URL",
                "pass --base-url http://HOST:PORT/v1 (recipe key generate.openai.base_url)",
            )
        return cls(
            base_urls(g.openai.base_url)[0],
            model=g.openai.api_model,
            concurrency=g.parallel,
            timeout=g.openai.request_timeout,
            max_retries=env_number("SARCGEN_HTTP_RETRIES", 4, int),
            backoff=env_number("SARCGEN_HTTP_BACKOFF", 0.5, float),
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def load(self) -> None:
        """Open the HTTP client and ask the server which model it serves (GET /models)."""
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self.close()  # a second load (a fleet replica that was down) replaces the client
        limits = httpx.Limits(max_connections=self.concurrency + 2, max_keepalive_connections=self.concurrency)
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            limits=limits,
        )
        reply = self._request("GET", "/models")
        self._served = [str(m.get("id")) for m in json_list(reply.get("data")) if isinstance(m, dict) and m.get("id")]
        if self.model is None:
            if not self._served:
                raise BackendError(
                    f"{self.base_url}/models lists no model",
                    "pass the model name with --api-model (recipe key generate.openai.api_model)",
                )
            self.model = self._served[0]

    def info(self) -> ModelInfo:
        """The served model's name as provenance; the server does not tell us the weights' hash."""
        import httpx

        return ModelInfo(
            model_file=self.model or "unknown",
            model_sha256="unknown",
            quantization=None,
            backend="openai",
            backend_version=f"httpx {httpx.__version__}",
            extra={"base_url": self.base_url, "served_models": list(self._served)},
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- generation --------------------------------------------------------------------------

    def payload(self, req: GenerationRequest) -> dict[str, object]:
        """The JSON body for one request."""
        body: dict[str, object] = {
            "model": self.model,
            "messages": req.messages,
            "seed": req.seed,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "max_tokens": req.max_tokens,
            "stream": False,
        }
        if req.stop:
            body["stop"] = list(req.stop)
        if self.send_extra_sampling:
            body.update(top_k=req.top_k, min_p=req.min_p, repeat_penalty=req.repeat_penalty)
            # Qwen3 thinking off, as the in-process backends render it (llama-server and vLLM read this).
            body["chat_template_kwargs"] = {"enable_thinking": False}
        return body

    def complete(self, req: GenerationRequest) -> GenerationResult:
        """One request, with retries; raises `BackendError` when the server cannot answer."""
        t0 = time.perf_counter()
        reply = self._request("POST", "/chat/completions", json=self.payload(req), what=f"request {req.key}")
        try:
            text, finish = _choice(reply)
        except (KeyError, IndexError, TypeError):
            raise BackendError(
                f"{self.base_url}/chat/completions returned an unexpected body for {req.key}: {str(reply)[:200]}",
                "is this an OpenAI-compatible server?",
            ) from None
        usage = json_object(reply.get("usage"))
        return GenerationResult(
            key=req.key,
            text=text,
            finish_reason="length" if finish == "length" else "stop",
            prompt_tokens=int(json_number(usage.get("prompt_tokens"))),
            completion_tokens=int(json_number(usage.get("completion_tokens"))),
            seconds=time.perf_counter() - t0,
        )

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """Keep up to `concurrency` requests in flight; yield each result as soon as it arrives.

        The input iterator is pulled lazily (one new request per finished one), so a caller that
        stops consuming does not trigger more work. The first `BackendError` cancels what has not
        started and is raised to the caller. Nothing waits for requests still in flight (see
        `DaemonThreads`): Ctrl-C stops at once, and a resume asks them again.
        """
        if self._client is None:
            self.load()
        it = iter(requests)
        pool = DaemonThreads("sarcgen-openai")
        pending: set[Future[GenerationResult]] = set()
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < self.concurrency:
                    req = next(it, None)
                    if req is None:
                        exhausted = True
                        break
                    pending.add(pool.submit(self.complete, req))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()  # re-raises BackendError from the worker
        finally:
            for fut in pending:
                fut.cancel()

    # -- HTTP with retries -------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.5)
        return min(self.backoff * (2**attempt) * jitter, self.max_backoff)

    def _request(self, method: str, path: str, json: object = None, what: str = "") -> dict[str, object]:
        import httpx

        if self._client is None:
            raise BackendError("the openai backend is not loaded", "call load() first")
        url = self.base_url + path
        last = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                resp = self._client.request(method, url, json=json)
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.timeout:g}s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                if resp.status_code < 400:
                    try:
                        body = resp.json()
                    except ValueError:
                        raise BackendError(f"{method} {url}: the reply is not JSON: {resp.text[:200]!r}") from None
                    if not isinstance(body, dict):
                        raise BackendError(f"{method} {url}: expected a JSON object, got {resp.text[:200]!r}")
                    return body
                last = f"HTTP {resp.status_code}: {resp.text[:300].strip()}"
                if resp.status_code not in RETRY_STATUS:
                    raise BackendError(
                        f"{method} {url} {('for ' + what) if what else ''} failed with {last}".replace("  ", " "),
                        "check --base-url, --api-model and the server's log",
                    )
                retry_after = resp.headers.get("retry-after")
            if attempt < self.max_retries:
                self.retries += 1
                time.sleep(self._delay(attempt, retry_after))
        raise ReplicaUnavailable(
            f"the server at {self.base_url} did not answer {method} {path}"
            f"{' (' + what + ')' if what else ''} after {self.max_retries + 1} attempts: {last}",
            "start or fix the server, then rerun the same command: the run resumes where it stopped",
        )


# The name the openai BackendSpec (`sarcgen.backends.registry.BUILTINS`) imports.
OpenAIBackend = OpenAICompatBackend
