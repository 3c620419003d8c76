"""Text helpers shared by the quality stages: normalisation, tokens, sentences, file readers."""

from __future__ import annotations

import csv
import gzip
import json
import re
import unicodedata
from pathlib import Path

from sarcgen.errors import InputError

_TAG = re.compile(r"<[^>]{0,40}>")
_WORD = re.compile(r"\w+")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def clean(text: str) -> str:
    """Unicode-normalised text with HTML tags (IMDB's `<br />`) removed and curly quotes straightened."""
    return _TAG.sub(" ", unicodedata.normalize("NFKC", text)).translate(_QUOTES)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes dropped, so "it's" and "its" compare equal)."""
    return _WORD.findall(clean(text).lower().replace("'", ""))


def normalize(text: str) -> str:
    """The canonical form used for exact duplicates: lower-case words joined by single spaces."""
    return " ".join(tokens(text))


def word_count(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    """Sentences split at . ! ? or line breaks (good enough for reviews)."""
    return [s.strip() for s in _SENT.split(clean(text)) if s.strip()]


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def read_texts(path: str | Path, column: str = "text") -> list[str]:
    """Texts from an evaluation file: .txt (one per line), .jsonl / .csv (optionally .gz) with a
    `text` column, or .parquet. Raises `InputError` naming the file when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: evaluation file not found", "pass an existing .txt, .jsonl, .csv(.gz) or .parquet file")
    name = p.name.lower().removesuffix(".gz")
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            table = pq.read_table(p)
            if column not in table.column_names:
                raise InputError(f"{p}: no {column!r} column (columns: {', '.join(table.column_names)})")
            return [str(t) for t in table.column(column).to_pylist() if t]
        if name.endswith(".csv"):
            csv.field_size_limit(2**31 - 1)
            with _open_text(p) as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or column not in reader.fieldnames:
                    raise InputError(f"{p}: no {column!r} column (header: {reader.fieldnames})", "add a header row with a text column")
                return [row[column] for row in reader if row.get(column)]
        if name.endswith(".jsonl") or name.endswith(".json"):
            out = []
            with _open_text(p) as fh:
                for line_no, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise InputError(f"{p}:{line_no}: malformed JSON ({exc})") from None
                    if not isinstance(obj, dict) or column not in obj:
                        raise InputError(f"{p}:{line_no}: expected an object with a {column!r} field")
                    if obj[column]:
                        out.append(str(obj[column]))
            return out
        with _open_text(p) as fh:
            return [line.rstrip("\n") for line in fh if line.strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: cannot read ({exc})") from None
