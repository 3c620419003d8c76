"""llama.cpp's own log lines: into sarcgen's log, not onto the terminal (`sarcgen -v` shows them).

llama.cpp reports through one process-wide callback (`llama_log_set`). llama-cpp-python installs
one at import that prints to stderr every line at or above its logger's level, but it maps an
older ggml enum: this build numbers DEBUG 1, INFO 2, WARN 3, ERROR 4 (measured on the tiny Qwen3,
SmolLM2-135M and Qwen3-0.6B GGUFs: the load's ~1,000 lines at 1 and ~100 at 2). So with
`verbose=False` its WARN lines print as errors: "load: control-looking token: ... was not
control-type; this is probably a bug in the model. its type will be overridden" for a GGUF whose
`<|im_end|>` is typed normal, on every load, between sarcgen's lines. And its real ERROR lines
(why a load failed) are hidden as debug.

`route_llama_logs` replaces that callback with a `LogRouter`: whole lines to the
`sarcgen.backends.llamacpp` logger (WARN and ERROR at their levels, INFO and DEBUG at DEBUG),
which `sarcgen generate` writes to the run folder's generate.log; the last lines kept, for the
error a failed load raises (`failure_detail`); and, when verbose, every line to stderr as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import sys
import threading
from collections import deque
from types import ModuleType

from sarcgen.quiet import verbose_requested

log = logging.getLogger("sarcgen.backends.llamacpp")
log.addHandler(logging.NullHandler())  # no handler configured: dropped, never Python's last-resort stderr handler

# ggml_log_level as this llama.cpp numbers it (ggml.h) -> logging level of the line in sarcgen's log
GGML_CONT = 5  # the rest of the previous line
LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}


class LogRouter:
    """The callback's state: the line being assembled (llama.cpp sends pieces, e.g. load dots), its
    level, the last `keep` whole lines, and whether to echo to stderr."""

    def __init__(self, keep: int = 200) -> None:
        self.echo = False
        self.recent: deque[tuple[int, str]] = deque(maxlen=keep)
        self._pending: list[str] = []
        self._level = logging.DEBUG
        self._lock = threading.Lock()

    def __call__(self, level: int, text: bytes | None, _user_data: object = None) -> None:
        with contextlib.suppress(Exception):  # nothing may escape into C (ctypes would print it to stderr)
            self.feed(level, (text or b"").decode("utf-8", "replace"))

    def feed(self, level: int, piece: str) -> None:
        if self.echo:
            sys.stderr.write(piece)
            sys.stderr.flush()
        with self._lock:
            if level != GGML_CONT:
                self._flush()  # a new line began before the last one ended
                self._level = LEVELS.get(level, logging.DEBUG)
            self._pending.append(piece)
            if piece.endswith("\n"):
                self._flush()

    def _flush(self) -> None:
        text = "".join(self._pending)
        self._pending.clear()
        for line in text.splitlines():
            if line.strip():
                self.recent.append((self._level, line.rstrip()))
                log.log(self._level, "llama.cpp: %s", line.rstrip())

    def clear(self) -> None:
        with self._lock:
            self.recent.clear()

    def failure_detail(self, n: int = 3) -> str:
        """The last `n` warning or error lines since `clear` (else the last `n` lines), for an error
        message: '; llama.cpp said: ... | ...', or '' when llama.cpp said nothing."""
        with self._lock:
            self._flush()
            lines = [line for level, line in self.recent if level >= logging.WARNING] or [line for _, line in self.recent]
        return f"; llama.cpp said: {' | '.join(lines[-n:])}" if lines else ""


ROUTER = LogRouter()
_installed: list[object] = []  # the ctypes callback; llama.cpp holds only its address, so keep it alive


def route_llama_logs(llama_cpp: ModuleType, verbose: bool = False) -> LogRouter:
    """Send llama.cpp's log to `ROUTER` (once per process; the last call decides the echo): echoed to
    stderr when `verbose` or `sarcgen -v`. Clears the kept lines, so a load's failure names its own."""
    ROUTER.echo = verbose or verbose_requested()
    ROUTER.clear()
    if not _installed:
        callback = llama_cpp.llama_log_callback(ROUTER)
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        _installed.append(callback)
    return ROUTER
