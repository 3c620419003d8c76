"""The one reader for text files: csv / tsv / jsonl / json / parquet tables (optionally .gz) and .txt.

Used for evaluation texts (`sarcgen filter --against`, `--imdb-test`), labelled base and
challenge data (`finetune-compare --base-data`, `--challenge`) and texts to classify
(`sarcgen predict --file`). Values come back as the file holds them (no pandas type guessing,
so a review that reads "NA" stays a review); errors name the file, and the line for JSONL.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from sarcgen.errors import FileError, InputError, SarcgenError, file_error, file_errors
from sarcgen.jsonl import not_utf8

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".jsonl", ".jsonl.gz", ".json", ".parquet", ".pq")
"""File endings read as tables (columns by name); anything else is plain text, one per line."""

Columns = dict[str, list[object]]
"""A table as column name -> values, in file order."""


def is_table(path: str | Path) -> bool:
    """The file is read as a table (by its ending), not as lines of text."""
    return Path(path).name.lower().endswith(TABLE_SUFFIXES)


def _lines(path: Path) -> Iterator[str]:
    """The lines of a text file (a .gz unpacked), newlines kept, a leading BOM dropped. A byte that
    is not UTF-8 raises FileError naming the file and line; a truncated or broken .gz, or any
    OSError, raises FileError naming the file."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with file_errors(path), opener(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileError(f"{path}:{line_no}: {not_utf8(exc)}", "save the file as UTF-8") from None
            yield line


def _read_delimited(path: Path, delimiter: str) -> Columns:
    csv.field_size_limit(2**31 - 1)
    reader = csv.DictReader(_lines(path), delimiter=delimiter)
    cols: Columns = {name: [] for name in reader.fieldnames or []}
    for row in reader:
        for name, values in cols.items():
            values.append(row.get(name))
    return cols


def _json_rows(path: Path) -> list[dict[str, object]]:
    text = "".join(_lines(path))
    if path.name.lower().endswith(".json") and text.lstrip().startswith("["):
        try:
            rows: list[dict[str, object]] = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}: malformed JSON ({exc})") from None
        if not all(isinstance(r, dict) for r in rows):
            raise InputError(f"{path}: expected a list of objects")
        return rows
    out: list[dict[str, object]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{line_no}: malformed JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
        out.append(obj)
    return out


def _read_json(path: Path) -> Columns:
    rows = _json_rows(path)
    names = list(dict.fromkeys(k for r in rows for k in r))
    return {name: [r.get(name) for r in rows] for name in names}


def _read_parquet(path: Path) -> Columns:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: list(table.column(name).to_pylist()) for name in table.column_names}


def read_columns(path: str | Path, required: Sequence[str] = ("text",)) -> Columns:
    """Every column of a table file; `InputError` naming the file when it is missing, unreadable or
    lacks a `required` column."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file", "check the path")
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            cols = _read_parquet(p)
        elif name.endswith((".jsonl", ".jsonl.gz", ".json")):
            cols = _read_json(p)
        elif name.endswith((".tsv", ".tsv.gz")):
            cols = _read_delimited(p, "\t")
        elif name.endswith((".csv", ".csv.gz")):
            cols = _read_delimited(p, ",")
        else:
            raise InputError(f"{p}: unsupported file type", f"use one of {', '.join(TABLE_SUFFIXES)}")
    except csv.Error as exc:
        raise InputError(f"{p}: cannot read ({exc})") from None
    except SarcgenError:
        raise
    except OSError as exc:  # pyarrow on a broken parquet file
        raise file_error(exc, p) from None
    except Exception as exc:  # pyarrow's errors (ArrowInvalid, ...) share no base we can import lazily
        raise InputError(f"{p}: cannot read as a table: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError(
            f"{p}: missing column(s) {', '.join(missing)} (found: {', '.join(cols) or 'none'})",
            f"add a header or field named {missing[0]!r}",
        )
    return cols


def read_texts(path: str | Path, column: str = "text") -> list[str]:
    """The non-blank texts of a file: a table's `column`, or the lines of any other file, as written."""
    p = Path(path)
    if is_table(p):
        return [str(v) for v in read_columns(p, (column,))[column] if v is not None and str(v).strip()]
    if not p.is_file():
        raise InputError(f"{p}: no such file", "check the path")
    return [line.rstrip("\r\n") for line in _lines(p) if line.strip()]
