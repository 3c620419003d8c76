"""The OpenAI-compatible backend against a tiny stub HTTP server (http.server in a thread).

The stub fails a chosen number of times (429, 500, ...) before answering, so retries, backoff,
give-up and bounded concurrency are tested at the real HTTP boundary. The real llama_cpp.server
path is in tests/e2e/test_server.py.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from sarcgen.backends.openai import OpenAICompatBackend, normalize_base_url
from sarcgen.errors import BackendError
from tests.factories import simple_requests


def _backend(url: str, **kw: Any) -> OpenAICompatBackend:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    kw.setdefault("timeout", 10.0)
    return OpenAICompatBackend(url, **kw)


def test_normalize_base_url() -> None:
    assert normalize_base_url("http://h:1") == "http://h:1/v1"
    assert normalize_base_url("http://h:1/v1/") == "http://h:1/v1"
    assert normalize_base_url("https://h/openai/v1") == "https://h/openai/v1"
    with pytest.raises(BackendError, match="not an http"):
        normalize_base_url("127.0.0.1:8080")


def test_results_payload_and_info(stub_server) -> None:
    url, stub = stub_server()
    be = _backend(url, concurrency=3)
    be.load()
    info = be.info()
    assert info.backend == "openai" and info.model_file == "stub-model" and info.extra["base_url"] == url
    results = list(be.generate(simple_requests(7)))
    be.close()
    assert sorted(r.key for r in results) == [f"r{i}" for i in range(7)]
    by_key = {r.key: r for r in results}
    assert by_key["r3"].text == "reply to q3 seed 103"
    assert by_key["r3"].finish_reason == "stop"
    assert by_key["r3"].prompt_tokens == 11 and by_key["r3"].completion_tokens == 7
    body = stub.bodies[0]
    assert body["model"] == "stub-model" and body["stream"] is False
    for key in ("seed", "temperature", "top_p", "max_tokens", "top_k", "min_p", "repeat_penalty"):
        assert key in body
    assert stub.paths[0] == "/v1/models"


def test_finish_reason_length(stub_server) -> None:
    url, _ = stub_server()
    be = _backend(url)
    (res,) = list(be.generate(simple_requests(1, max_tokens=8)))
    assert res.finish_reason == "length"


@pytest.mark.parametrize("code", [429, 500, 503])
def test_retries_then_succeeds(stub_server, code: int) -> None:
    url, stub = stub_server(fail=[code, code, code])
    be = _backend(url, max_retries=4)
    results = list(be.generate(simple_requests(1)))
    assert [r.text for r in results] == ["reply to q0 seed 100"]
    assert be.retries == 3
    assert len(stub.bodies) == 4


def test_retry_after_is_honoured(stub_server) -> None:
    url, _ = stub_server(fail=[429], retry_after="0.3")
    be = _backend(url, max_retries=2, max_backoff=1.0)
    t0 = time.perf_counter()
    list(be.generate(simple_requests(1)))
    assert time.perf_counter() - t0 >= 0.3


def test_persistent_failure_raises_clear_error(stub_server) -> None:
    url, stub = stub_server(fail=[500] * 10)
    be = _backend(url, max_retries=2)
    with pytest.raises(BackendError) as exc:
        list(be.generate(simple_requests(1)))
    msg = str(exc.value)
    assert url in msg and "3 attempts" in msg and "HTTP 500" in msg and "rerun" in msg
    assert len(stub.bodies) == 3


def test_client_error_fails_at_once(stub_server) -> None:
    url, stub = stub_server(fail=[400])
    be = _backend(url, max_retries=5)
    with pytest.raises(BackendError, match="HTTP 400"):
        list(be.generate(simple_requests(1)))
    assert len(stub.bodies) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_raises_not_fake_text() -> None:
    be = _backend(f"http://127.0.0.1:{_free_port()}/v1", max_retries=1)
    with pytest.raises(BackendError, match="cannot connect"):
        be.load()
    be2 = _backend(f"http://127.0.0.1:{_free_port()}/v1", model="m", max_retries=1)
    with pytest.raises(BackendError, match="did not answer"):
        list(be2.generate(simple_requests(2)))


def test_bounded_concurrency_and_lazy_pull(stub_server) -> None:
    url, stub = stub_server(delay=0.05)
    be = _backend(url, concurrency=3)
    pulled = []

    def reqs():
        for r in simple_requests(9):
            pulled.append(r.key)
            yield r

    gen = be.generate(reqs())
    first = next(gen)
    assert first.key.startswith("r")
    assert len(pulled) <= 4  # 3 in flight + at most one refill
    rest = list(gen)
    assert len(rest) == 8
    assert 2 <= stub.max_in_flight <= 3


def test_error_in_one_worker_stops_the_stream(stub_server) -> None:
    url, _ = stub_server(fail=[404] * 50)
    be = _backend(url, concurrency=2)
    with pytest.raises(BackendError, match="HTTP 404"):
        list(be.generate(simple_requests(20)))


def test_factory_builds_it_from_the_recipe() -> None:
    from sarcgen.backends import create_backend
    from sarcgen.recipe import load_recipe

    recipe = load_recipe(
        None,
        {"generate.backend": "openai", "generate.base_url": "http://h:9/v1", "generate.parallel": 3,
         "generate.api_model": "qwen", "generate.request_timeout": 7.0},
    )
    be = create_backend(recipe)
    assert isinstance(be, OpenAICompatBackend)
    assert (be.base_url, be.model, be.concurrency, be.timeout) == ("http://h:9/v1", "qwen", 3, 7.0)
    with pytest.raises(BackendError, match="needs the server's URL"):
        create_backend(load_recipe(None, {"generate.backend": "openai"}))
