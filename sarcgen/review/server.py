"""Run the review page on uvicorn: index the run, bind a socket, print the URL, open a browser."""

from __future__ import annotations

import getpass
import socket
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sarcgen.errors import InputError


@dataclass
class Serving:
    """What `serve` tells its caller once the page is reachable."""

    url: str
    records: int
    index_seconds: float
    host: str


def default_reviewer() -> str:
    """The login name, for the `reviewer` field of each decision."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port). Raises InputError when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so; without it every
    # keep-alive response waits ~40 ms for a delayed ACK (uvicorn writes head and body separately).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"--host {host} --port {port}: cannot listen there ({exc.strerror})",
                         "pick another --port, or --port 0 for any free one") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(run_dir: Path, *, host: str = "127.0.0.1", port: int = 8765, reviewer: str | None = None,
          open_browser: bool = True, on_ready: Callable[[Serving], None] | None = None) -> int:
    """Serve the review page of `run_dir` until interrupted (Ctrl-C stops it cleanly).

    Returns how many standing decisions review.jsonl holds at the end."""
    import uvicorn

    from sarcgen.review.app import create_app, new_token
    from sarcgen.review.index import Query, RunIndex

    started = time.perf_counter()
    index = RunIndex(run_dir)
    index.query(Query())  # warm the first page's path (numpy, orders) before anyone waits on it
    took = time.perf_counter() - started
    token = new_token()
    app = create_app(index, token, reviewer or default_reviewer())
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/?token={token}"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            if on_ready is not None:
                on_ready(Serving(url, len(index.rows), took, host))
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then re-raises it: stopping is the normal end
        pass
    finally:
        index.store.close()
        sock.close()
    return len(index.store.current)
