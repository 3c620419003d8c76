"""Crash-safe JSONL: append one flushed line per record; read with file:line errors.

Run folders are append-only logs. A record is durable once its line (with the trailing newline)
is fsynced; a crash can leave at most one partial last line, which `repair_tail` cuts off so that a
resumed run neither loses nor duplicates accepted records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sarcgen.errors import InputError

ErrorHandler = Callable[[Path, int, str], None]


def repair_tail(path: Path) -> int:
    """Truncate a partial (newline-less) last line left by a crash. Returns bytes removed."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return 0
        # Walk back to the last newline; everything after it is an unfinished write.
        pos = size - 1
        chunk = 4096
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                fh.truncate(keep)
                return size - keep
            pos = start
        fh.truncate(0)
        return size


def iter_jsonl(path: Path, on_error: ErrorHandler | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line_number, object) for each non-blank line.

    A malformed line calls ``on_error(path, line_no, message)`` and is skipped; without a handler
    it raises `InputError` naming the file and line.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file", "check the path or run the previous stage first")
    with path.open("r", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
            except ValueError as exc:
                msg = f"malformed JSON ({exc})"
                if on_error is None:
                    raise InputError(f"{path}:{line_no}: {msg}") from None
                on_error(path, line_no, msg)
                continue
            yield line_no, obj


def read_jsonl(path: Path, on_error: ErrorHandler | None = None) -> list[dict[str, Any]]:
    """All objects of a JSONL file (see `iter_jsonl`)."""
    return [obj for _, obj in iter_jsonl(path, on_error)]


class JsonlWriter:
    """Append-only JSONL writer; each `write` is flushed and fsynced before it returns."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(path)
        self._fh = path.open("a", encoding="utf-8")
        self._fsync = fsync

    def write(self, obj: Any) -> None:
        if hasattr(obj, "model_dump"):
            obj = obj.model_dump(mode="json")
        self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def write_many(self, objs: Iterable[Any]) -> None:
        for obj in objs:
            self.write(obj)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: Path, objs: Iterable[Any]) -> int:
    """Write a whole JSONL file atomically (temp file + rename). Returns the number of lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for obj in objs:
            if hasattr(obj, "model_dump"):
                obj = obj.model_dump(mode="json")
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_json(path: Path, obj: Any) -> None:
    """Write pretty JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
