"""Crash-safe JSONL: append one flushed line per record; read with file:line errors.

Run folders are append-only logs. A record is durable once its line (with the trailing newline)
is fsynced; a crash can leave at most one partial last line, which `repair_tail` cuts off (a complete
record that only lacks its newline is kept), so that a resumed run neither loses nor duplicates
accepted records.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from pydantic import BaseModel

from sarcgen.errors import FileError, InputError, file_errors

ErrorHandler = Callable[[Path, int, str], None]


@dataclass(frozen=True)
class TailRepair:
    """What `repair_tail` did to a file's last line."""

    cut: bytes = b""  # a torn (unparseable) last line that was removed
    completed: bool = False  # a complete last record lacked only its newline, which was added

    def __bool__(self) -> bool:
        return bool(self.cut) or self.completed

    def describe(self, path: Path) -> str:
        if self.completed:
            return f"{path}: the last record lacked its newline; kept it and added the newline"
        preview = self.cut[:80].decode("utf-8", "replace")
        return f"{path}: cut a torn last line of {len(self.cut)} bytes (never acknowledged): {preview!r}"


def repair_tail(path: Path, *, dry_run: bool = False) -> TailRepair:
    """Finish a file whose last line lacks its newline: a complete JSON object keeps its line (the
    newline is added); anything else is a torn write left by a crash and is cut off. With
    `dry_run`, only say what would be done (the file is not changed)."""
    if not path.exists() or path.stat().st_size == 0:
        return TailRepair()
    with path.open("rb" if dry_run else "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return TailRepair()
        # Walk back to the last newline; what follows it is the unfinished line.
        keep = 0
        pos = size - 1
        while pos > 0:
            start = max(0, pos - 4096)
            fh.seek(start)
            idx = fh.read(pos - start).rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        fh.seek(keep)
        tail = fh.read()
        if _is_record(tail):
            if not dry_run:
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
            return TailRepair(completed=True)
        if not dry_run:
            fh.truncate(keep)
        return TailRepair(cut=tail)


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return False


def not_utf8(exc: UnicodeDecodeError, line_start: int = 0) -> str:
    """What is wrong with a line that is not UTF-8: `not UTF-8 (byte 0xff at column 6)`.
    `line_start` is the offset of the line in the decoded bytes (0 when they are the line)."""
    return f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at column {exc.start - line_start + 1})"


# Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's mark): what Notepad, Excel's
# "CSV UTF-8" (utf-8-sig), PowerShell 5's `>` and Excel's "Unicode text" (UTF-16 LE) put in front.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_NEWLINES = re.compile(r"\r\n?")


def _line_count(data: bytes) -> int:
    """The line the end of `data` is on (1-based), whatever the line endings."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1


def decode_text(data: bytes, path: str | Path) -> str:
    """The text of a file's bytes, read the way editors save it: a byte-order mark picks the
    encoding (UTF-8, UTF-16 or UTF-32) and is dropped, else UTF-8; Windows (CRLF) and old Mac (CR)
    line endings become "\n". A byte that is not UTF-8 raises FileError naming the file, line
    and column (with a hint for Windows-1252, what Excel's plain "CSV" writes)."""
    encoding, start = "utf-8", 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    try:
        text = data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        before = data[start:start + exc.start]
        line_start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
        where = f"{path}:{_line_count(before)}"
        if encoding != "utf-8":
            raise FileError(f"{where}: not valid {encoding.upper()} (its byte-order mark says so)",
                            "save the file as UTF-8") from None
        hint = "save the file as UTF-8"
        try:
            data.decode("cp1252")
            hint = "it looks like Windows-1252/Latin-1: save it as UTF-8 (Excel: 'CSV UTF-8')"
        except UnicodeDecodeError:
            pass
        raise FileError(f"{where}: {not_utf8(exc, line_start)}", hint) from None
    return _NEWLINES.sub("\n", text) if "\r" in text else text


def read_bytes(path: str | Path) -> bytes:
    """A whole file (a .gz unpacked); an OSError or a broken .gz becomes FileError naming the path."""
    p = Path(path)
    with file_errors(p):
        if p.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(p, "rb") as fh:
                return fh.read()
        return p.read_bytes()


def read_text(path: str | Path) -> str:
    """A whole text file (recipes, templates, JSON side files, tables): see `decode_text`. A byte
    that is not UTF-8 raises FileError naming the file and line; an OSError becomes FileError
    naming the path."""
    return decode_text(read_bytes(path), path)


def iter_jsonl(path: Path, on_error: ErrorHandler | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line_number, object) for each non-blank line.

    A malformed line (bad JSON, not an object, not UTF-8) calls ``on_error(path, line_no,
    message)`` and is skipped; without a handler it raises `InputError` naming the file and line.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file", "check the path or run the previous stage first")
    with file_errors(path), path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise InputError(f"{path}:1: UTF-16 text (it starts with a UTF-16 byte-order mark)",
                                 "save the file as UTF-8: each line must be UTF-8 JSON")
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):  # Notepad's UTF-8 mark
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if on_error is None:
                    raise InputError(f"{path}:{line_no}: {not_utf8(exc)}", "each line must be UTF-8 JSON") from None
                on_error(path, line_no, not_utf8(exc))
                continue
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


def scan_jsonl(path: Path) -> Iterator[tuple[int, int, dict[str, object]]]:
    """(line number, byte offset, object) for every JSON-object line, skipping blank and malformed
    ones: for readers that index a file to seek back into it later (the review page)."""
    offset = 0
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            start, offset = offset, offset + len(line)
            if len(line) < 3 and not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield line_no, start, obj


def read_jsonl(path: Path, on_error: ErrorHandler | None = None) -> list[dict[str, Any]]:
    """All objects of a JSONL file (see `iter_jsonl`)."""
    return [obj for _, obj in iter_jsonl(path, on_error)]


def json_object(value: object) -> dict[str, object]:
    """`value` when it is a JSON object, else {}: for reading an optional nested object of a file
    read back (a manifest's "counts", a report's "dedupe") without a type check at every step."""
    return value if isinstance(value, dict) else {}


def json_list(value: object) -> list[object]:
    """`value` when it is a JSON array, else [] (see `json_object`)."""
    return value if isinstance(value, list) else []


def json_number(value: object, default: float = 0.0) -> float:
    """`value` as a float when it is a JSON number (not a boolean), else `default` (see `json_object`)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


JsonRecord: TypeAlias = "BaseModel | Mapping[str, object]"
"""One JSONL line: a pydantic model (dumped in JSON mode) or a plain JSON object."""


def _line(obj: JsonRecord) -> bytes:
    plain = obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj
    return (json.dumps(plain, ensure_ascii=False) + "\n").encode("utf-8")


class JsonlWriter:
    """Append-only JSONL writer; each `write` is written whole and fsynced before it returns.

    Unbuffered, so a failed write (disk full) leaves nothing pending that a later close would try
    again: the file ends with at most one torn line, which the next open cuts (`repair_tail`).
    OSErrors become `FileError` naming the file."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        with file_errors(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            repair_tail(path)
            self._fh = path.open("ab", buffering=0)
        self._fsync = fsync

    def write(self, obj: JsonRecord) -> None:
        data = memoryview(_line(obj))
        with file_errors(self.path):
            while data:
                data = data[self._fh.write(data) or 0:]
            if self._fsync:
                os.fsync(self._fh.fileno())

    def write_many(self, objs: Iterable[JsonRecord]) -> None:
        for obj in objs:
            self.write(obj)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _atomic(path: Path, chunks: Iterable[bytes], durable: bool = False) -> None:
    """Write `chunks` to PATH.tmp, then rename it over `path`. On failure the temp file is removed
    (so a full disk gets its space back) and a `FileError` names `path`. `durable` fsyncs the
    data before the rename (for completion records that must survive a power cut)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with file_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tmp.open("wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def write_jsonl(path: Path, objs: Iterable[JsonRecord]) -> int:
    """Write a whole JSONL file atomically (temp file + rename). Returns the number of lines."""
    n = 0

    def lines() -> Iterator[bytes]:
        nonlocal n
        for obj in objs:
            yield _line(obj)
            n += 1

    _atomic(path, lines())
    return n


def write_json(path: Path, obj: object, *, in_place_if_full: bool = False, durable: bool = False) -> None:
    """Write pretty JSON atomically (`durable`: fsynced before the rename). `in_place_if_full` (the
    run manifest): when the disk is full, overwrite the old file in the space it already holds
    rather than fail, so the manifest can still say the run was interrupted."""
    data = (json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    try:
        _atomic(path, [data], durable)
    except FileError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        if not (in_place_if_full and full and _overwrite_in_place(path, data)):
            raise


def _overwrite_in_place(path: Path, data: bytes) -> bool:
    """Rewrite `path` with `data` if that needs no new disk block; False when it would."""
    try:
        if not path.is_file() or len(data) > path.stat().st_blocks * 512:
            return False
        with path.open("r+b") as fh:
            fh.write(data)
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        return False


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically (reports, cards, recipes)."""
    _atomic(path, [text.encode("utf-8")])
