"""sarcgen.errors.file_error: every OSError, decode and truncation error becomes one line naming the path."""

from __future__ import annotations

import errno
import gzip
from pathlib import Path

import pytest

from sarcgen.errors import FileError, InputError, file_error, file_errors


def test_os_errors_name_the_path_and_say_what_to_do() -> None:
    full = file_error(OSError(errno.ENOSPC, "No space left on device"), "run/generated.jsonl")
    assert isinstance(full, FileError) and full.exit_code == 8
    assert full.message == "run/generated.jsonl: No space left on device" and "re-run the same command" in (full.hint or "")
    named = file_error(NotADirectoryError(errno.ENOTDIR, "Not a directory", "afile/sub"), "ignored")
    assert named.message == "afile/sub: Not a directory" and "is a file" in (named.hint or "")
    ro = file_error(OSError(errno.EROFS, "Read-only file system", "/mnt/ro/x"))
    assert ro.message == "/mnt/ro/x: Read-only file system" and "--out" in (ro.hint or "")


def test_decode_and_truncation_errors(tmp_path: Path) -> None:
    bad = b"ok \xff"
    try:
        bad.decode("utf-8")
    except UnicodeDecodeError as exc:
        assert file_error(exc, "x.txt").message == "x.txt: not UTF-8 (byte 0xff at offset 3)"
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(b"text\n" + b"".join(b"review %d\n" % (i * 7919 % 10007) for i in range(5000)))[:500])
    with pytest.raises(FileError, match=r"t\.csv\.gz: truncated or corrupt compressed file"), \
            file_errors(gz), gzip.open(gz, "rb") as fh:
        fh.read()


def test_file_errors_lets_sarcgen_errors_through(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mine"), file_errors(tmp_path):
        raise InputError("mine")
    with pytest.raises(FileError, match=r"nope/x: No such file or directory"), file_errors(tmp_path):
        (tmp_path / "nope" / "x").write_text("y")
