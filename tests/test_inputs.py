"""Text files as editors and tools save them, and YAML as people write it (issue 22, item 8).

Each case is a small file written here: what a reader makes of it, or the one-line error it gives.
Tables go through `sarcgen.tables` (every --against, --challenge, --examples, --sources, --dev and
base-data file), recipes through `sarcgen.recipe_yaml`; the CLI cases are in tests/cli/test_fault_sweep.py.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from sarcgen.errors import FileError, InputError, RecipeError
from sarcgen.finetune.data import load_labelled_file
from sarcgen.jsonl import iter_jsonl, read_text
from sarcgen.recipe import load_recipe
from sarcgen.tables import read_columns, read_texts

TWO_ROWS = (["it was great", "dull, dull, dull"], [1, 0])

# name, bytes: each must load as TWO_ROWS
LABELLED_OK = [
    ("utf8-bom.csv", codecs.BOM_UTF8 + b'text,label\nit was great,1\n"dull, dull, dull",0\n'),  # Notepad, Excel "CSV UTF-8"
    ("crlf.csv", b'text,label\r\nit was great,1\r\n"dull, dull, dull",0\r\n'),  # Windows
    ("lone-cr.csv", b'text,label\rit was great,1\r"dull, dull, dull",0\r'),  # old Mac
    ("utf16.csv", 'text,label\r\nit was great,1\r\n"dull, dull, dull",0\r\n'.encode("utf-16")),  # PowerShell `>`
    ("utf16be.tsv", codecs.BOM_UTF16_BE + "text\tlabel\nit was great\t1\ndull, dull, dull\t0\n".encode("utf-16-be")),
    ("excel-unicode.txt", "text\tlabel\r\nit was great\t1\r\ndull, dull, dull\t0\r\n".encode("utf-16")),  # Excel "Unicode text"
    ("trailing-blank.csv", b'text,label\nit was great,1\n"dull, dull, dull",0\n\n\n'),
    ("trailing-spaces.csv", b'text,label\nit was great,1\n"dull, dull, dull",0\n   \n\t\n'),
    ("no-final-newline.csv", b'text,label\nit was great,1\n"dull, dull, dull",0'),
    ("semicolon.csv", b"text;label\nit was great;1\ndull, dull, dull;0\n"),  # European Excel
    ("tabs.csv", b"text\tlabel\nit was great\t1\ndull, dull, dull\t0\n"),
    ("header-case.csv", b'Text , LABEL\nit was great,1\n"dull, dull, dull",0\n'),
    ("label-words.csv", b'text,label\nit was great,Positive\n"dull, dull, dull", negative \n'),
    ("label-floats.csv", b'text,label\nit was great,1.0\n"dull, dull, dull",0.0\n'),
    ("array.jsonl", json.dumps([{"text": "it was great", "label": 1}, {"text": "dull, dull, dull", "label": 0}]).encode()),
    ("bom-crlf.jsonl", codecs.BOM_UTF8 + b'{"text": "it was great", "label": 1}\r\n{"text": "dull, dull, dull", "label": 0}\r\n'),
    ("utf16.jsonl", '{"text": "it was great", "label": 1}\n{"text": "dull, dull, dull", "label": 0}\n'.encode("utf-16")),
]


@pytest.mark.parametrize(("name", "data"), LABELLED_OK, ids=[c[0] for c in LABELLED_OK])
def test_a_labelled_file_as_editors_save_it_reads_the_same(tmp_path: Path, name: str, data: bytes) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    got = load_labelled_file(p)
    assert (got.texts, got.labels) == TWO_ROWS


def test_a_quoted_line_break_and_a_u2028_stay_inside_their_text(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b'text,label\r\n"first line\r\nsecond line",1\r\n')
    assert read_columns(tmp_path / "a.csv")["text"] == ["first line\nsecond line"]
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "a\u2028b", "label": 1}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_columns(tmp_path / "a.jsonl")["text"] == ["a\u2028b"]


def test_plain_text_lines_in_every_line_ending_and_encoding(tmp_path: Path) -> None:
    for name, data in (("cr.txt", b"one\rtwo\r"), ("crlf.txt", b"one\r\ntwo\r\n"), ("bom.txt", codecs.BOM_UTF8 + b"one\ntwo"),
                       ("utf16.txt", "one\r\ntwo\r\n".encode("utf-16")), ("blank.txt", b"\n one\n\n  \ntwo\n\n")):
        (tmp_path / name).write_bytes(data)
        assert [t.strip() for t in read_texts(tmp_path / name)] == ["one", "two"], name


# name, bytes, error class, regex the message must match (file and line, and what to do)
REFUSED = [
    ("cp1252.csv", "text,label\ncaf\u00e9 was dull,0\n".encode("cp1252"), FileError,
     r"cp1252\.csv:2: not UTF-8 \(byte 0xe9 at column 4\) \(it looks like Windows-1252.*CSV UTF-8"),
    ("extra-field.csv", b"text,label\nit was great, really,1\n", InputError,
     r"extra-field\.csv:2: 3 field\(s\) where the header has 2 .*double quotes"),
    ("short-row.csv", b"text,label\nit was great,1\nno label here\n", InputError, r"short-row\.csv:3: 1 field\(s\) where the header has 2"),
    ("dup-column.csv", b"text,label,text\na,1,b\n", InputError, r"dup-column\.csv:1: column 'text' appears twice"),
    ("comment.csv", b"# my reviews\ntext,label\na,1\n", InputError, r"comment\.csv:1: starts with a comment"),
    ("empty.csv", b"", InputError, r"empty\.csv: empty file"),
    ("blank.csv", b"\n\r\n  \n", InputError, r"blank\.csv: empty file"),
    ("header-only.csv", b"text,label\n", InputError, r"header-only\.csv: no rows"),
    ("label-bool.jsonl", b'{"text": "a", "label": true}\n', InputError, r"label-bool\.jsonl: column 'label' .*first: True"),
    ("label-abbrev.csv", b"text,label\na,pos\n", InputError, r"label-abbrev\.csv: column 'label' .*'pos'.*negative / positive"),
    ("dup-key.jsonl", b'{"text": "a", "label": 1, "label": 0}\n', InputError, r"dup-key\.jsonl:1: .*key 'label' appears twice"),
    ("array-of-lists.json", b'[{"text": "a", "label": 1}, [1]]', InputError, r"array-of-lists\.json: item 2 of the JSON array is a list"),
    ("bad-array.jsonl", b'[{"text": "a", "label": 1},\n {"text": }]', InputError, r"bad-array\.jsonl:2: malformed JSON"),
    ("bad-utf16.csv", codecs.BOM_UTF16_LE + b"t\x00e\x00\x00\xd8", FileError, r"bad-utf16\.csv:1: not valid UTF-16-LE"),
]


@pytest.mark.parametrize(("name", "data", "error", "match"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_misread_file_is_refused_in_one_line(tmp_path: Path, name: str, data: bytes, error: type[Exception], match: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(error, match=match) as exc:
        load_labelled_file(p)
    assert "\n" not in str(exc.value)


def test_non_utf8_line_numbers_count_every_line_ending(tmp_path: Path) -> None:
    p = tmp_path / "r.yaml"
    p.write_bytes(b"a: 1\rb: 2\r\nc: \xff\n")
    with pytest.raises(FileError, match=r"r\.yaml:3: not UTF-8 \(byte 0xff at column 4\)"):
        read_text(p)


def test_run_folder_jsonl_drops_a_bom_and_names_utf16(tmp_path: Path) -> None:
    p = tmp_path / "g.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + b'{"id": "a"}\r\n{"id": "b"}\n')
    assert [obj["id"] for _, obj in iter_jsonl(p)] == ["a", "b"]
    p.write_bytes('{"id": "a"}\n'.encode("utf-16"))
    with pytest.raises(InputError, match=r"g\.jsonl:1: UTF-16 text"):
        list(iter_jsonl(p))


# ---------------------------------------------------------------------------------------- YAML
def _recipe(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "r.yaml"
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


YAML_OK = [  # YAML that means one thing: text, what it must give
    ("bom", codecs.BOM_UTF8 + b"name: a\ngenerate:\n  n: 3\n", ("a", 3, 1234)),
    ("crlf", b"name: a\r\ngenerate:\r\n  n: 3\r\n", ("a", 3, 1234)),
    ("lone-cr", b"name: a\rgenerate:\r  n: 3\r", ("a", 3, 1234)),
    ("utf16", "name: a\r\ngenerate:\r\n  n: 3\r\n".encode("utf-16"), ("a", 3, 1234)),
    ("hex-and-underscores", b"generate:\n  n: 1_000\n  seed: 0x10\n", ("sarcgen", 1000, 16)),
    ("quoted-number-in-text", b"name: '123'\ngenerate:\n  seed: '7'\n", ("123", 500, 7)),
    ("anchor-and-merge-key", b"generate:\n  <<: &base {n: 3, seed: 5}\n  seed: 6\n", ("sarcgen", 3, 6)),
    ("comments-and-trailing-blank", b"# study\nname: a  # why\n\n\n", ("a", 500, 1234)),
    ("empty-file", b"", ("sarcgen", 500, 1234)),
]


@pytest.mark.parametrize(("case", "text", "want"), YAML_OK, ids=[c[0] for c in YAML_OK])
def test_yaml_that_means_one_thing_loads(tmp_path: Path, case: str, text: bytes, want: tuple[str, int, int]) -> None:
    r = load_recipe(_recipe(tmp_path, text))
    assert (r.name, r.generate.n, r.generate.seed) == want


def test_yaml_booleans_stay_booleans_where_a_switch_is_wanted(tmp_path: Path) -> None:
    r = load_recipe(_recipe(tmp_path, "filter:\n  judge: yes\npublish:\n  private: off\n"))
    assert r.filter.judge is True and r.publish.private is False


YAML_REFUSED = [  # what YAML lets pass silently: text, regex of the one-line error (file:line, key, what to do)
    ("duplicate-key", "name: a\ngenerate:\n  n: 3\n  seed: 1\n  n: 5\n", r"r\.yaml:5: key 'n' is given twice \(lines 3 and 5\)"),
    ("duplicate-section", "generate:\n  n: 3\nfilter:\n  judge: no\ngenerate:\n  seed: 5\n",
     r"r\.yaml:5: key 'generate' is given twice \(lines 1 and 5\)"),
    ("norway-cues", "generate:\n  attributes:\n    cues: [no, yes]\n",
     r"r\.yaml:3: generate\.attributes\.cues\.0: YAML reads no as the boolean false, not text: quote it \('no'\)"),
    ("bool-name", "name: on\n", r"r\.yaml:1: name: YAML reads on as the boolean true, not text"),
    ("number-cues", "generate:\n  attributes:\n    cues: [1, 2]\n", r"cues\.0: YAML reads 1 as a number, not text: quote it \('1'\)"),
    ("revision-float", "model:\n  revision: 1.10\n", r"r\.yaml:2: model\.revision: YAML reads 1\.10 as the number 1\.1, not text"),
    ("date-text", "description: 2024-01-01\n", r"r\.yaml:1: description: YAML reads 2024-01-01 as a date"),
    ("bool-seed", "generate:\n  seed: yes\n", r"r\.yaml:2: generate\.seed: YAML reads yes as the boolean true, not a number"),
    ("bool-top-k", "generate:\n  sampling:\n    top_k: no\n", r"r\.yaml:3: generate\.sampling\.top_k: YAML reads no as the boolean false"),
    ("bool-in-number-list", "finetune:\n  mix: [0.1, yes]\n", r"r\.yaml:2: finetune\.mix: .*boolean"),
    ("octal-seed", "generate:\n  seed: 010\n", r"r\.yaml:2: YAML 1\.1 reads 010 as an octal number \(8\)"),
    ("base-60", "generate:\n  seed: 1:30\n", r"r\.yaml:2: YAML 1\.1 reads 1:30 as a base-60 number"),
    ("infinity", "generate:\n  max_generated: .inf\n", r"r\.yaml:2: generate\.max_generated: Input should be a finite number"),
    ("nan", "finetune:\n  learning_rate: .nan\n", r"r\.yaml:2: finetune\.learning_rate: Input should be a finite number"),
    ("set", "generate:\n  attributes:\n    cues: !!set {great, fine}\n", r"r\.yaml:3: invalid YAML: a YAML set \(!!set\) has no order"),
    ("tab-indent", "generate:\n\tn: 3\n", r"r\.yaml:2: invalid YAML: .*'\\t'.*indent with spaces"),
    ("two-documents", "name: a\n---\nname: b\n", r"r\.yaml:2: invalid YAML: .*a recipe is one YAML document"),
    ("empty-value", "generate:\n  n:\n", r"r\.yaml:2: generate\.n: no value given \(YAML reads an empty value as null\)"),
    ("empty-section", "generate:\nfilter:\n  judge: no\n", r"r\.yaml:1: generate: no value given"),
    ("null-text", "name: null\n", r"r\.yaml:1: name: YAML reads an unquoted null as null"),
    ("top-level-list", "- name: a\n", r"r\.yaml: a recipe must be a mapping of sections, got list"),
    ("key-case", "Generate:\n  n: 3\n", r"r\.yaml:1: Generate: unknown key \(did you mean 'generate'\?\)"),
    ("nested-key-case", "filter:\n  Judge: yes\n", r"r\.yaml:2: filter\.Judge: unknown key \(did you mean 'judge'\?\)"),
]


@pytest.mark.parametrize(("case", "text", "match"), YAML_REFUSED, ids=[c[0] for c in YAML_REFUSED])
def test_what_yaml_lets_pass_a_recipe_refuses_in_one_line(tmp_path: Path, case: str, text: str, match: str) -> None:
    with pytest.raises(RecipeError, match=match) as exc:
        load_recipe(_recipe(tmp_path, text))
    assert "\n" not in str(exc.value) and exc.value.exit_code == 2


def test_a_cp1252_recipe_names_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(FileError, match=r"r\.yaml:2: not UTF-8 \(byte 0xe9 at column 17\)"):
        load_recipe(_recipe(tmp_path, "name: a\ndescription: caf\u00e9\n".encode("cp1252")))


def test_a_flag_value_is_not_blamed_on_yaml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"override generate\.seed=True: generate\.seed: Value error, got a boolean"):
        load_recipe(_recipe(tmp_path, "name: a\n"), {"generate.seed": True})
