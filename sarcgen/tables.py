"""The one reader for text files: csv / tsv / jsonl / json / parquet tables (optionally .gz) and .txt.

Used for evaluation texts (`sarcgen filter --against`, `--imdb-test`), labelled base and
challenge data (`finetune-compare --base-data`, `--challenge`) and texts to classify
(`sarcgen predict --file`). Values come back as the file holds them (no pandas type guessing,
so a review that reads "NA" stays a review); errors name the file, and the line where there is one.
Files are read as editors save them (`sarcgen.jsonl.decode_text`: a UTF-8/UTF-16 byte-order mark,
CRLF or CR line endings); a csv's delimiter (',' ';' or tab) is taken from its header, whose names
lose surrounding spaces; a JSON Lines file may hold one JSON array instead. What would be misread
silently is refused: a row with more or fewer fields than the header, a column or JSON key twice.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from sarcgen.errors import InputError, SarcgenError, file_error
from sarcgen.jsonl import read_text

TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".jsonl", ".jsonl.gz", ".json", ".parquet", ".pq")
"""File endings read as tables (columns by name); anything else is plain text, one per line."""

Columns = dict[str, list[object]]
"""A table as column name -> values, in file order."""
V = TypeVar("V")


def is_table(path: str | Path) -> bool:
    """The file is read as a table (by its ending), not as lines of text."""
    return Path(path).name.lower().endswith(TABLE_SUFFIXES)


def _delimiter(header: str, default: str) -> str:
    """The delimiter a header line uses: the file type's own, else a tab, ';' (what Excel writes as
    "CSV" where the decimal mark is a comma) or ','; a one-column header keeps the default."""
    return default if default in header else next((d for d in ("\t", ";", ",") if d in header), default)


def _header(path: Path, row: list[str]) -> list[str]:
    """Column names without surrounding spaces (" label " is `label`); a name twice is refused,
    since a reader would silently keep only one of the two columns."""
    names = [h.strip() for h in row]
    if names and names[0].startswith("#"):
        raise InputError(f"{path}:1: starts with a comment ({row[0][:30]!r}); CSV has no comments",
                         "delete the comment lines: the first line must be the header")
    twice = next((n for i, n in enumerate(names) if n and n in names[:i]), None)
    if twice is not None:
        raise InputError(f"{path}:1: column {twice!r} appears twice in the header", "rename or remove one of the two columns")
    return names


def _read_delimited(path: Path, delimiter: str) -> Columns:
    """A csv/tsv table: its delimiter sniffed from the header, blank lines skipped, and a row with
    more or fewer fields than the header refused with its line (an unquoted delimiter in a text
    would otherwise cut the text short or shift the label)."""
    import io

    csv.field_size_limit(2**31 - 1)
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path}: empty file", "write a header line (e.g. text,label) and one row per review")
    end = text.find("\n")  # the header line, without copying the rest of the file
    delimiter = _delimiter(text if end < 0 else text[:end], delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = _header(path, next(reader))
    cols: Columns = {name: [] for name in header if name}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank or whitespace-only line (editors leave them at the end)
        if len(row) != len(header):
            shown = "tab" if delimiter == "\t" else repr(delimiter)
            raise InputError(f"{path}:{start}: {len(row)} field(s) where the header has {len(header)} "
                             f"(fields are separated by {shown})",
                             f"put a text that holds a {shown} or a line break in double quotes")
        for name, value in zip(header, row):
            if name:
                cols[name].append(value)
    return cols


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice (json keeps the last one silently)."""
    out = dict(pairs)
    if len(out) < len(pairs):  # the rare case: find the key given twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"key {key!r} appears twice in one object")
            seen.add(key)
    return out


def _json_rows(path: Path) -> list[dict[str, object]]:
    """The objects of a JSON Lines file, or of a JSON array (in a .json or a .jsonl file alike)."""
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        except ValueError as exc:
            raise InputError(f"{path}: malformed JSON ({exc})") from None
        bad = next((i for i, r in enumerate(rows) if not isinstance(r, dict)), None)
        if bad is not None:
            raise InputError(f"{path}: item {bad + 1} of the JSON array is a {type(rows[bad]).__name__}, not an object",
                             "each row must be an object such as {\"text\": ..., \"label\": ...}")
        return list(rows)
    out: list[dict[str, object]] = []
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit inside a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_unique_keys)
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


def match_columns(cols: Mapping[str, V], names: Sequence[str]) -> dict[str, V]:
    """`cols` with a column renamed to each of `names` it lacks but holds in another case ("Text"
    for `text`); the exact name wins, and two candidates ("Label" and "LABEL") rename neither."""
    out = dict(cols)
    for name in names:
        found = [c for c in out if c.strip().lower() == name.lower()]
        if name not in out and len(found) == 1:
            out = {(name if c == found[0] else c): v for c, v in out.items()}
    return out


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
        elif name.endswith((".tsv", ".tsv.gz", ".txt", ".txt.gz")):  # .txt: Excel's "Unicode text", tab-separated (UTF-16)
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
    cols = match_columns(cols, required)
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
    return [line for line in read_text(p).split("\n") if line.strip()]
