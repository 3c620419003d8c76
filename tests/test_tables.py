"""sarcgen.tables: one reader for csv / tsv / jsonl / json / parquet / txt text files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.tables import read_columns, read_texts


def test_every_format_reads_the_same_texts(tmp_path: Path) -> None:
    rows = [{"text": "NA", "label": 0}, {"text": "Great, truly.", "label": 1}]
    (tmp_path / "a.csv").write_text("text,label\nNA,0\n\"Great, truly.\",1\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text("text\tlabel\nNA\t0\nGreat, truly.\t1\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write("text,label\nNA,0\n\"Great, truly.\",1\n")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "a.txt").write_text("NA\r\n\nGreat, truly.\n", encoding="utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    for name in ("a.csv", "a.tsv", "a.csv.gz", "a.jsonl", "a.json", "a.parquet", "a.txt"):
        assert read_texts(tmp_path / name) == ["NA", "Great, truly."], name  # "NA" is a text, not a missing value
    assert read_columns(tmp_path / "a.jsonl", ("text", "label"))["label"] == [0, 1]


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.csv: no such file"):
        read_texts(tmp_path / "nope.csv")
    (tmp_path / "b.jsonl").write_text('{"text": "ok"}\n[1]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"b.jsonl:2: expected a JSON object"):
        read_texts(tmp_path / "b.jsonl")
    (tmp_path / "c.csv").write_text("review\nhi\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"c.csv: missing column\(s\) text \(found: review\)"):
        read_texts(tmp_path / "c.csv")
    (tmp_path / "d.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="d.parquet: cannot read"):
        read_texts(tmp_path / "d.parquet")
