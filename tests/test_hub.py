"""sarcgen.hub: the one offline check, as the Hub clients see it."""

from __future__ import annotations

import sys
import types

import pytest

from sarcgen.hub import OFFLINE_VARS, hub_offline_mode, hub_reachable


@pytest.fixture
def online_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in OFFLINE_VARS:
        monkeypatch.delenv(var, raising=False)
    for module in ("huggingface_hub.constants", "datasets.config"):
        monkeypatch.setitem(sys.modules, module, types.SimpleNamespace(HF_HUB_OFFLINE=False))
    return monkeypatch


@pytest.mark.parametrize("var", OFFLINE_VARS)
@pytest.mark.parametrize("value", ["1", "true", "ON", " yes "])
def test_each_variable_and_spelling_turns_offline_on(online_env: pytest.MonkeyPatch, var: str, value: str) -> None:
    online_env.setenv(var, value)
    assert hub_offline_mode()
    assert not hub_reachable()  # at once, no connect


@pytest.mark.parametrize("value", ["0", "false", "", "off"])
def test_false_values_leave_it_off(online_env: pytest.MonkeyPatch, value: str) -> None:
    online_env.setenv("HF_HUB_OFFLINE", value)
    assert not hub_offline_mode()


@pytest.mark.parametrize("module", ["huggingface_hub.constants", "datasets.config"])
def test_a_loaded_client_switched_offline_counts(online_env: pytest.MonkeyPatch, module: str) -> None:
    # The clients read the environment once at import; publish.load flips their flags at run time.
    online_env.setitem(sys.modules, module, types.SimpleNamespace(HF_HUB_OFFLINE=True))
    assert hub_offline_mode()


def test_a_name_lookup_that_hangs_is_bounded_by_the_timeout(online_env: pytest.MonkeyPatch) -> None:
    # socket's timeout covers the connect, not getaddrinfo (a silent nameserver: 5 s per try and server)
    import socket
    import threading
    import time

    release = threading.Event()

    def silent_nameserver(*args: object, **kwargs: object) -> list[object]:
        release.wait(30)
        raise socket.gaierror("timed out")

    online_env.setattr(socket, "getaddrinfo", silent_nameserver)
    online_env.setenv("HF_ENDPOINT", "https://hub.invalid")
    start = time.monotonic()
    try:
        assert hub_reachable(timeout=0.3) is False
        assert time.monotonic() - start < 2
    finally:
        release.set()


def test_a_listening_endpoint_is_reachable(online_env: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        online_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_reachable(timeout=2.0) is True
