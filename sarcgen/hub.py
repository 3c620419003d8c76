"""Is the Hugging Face Hub reachable? Asked before a download, so offline runs fail in a second.

The Hub clients retry a dead network for 25-60 s (printing a warning per retry) before they give
up; a TCP connect to the endpoint first lets each stage fail at once with a message that says
which flag takes a local file instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

_TRUE = ("1", "true", "yes", "on")


def hub_offline_mode() -> bool:
    """HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) is set."""
    return any(os.environ.get(v, "0").lower() in _TRUE for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_reachable(timeout: float = 3.0) -> bool:
    """A TCP connect to $HF_ENDPOINT (default huggingface.co); False at once in offline mode."""
    if hub_offline_mode():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False
