import json
from pathlib import Path

import pytest

from sarcgen.errors import InputError
from sarcgen.jsonl import JsonlWriter, iter_jsonl, read_jsonl, repair_tail, write_json, write_jsonl


def test_writer_appends_and_repairs_partial_tail(tmp_path: Path) -> None:
    p = tmp_path / "g.jsonl"
    with JsonlWriter(p) as w:
        w.write({"id": "a"})
        w.write({"id": "b"})
    # a crash mid-write leaves half a line
    with p.open("a") as fh:
        fh.write('{"id": "c", "te')
    assert repair_tail(p).cut
    assert [r["id"] for r in read_jsonl(p)] == ["a", "b"]
    with JsonlWriter(p) as w:  # opening repairs too
        w.write({"id": "c"})
    assert [r["id"] for r in read_jsonl(p)] == ["a", "b", "c"]
    assert not repair_tail(p)


def test_repair_single_partial_line(tmp_path: Path) -> None:
    p = tmp_path / "g.jsonl"
    p.write_text('{"id": ')
    repair_tail(p)
    assert p.read_text() == ""


def test_malformed_line_reported_with_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\nnot json\n\n[1]\n{"a": 2}\n')
    errors: list[tuple[int, str]] = []
    rows = list(iter_jsonl(p, lambda path, line, msg: errors.append((line, msg))))
    assert [r for _, r in rows] == [{"a": 1}, {"a": 2}]
    assert [line for line, _ in errors] == [2, 4]
    with pytest.raises(InputError, match=r"x.jsonl:2: malformed JSON"):
        read_jsonl(p)
    with pytest.raises(InputError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_atomic_writers(tmp_path: Path) -> None:
    assert write_jsonl(tmp_path / "o.jsonl", [{"x": 1}, {"x": 2}]) == 2
    write_json(tmp_path / "o.json", {"k": [1]})
    assert json.loads((tmp_path / "o.json").read_text()) == {"k": [1]}
    assert not list(tmp_path.glob("*.tmp"))


def test_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    """Data loss #1: a complete record that lacks only its newline is kept (the newline is added)."""
    p = tmp_path / "g.jsonl"
    p.write_text('{"id": "a"}\n{"id": "b"}', encoding="utf-8")
    fixed = repair_tail(p)
    assert fixed.completed and not fixed.cut and "kept it" in fixed.describe(p)
    assert p.read_text(encoding="utf-8") == '{"id": "a"}\n{"id": "b"}\n'
    p.write_text('{"id": "a"}\n{"id": "b", "te', encoding="utf-8")
    fixed = repair_tail(p)
    assert fixed.cut == b'{"id": "b", "te' and "cut a torn last line of 15 bytes" in fixed.describe(p)
    assert p.read_text(encoding="utf-8") == '{"id": "a"}\n'
    p.write_text('{"id": "a"}\n[1, 2]', encoding="utf-8")  # valid JSON, but not a record: torn
    assert repair_tail(p).cut == b"[1, 2]"
