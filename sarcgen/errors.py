"""One exception family. Messages say what went wrong *and* what to do next.

The library raises these; the CLI turns them into a one-line error and a non-zero exit in one place
(`sarcgen.cli.main`). Nothing in the library imports click.
"""

from __future__ import annotations

import errno
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class SarcgenError(Exception):
    """Base class: every error a user can cause or fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class RecipeError(SarcgenError):
    """A recipe file or override is invalid (names the file and key)."""

    exit_code = 2


class InputError(SarcgenError):
    """An input file (JSONL, CSV, run folder) is missing, empty or malformed."""

    exit_code = 2


class ModelError(SarcgenError):
    """A model cannot be found, downloaded or loaded."""

    exit_code = 3


class BackendError(SarcgenError):
    """A generation backend failed in a way retries could not fix."""

    exit_code = 4


class ReplicaUnavailable(BackendError):
    """One server or worker of several could not answer; another replica may (the request is re-sent)."""


class PublishError(SarcgenError):
    """Building, saving or pushing a dataset failed."""

    exit_code = 5


class TrainingError(SarcgenError):
    """Fine-tuning or evaluation cannot run with the given data or model."""

    exit_code = 6


class QualityError(SarcgenError):
    """A quality gate failed: the judge missed its calibration set, or a class of reviews vanished."""

    exit_code = 7


class FileError(SarcgenError):
    """A file or folder cannot be read or written: disk full, read-only, no permission, a file
    where a folder should be, a truncated or non-UTF-8 file. The message names the path."""

    exit_code = 8
    errno: int | None = None  # the OSError's errno, when one caused it


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space (or pick another --out), then re-run the same command",
    errno.EDQUOT: "the disk quota is used up: free some space (or pick another --out), then re-run the same command",
    errno.EROFS: "the file system is read-only: pass --out with a writable folder",
    errno.EACCES: "permission denied: pass --out with a folder you may write, or fix its permissions",
    errno.EPERM: "operation not permitted: pass --out with a folder you may write",
    errno.ENOTDIR: "a part of this path is a file, not a folder: choose another path",
    errno.EISDIR: "this path is a folder, not a file",
    errno.ENOENT: "no such file or folder: check the path",
    errno.EEXIST: "something is already there: choose another path",
}


def file_error(exc: BaseException, path: object | None = None) -> SarcgenError:
    """One-line error for an OSError (or a decode/truncation error) met while reading or writing
    `path` (default: the path the OSError names). Used by readers, writers and the CLI's last
    resort, so every such failure reads `PATH: cause (hint)`."""
    if isinstance(exc, SarcgenError):
        return exc
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else path
        cause = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        hint = _OS_HINTS.get(exc.errno or -1)
        if hint is None and "gzip" in cause.lower():
            hint = "the file is not a valid .gz (re-download or re-compress it)"
        err = FileError(f"{where if where is not None else 'a file'}: {cause}", hint)
        err.errno = exc.errno
        return err
    if isinstance(exc, UnicodeDecodeError):
        return FileError(f"{path if path is not None else 'a file'}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} "
                         f"at offset {exc.start})", "save the file as UTF-8")
    if isinstance(exc, (EOFError, zlib.error)):
        return FileError(f"{path if path is not None else 'a compressed file'}: truncated or corrupt compressed file ({exc})",
                         "the file was cut short (an interrupted download or copy?): fetch it again")
    return SarcgenError(f"{path}: {exc}" if path is not None else str(exc))


@contextmanager
def file_errors(path: object) -> Iterator[None]:
    """Turn an OSError, UnicodeDecodeError or EOFError (a truncated .gz) raised inside into a
    `FileError` naming `path` (a SarcgenError passes through unchanged)."""
    try:
        yield
    except SarcgenError:
        raise
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise file_error(exc, path) from None


def first_problem(exc: ValidationError, empty: str = "top level") -> str:
    """The first thing a pydantic validation found wrong, on one line: 'mixes.0.05.sets: Field required'
    (`empty` names the whole object when the problem has no key)."""
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or empty}: {first['msg']}"
