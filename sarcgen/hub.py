"""Is the Hugging Face Hub reachable? Asked before a download, so offline runs fail in a second.

The Hub clients retry a dead network for 25-60 s (printing a warning per retry) before they give
up; a TCP connect to the endpoint first lets each stage fail at once with a message that says
which flag takes a local file instead.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from urllib.parse import urlparse

_TRUE = ("1", "ON", "YES", "TRUE")  # huggingface_hub's and datasets' ENV_VARS_TRUE_VALUES
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_offline_mode() -> bool:
    """Offline mode is on, as the Hub clients would see it: one of `OFFLINE_VARS` is 1/on/yes/true
    now, or an already imported huggingface_hub / datasets was configured offline (they read the
    environment once, at import, and callers may switch their flags at run time)."""
    if any(os.environ.get(v, "").strip().upper() in _TRUE for v in OFFLINE_VARS):
        return True
    for module in ("huggingface_hub.constants", "datasets.config"):  # never imported here: hub.py stays light
        loaded = sys.modules.get(module)
        if loaded is not None and getattr(loaded, "HF_HUB_OFFLINE", False) is True:
            return True
    return False


def hub_reachable(timeout: float = 3.0) -> bool:
    """A TCP connect to $HF_ENDPOINT (default huggingface.co) within `timeout` seconds, name lookup
    included; False at once in offline mode.

    The socket timeout bounds only the connect: the name lookup (`getaddrinfo`) blocks for as long as
    the resolver retries (5 s per try and server by default, when a nameserver does not answer), so
    the whole check runs in a daemon thread that is given up on after `timeout`."""
    if hub_offline_mode():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    address = (url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80))
    answer: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=connect, name="sarcgen-hub-check", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(answer) and answer[0]
