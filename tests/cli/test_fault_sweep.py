"""The fault sweep: bad input and faults through the real CLI, each in its own process.

Every case must end with a non-zero exit, no "Traceback" anywhere in the output, and exactly one
`Error:` line that names the file, flag or key at fault. Families: file-system errors in every
command that writes (a full disk and a read-only folder are small tmpfs mounts, so those cases
need root and skip otherwise), bytes that are not UTF-8, truncated .gz files, flags checked late
or blamed on the wrong source, `sarcgen run` checking every stage before the first, input as
editors save it and YAML as people write it (duplicate keys, `no` read as false, tabs), and the rest
(torn shards, pickled weights, a prompt longer than the context).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "recipes" / "smoke.yaml"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def sarcgen(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m sarcgen.cli ARGS` with this tree first on the path, offline."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "sarcgen.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the failure contract and return the `Error:` line."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out
    return errors[0]


# ------------------------------------------------------------------------------------ the world
@dataclass
class World:
    """Run folders and broken files shared by every case (built once, never modified by a case)."""

    root: Path
    run: Path  # a generate run folder (fake backend)
    good: Path  # a run folder with a filtered.jsonl that publishes

    def p(self, name: str) -> Path:
        return self.root / name


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from sarcgen.backends.fake import FakeBackend
    from sarcgen.generate.run import generate_run
    from sarcgen.recipe import load_recipe
    from tests.factories import make_reviews, make_run

    root = tmp_path_factory.mktemp("sweep")
    run = root / "run"
    generate_run(load_recipe(SMOKE, {"generate.backend": "fake"}), out_dir=run, backend=FakeBackend(), progress=False)
    good = make_run(root / "goodroot", make_reviews(24))
    shutil.copy(good / "filtered.jsonl", good / "generated.jsonl")  # what filter reads
    from sarcgen.publish.run import publish_run
    from sarcgen.recipe import PublishSettings

    publish_run(good, good / "dataset", PublishSettings(allow_missing_class=True))  # what finetune-compare reads
    w = World(root, run, good)
    _write(w.p("bad.yaml"), b"name: x\ngenerate:\n  n: 3\n  seed: 1\x99\n")
    _write(w.p("bad.j2"), b"[[user]]\n{{ item.cue }} \xff\xfe\n")
    _write(w.p("bad.csv"), b"text,label\nfine,1\n\xff\xfe bad,0\n")
    _write(w.p("bad.txt"), b"one\n\xffbad\n")
    _write(w.p("notgz.csv.gz"), b"hello\n")
    rows = "".join(f'"review number {i} was fine",{i % 2}\n' for i in range(4000))
    _write(w.p("trunc.csv.gz"), gzip.compress(("text,label\n" + rows).encode())[:3000])
    _write(w.p("afile"), b"x\n")
    _write(w.p("base.csv"), ("text,label\n" + "".join(f"review {i} was {'good fun' if i % 2 else 'dull'},{i % 2}\n"
                                                      for i in range(60))).encode())
    _write(w.p("fake.yaml"), f"name: fake\noutput_dir: {root / 'outputs'}\ngenerate:\n  n: 4\n  backend: fake\n"
           f"finetune:\n  base_data: {root / 'nope'}\n".encode())
    _write(w.p("ctx.yaml"), b"name: ctx\ngenerate:\n  n: 2\n  n_ctx: 256\n")
    _write(w.p("badsplit.yaml"), b"name: z\ngenerate:\n  backend: fake\npublish:\n  train: 0.5\n  validation: 0.1\n  test: 0.1\n")
    _write(w.p("against.yaml"), b"name: z\ngenerate:\n  backend: fake\nfilter:\n  against: [missing-eval.txt]\n")
    _write(w.p("pickle/config.json"), b"{}\n")
    _write(w.p("pickle/pytorch_model.bin"), b"\x80\x04not really a pickle")
    for name, tail in (("nonutf8", b"\xff\xfe garbage\n"), ("torn", b'{"id": "000099-s", "te')):
        shutil.copytree(run, w.p(name))
        with (w.p(name) / "generated.jsonl").open("ab") as fh:
            fh.write(tail)
    shutil.copytree(good, w.p("goodu"))
    with (w.p("goodu") / "filtered.jsonl").open("ab") as fh:
        fh.write(b"\xff\xfe\n")
    shutil.copytree(run, w.p("runy"))
    _write(w.p("runy") / "recipe.yaml", b"name: x\xff\n")
    shutil.copytree(good, w.p("goodr"))
    _write(w.p("goodr") / "recipe.yaml", b"name: r\npublish:\n  train: 2.0\n")
    _write_input_cases(w)
    shutil.copytree(run, w.p("runm"))
    _write(w.p("runm") / "manifest.json", b'\xff{"a": 1}')
    _write_contract_cases(w)
    return w


def _write_contract_cases(w: World) -> None:
    """The contracts' new inputs: a backend name, the judge template's two places, a newer fingerprint."""
    _write(w.p("y-backend.yaml"), b"name: b\ngenerate:\n  backend: vllm\n")
    _write(w.p("y-judge.yaml"), b"generate:\n  judge_template: a.j2\nfilter:\n  judge_template: b.j2\n")
    _write(w.p("y-plugin-section.yaml"), b"generate:\n  backend: fake\n  llamacpp:\n    base_url: http://h:1/v1\n")
    shutil.copytree(w.run, w.p("runv"))
    manifest = json.loads((w.p("runv") / "manifest.json").read_text())
    (w.p("runv") / "manifest.json").write_text(json.dumps({**manifest, "fingerprint_version": 99}))


def _write_input_cases(w: World) -> None:
    """Recipes and tables as editors and YAML get them wrong (tests/test_inputs.py has the full list)."""
    recipes = {"dup": "name: x\ngenerate:\n  n: 3\n  n: 5\n", "norway": "generate:\n  attributes:\n    cues: [no, yes]\n",
               "boolseed": "generate:\n  seed: yes\n", "octal": "generate:\n  seed: 010\n", "tab": "generate:\n\tn: 3\n",
               "twodocs": "name: a\n---\nname: b\n", "emptyn": "generate:\n  n:\n", "case": "Generate:\n  n: 3\n",
               "rev": "model:\n  revision: 1.10\n", "inf": "generate:\n  max_generated: .inf\n"}
    for name, text in recipes.items():
        _write(w.p(f"y-{name}.yaml"), text.encode())
    _write(w.p("extra.csv"), b"text,label\nit was great, really,1\n")
    _write(w.p("cp1252.csv"), "text,label\ncaf\u00e9 was dull,0\n".encode("cp1252"))
    _write(w.p("dupcol.csv"), b"text,label,text\na,1,b\n")
    _write(w.p("dupkey.jsonl"), b'{"text": "a", "label": 1, "label": 0}\n')
    _write(w.p("empty.csv"), b"")
    shutil.copytree(w.run, w.p("rundup"))
    _write(w.p("rundup") / "recipe.yaml", b"name: r\ngenerate:\n  n: 3\n  backend: fake\n  n: 4\n")
    shutil.copytree(w.good, w.p("goodutf16"))
    _write(w.p("goodutf16") / "filtered.jsonl", '{"id": "a"}\n'.encode("utf-16"))


# ------------------------------------------------------------------------------- mounts (root)
@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`mount("full")`: a 64 KiB tmpfs already almost full; `mount("ro")`: a read-only tmpfs."""
    mounted: list[Path] = []

    def make(kind: str, free_kib: int = 8) -> Path:
        if not IS_ROOT:
            pytest.skip("needs root to mount a small tmpfs")
        d = tmp_path / f"mnt-{kind}-{len(mounted)}"
        d.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)], capture_output=True, check=False).returncode:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(d)
        if kind == "full":
            (d / "filler").write_bytes(b"\0" * ((64 - free_kib) * 1024))
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)
        return d

    yield make
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], check=False)


# ----------------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # {run} {good} {w} {gguf} {full} {ro} are filled in
    expect: str  # regex the Error: line must match (names the file, flag or key)


FS = [  # file-system errors in every command that writes
    Case("generate-full", ("generate", "-r", str(SMOKE), "--backend", "fake", "--n", "400", "--out", "{full}/g", "-q"),
         r"full-0/g/(generated|rejected)\.jsonl: No space left on device"),
    Case("generate-readonly", ("generate", "-r", str(SMOKE), "--backend", "fake", "--out", "{ro}/g", "-q"), r"ro-0/g: Read-only file system"),
    Case("generate-below-a-file", ("generate", "-r", str(SMOKE), "--backend", "fake", "--out", "{w}/afile/g", "-q"), r"afile/g: Not a directory"),
    Case("filter-full", ("filter", "{good}", "--out", "{full}/f", "-q"), r"full-0/f/\S+: No space left on device"),
    Case("filter-readonly", ("filter", "{good}", "--out", "{ro}/f", "-q"), r"ro-0/f: Read-only file system"),
    Case("filter-below-a-file", ("filter", "{good}", "--out", "{w}/afile/f", "-q"), r"afile/f: Not a directory"),
    Case("publish-full", ("publish", "{good}", "--out", "{full}/d"), r"full-0/d/\S+: No space left on device"),
    Case("publish-readonly", ("publish", "{good}", "--out", "{ro}/d"), r"ro-0/d: Read-only file system"),
    Case("publish-below-a-file", ("publish", "{good}", "--out", "{w}/afile/d"), r"afile/d: Not a directory"),
    Case("merge-full", ("merge", "{run}", "--out", "{full}/m"), r"full-0/m/\S+: No space left on device"),
    Case("merge-readonly", ("merge", "{run}", "--out", "{ro}/m"), r"ro-0/m: Read-only file system"),
    Case("merge-below-a-file", ("merge", "{run}", "--out", "{w}/afile/m"), r"afile/m: Not a directory"),
    Case("finetune-readonly", ("finetune-compare", "--synthetic", "{good}", "--base-data", "{w}/base.csv", "--n-train", "8",
                               "--n-validation", "4", "--n-test", "4", "--base-model", "{w}/nope", "--out", "{ro}/ft", "-q"),
         r"ro-0/ft: Read-only file system"),
    Case("run-readonly", ("run", "{w}/badsplit.yaml", "--skip", "publish", "--skip", "finetune", "--out", "{ro}/r", "-q"),
         r"ro-0/r: Read-only file system"),
]
UTF8 = [  # bytes that are not UTF-8, in every input
    Case("recipe", ("generate", "-r", "{w}/bad.yaml", "--backend", "fake", "--dry-run"), r"bad\.yaml:4: not UTF-8"),
    Case("template", ("generate", "-r", str(SMOKE), "--template", "{w}/bad.j2", "--dry-run"), r"bad\.j2:2: not UTF-8"),
    Case("run-recipe", ("filter", "{w}/runy", "-q"), r"runy/recipe\.yaml:1: not UTF-8"),
    Case("filtered-jsonl", ("publish", "{w}/goodu", "--out", "{w}/ds-goodu"), r"goodu/filtered\.jsonl:\d+: not UTF-8"),
    Case("merge-jsonl", ("merge", "{w}/nonutf8", "--out", "{w}/m-nonutf8"), r"nonutf8/generated\.jsonl:\d+: not UTF-8"),
    Case("merge-manifest", ("merge", "{w}/runm", "--out", "{w}/m-runm"), r"runm/manifest\.json:1: not UTF-8"),
    Case("against-csv", ("filter", "{good}", "--against", "{w}/bad.csv", "--out", "{w}/f1", "-q"), r"bad\.csv:3: not UTF-8 \(byte 0xff at column 1\)"),
    Case("against-txt", ("filter", "{good}", "--against", "{w}/bad.txt", "--out", "{w}/f2", "-q"), r"bad\.txt:2: not UTF-8"),
    Case("base-data", ("finetune-compare", "--synthetic", "{good}", "--base-data", "{w}/bad.csv", "--base-model", "{w}/nope",
                       "--out", "{w}/ft-bad", "-q"), r"bad\.csv:3: not UTF-8"),
    Case("predict-file", ("predict", "-m", "{w}/pickle", "--file", "{w}/bad.txt"), r"bad\.txt:2: not UTF-8"),
]
GZ = [  # truncated or broken .gz
    Case("imdb-test-truncated", ("filter", "{good}", "--imdb-test", "{w}/trunc.csv.gz", "--out", "{w}/f3", "-q"), r"trunc\.csv\.gz: .*truncated"),
    Case("against-truncated", ("filter", "{good}", "--against", "{w}/trunc.csv.gz", "--out", "{w}/f4", "-q"), r"trunc\.csv\.gz: .*truncated"),
    Case("imdb-test-not-gzip", ("filter", "{good}", "--imdb-test", "{w}/notgz.csv.gz", "--out", "{w}/f5", "-q"), r"notgz\.csv\.gz: .*gzip"),
    Case("base-data-truncated", ("finetune-compare", "--synthetic", "{good}", "--base-data", "{w}/trunc.csv.gz",
                                 "--base-model", "{w}/pickle", "--out", "{w}/ft1", "-q"), r"trunc\.csv\.gz: .*truncated"),
]
FLAGS = [  # flags checked late or blamed on the wrong source
    Case("temperature", ("generate", "-r", str(SMOKE), "--temperature", "-1", "--dry-run"), r"--temperature -1\.0: generate\.sampling\.temperature"),
    Case("generate-threads-negative", ("generate", "-r", str(SMOKE), "--threads", "-1", "--dry-run"), r"'--threads'"),
    Case("generate-threads-zero", ("generate", "-r", str(SMOKE), "--threads", "0", "--dry-run"), r"'--threads'"),
    Case("finetune-threads-zero", ("finetune-compare", "--synthetic", "{good}", "--threads", "0"), r"'--threads'"),
    Case("predict-threads-negative", ("predict", "-m", "{w}/pickle", "--threads", "-1", "text"), r"'--threads'"),
    Case("dry-run-items", ("generate", "-r", str(SMOKE), "--dry-run", "--dry-run-items", "-1"), r"'--dry-run-items'"),
    Case("n-zero", ("generate", "-r", str(SMOKE), "--n", "0", "--dry-run"), r"--n 0: generate\.n"),
    Case("parallel-zero", ("generate", "-r", str(SMOKE), "--parallel", "0", "--dry-run"), r"--parallel 0: generate\.parallel"),
    Case("twin-ratio", ("generate", "-r", str(SMOKE), "--twin-ratio", "2", "--dry-run"), r"--twin-ratio 2\.0: generate\.twin_ratio"),
    Case("near-dup-threshold", ("filter", "{good}", "--near-dup-threshold", "101", "--out", "{w}/f6", "-q"),
         r"--near-dup-threshold 101\.0: filter\.near_dup_threshold"),
    Case("publish-fractions", ("publish", "{good}", "--train", "0.5", "--out", "{w}/ds-frac"), r"publish\.train \+ publish\.validation"),
    Case("run-folder-recipe-value", ("publish", "{w}/goodr", "--out", "{w}/ds-goodr"), r"goodr/recipe\.yaml:3: publish\.train"),
    Case("shard", ("generate", "-r", str(SMOKE), "--shard", "3/2", "--dry-run"), r"shard '3/2'"),
]
ACCEPTED_BEFORE = [  # contradictory or degenerate input that used to be accepted silently
    Case("min-above-max-words", ("filter", "{good}", "--min-words", "300", "--out", "{w}/f7", "-q"),
         r"--min-words 300: filter: .*min_words 300 is above max_words"),
    Case("dedupe-everything", ("filter", "{good}", "--near-dup-threshold", "5", "--out", "{w}/f8", "-q"),
         r"--near-dup-threshold 5\.0: filter\.near_dup_threshold: .*50"),
    Case("filter-into-another-run", ("filter", "{run}", "--out", "{w}/runm", "-q"), r"--out \S+runm is another run folder"),
    Case("force-and-skip", ("run", "{w}/fake.yaml", "--force", "filter", "--skip", "filter"), r"--force filter and --skip filter"),
    Case("judge-model-and-base-url", ("filter", "{good}", "--judge", "--judge-model", "{w}/x.gguf", "--base-url",
                                      "http://127.0.0.1:9", "--out", "{w}/f9", "-q"), r"--judge-model and --base-url contradict"),
]
RUN = [  # sarcgen run checks every stage's settings before the first stage starts
    Case("run-publish-splits", ("run", "{w}/badsplit.yaml", "--out", "{w}/r1", "-q"), r"publish\.train \+ publish\.validation"),
    Case("run-base-data", ("run", "{w}/fake.yaml", "--out", "{w}/r2", "-q"), r"finetune\.base_data: \S*nope: no such file"),
    Case("run-against", ("run", "{w}/against.yaml", "--out", "{w}/r3", "-q"), r"filter\.against: missing-eval\.txt"),
]
DRY = ("--backend", "fake", "--dry-run")
INPUTS = [  # what editors save and YAML lets pass silently (tests/test_inputs.py has every case)
    Case("recipe-duplicate-key", ("generate", "-r", "{w}/y-dup.yaml", *DRY), r"y-dup\.yaml:4: key 'n' is given twice \(lines 3 and 4\)"),
    Case("recipe-norway", ("generate", "-r", "{w}/y-norway.yaml", *DRY),
         r"y-norway\.yaml:3: generate\.attributes\.cues\.0: YAML reads no as the boolean false, not text"),
    Case("recipe-bool-number", ("generate", "-r", "{w}/y-boolseed.yaml", *DRY), r"y-boolseed\.yaml:2: generate\.seed: YAML reads yes as the boolean true"),
    Case("recipe-octal", ("generate", "-r", "{w}/y-octal.yaml", *DRY), r"y-octal\.yaml:2: YAML 1\.1 reads 010 as an octal number"),
    Case("recipe-tab", ("generate", "-r", "{w}/y-tab.yaml", *DRY), r"y-tab\.yaml:2: invalid YAML: found character '\\t'"),
    Case("recipe-two-documents", ("generate", "-r", "{w}/y-twodocs.yaml", *DRY), r"y-twodocs\.yaml:2: invalid YAML: but found another document"),
    Case("recipe-empty-value", ("generate", "-r", "{w}/y-emptyn.yaml", *DRY), r"y-emptyn\.yaml:2: generate\.n: no value given"),
    Case("recipe-key-case", ("generate", "-r", "{w}/y-case.yaml", *DRY), r"y-case\.yaml:1: Generate: unknown key \(did you mean 'generate'\?\)"),
    Case("recipe-number-as-text", ("generate", "-r", "{w}/y-rev.yaml", *DRY), r"y-rev\.yaml:2: model\.revision: YAML reads 1\.10 as the number 1\.1"),
    Case("recipe-infinity", ("generate", "-r", "{w}/y-inf.yaml", *DRY), r"y-inf\.yaml:2: generate\.max_generated: .*finite"),
    Case("run-recipe-duplicate-key", ("filter", "{w}/rundup", "--out", "{w}/f-rundup", "-q"), r"rundup/recipe\.yaml:5: key 'n' is given twice"),
    Case("against-unquoted-comma", ("filter", "{good}", "--against", "{w}/extra.csv", "--out", "{w}/f10", "-q"),
         r"extra\.csv:2: 3 field\(s\) where the header has 2"),
    Case("against-cp1252", ("filter", "{good}", "--against", "{w}/cp1252.csv", "--out", "{w}/f11", "-q"),
         r"cp1252\.csv:2: not UTF-8 \(byte 0xe9"),
    Case("against-empty", ("filter", "{good}", "--against", "{w}/empty.csv", "--out", "{w}/f12", "-q"), r"empty\.csv: empty file"),
    Case("base-data-duplicate-column", ("finetune-compare", "--synthetic", "{good}", "--base-data", "{w}/dupcol.csv",
                                        "--base-model", "{w}/nope", "--out", "{w}/ft-dupcol", "-q"), r"dupcol\.csv:1: column 'text' appears twice"),
    Case("examples-duplicate-key", ("generate", "-r", str(SMOKE), "--examples", "{w}/dupkey.jsonl", *DRY),
         r"dupkey\.jsonl:1: .*key 'label' appears twice"),
    Case("sources-unquoted-comma", ("generate", "-r", str(SMOKE), "--mode", "rewrite", "--sources", "{w}/extra.csv", *DRY),
         r"extra\.csv:2: 3 field\(s\)"),
    Case("filtered-utf16", ("publish", "{w}/goodutf16", "--out", "{w}/ds-utf16"), r"goodutf16/filtered\.jsonl:1: UTF-16 text"),
]
CONTRACTS = [  # backends from the registry, the judge template's one place, versioned fingerprints
    Case("backend-unknown-flag", ("generate", "-r", str(SMOKE), "--backend", "vllm", "--dry-run"),
         r"'vllm' is not a registered backend: choose one of .*fake"),
    Case("backend-unknown-recipe", ("generate", "-r", "{w}/y-backend.yaml", "--dry-run"),
         r"y-backend\.yaml:3: generate\.backend: 'vllm' is not a registered backend"),
    Case("backend-option-misplaced", ("generate", "-r", "{w}/y-plugin-section.yaml", "--dry-run"),
         r"y-plugin-section\.yaml:4: generate\.llamacpp\.base_url: not an option of the llamacpp backend"),
    Case("judge-template-twice", ("generate", "-r", "{w}/y-judge.yaml", *DRY), r"y-judge\.yaml:2: generate\.judge_template: a\.j2 disagrees .*judge template is the filter's"),
    Case("fingerprint-newer", ("generate", "--out", "{w}/runv", "--backend", "fake", "-q"),
         r"runv/manifest\.json: fingerprint_version 99 .*made by a newer sarcgen"),
]
OTHER = [
    Case("merge-torn-shard", ("merge", "{w}/torn", "--out", "{w}/m-torn"), r"torn/generated\.jsonl: ends in a torn line"),
    Case("prompt-longer-than-context", ("generate", "-r", "{w}/ctx.yaml", "--model", "{gguf}", "--threads", "1",
                                        "--out", "{w}/ctx", "-q"), r"generate\.llamacpp\.n_ctx 256 is too small: a prompt takes \d+ tokens"),
    Case("shard-without-items", ("generate", "-r", str(SMOKE), "--backend", "fake", "--n", "1", "--shard", "1/2",
                                 "--out", "{w}/shard-empty", "-q"), r"--shard 1/2 of generate\.n 1 gets no items"),
    Case("predict-pickle-only", ("predict", "-m", "{w}/pickle", "a text"), r"pickle/pytorch_model\.bin: pickled weights"),
]
CASES = [pytest.param(c, id=f"{fam}-{c.id}") for fam, cases in
         (("fs", FS), ("utf8", UTF8), ("gz", GZ), ("flags", FLAGS), ("accepted", ACCEPTED_BEFORE), ("run", RUN), ("inputs", INPUTS),
          ("contracts", CONTRACTS), ("other", OTHER)) for c in cases]


@pytest.mark.parametrize("case", CASES)
def test_fault_is_one_clear_line(case: Case, world: World, mount: Callable[..., Path], tiny_gguf: Path) -> None:
    fill = {"run": str(world.run), "good": str(world.good), "w": str(world.root), "gguf": str(tiny_gguf)}
    text = " ".join(case.args)
    if "{full}" in text:  # generate: room for its first files, then the records fill the disk
        fill["full"] = str(mount("full", 24 if case.id == "generate-full" else 8))
    if "{ro}" in text:
        fill["ro"] = str(mount("ro"))
    args = [a.format(**fill) for a in case.args]
    line = one_error_line(sarcgen(args, cwd=world.root))
    assert re.search(case.expect, line), line
    if case.id.startswith("run-") and "--out" in args:  # checked before the first stage: nothing was generated
        out = Path(args[args.index("--out") + 1])
        assert not (out / "generated.jsonl").exists()


def test_disk_full_generate_marks_the_manifest_interrupted_and_resumes(world: World, mount: Callable[..., Path]) -> None:
    full = mount("full", 24)
    out = full / "g"
    one_error_line(sarcgen(["generate", "-r", str(SMOKE), "--backend", "fake", "--n", "400", "--out", str(out), "-q"], world.root))
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    saved = (out / "generated.jsonl").read_bytes()
    (full / "filler").unlink()  # space again: the same command resumes without loss
    proc = sarcgen(["generate", "-r", str(SMOKE), "--backend", "fake", "--n", "40", "--out", str(out), "-q"], world.root)
    assert proc.returncode == 0, proc.stderr
    final = (out / "generated.jsonl").read_bytes()
    assert final.startswith(saved[: saved.rfind(b"\n") + 1])
    ids = [json.loads(x)["id"] for x in final.splitlines()]
    assert len(ids) == len(set(ids)) >= 40


def test_a_non_utf8_line_is_skipped_like_any_malformed_line(world: World) -> None:
    proc = sarcgen(["filter", str(world.p("nonutf8")), "--out", str(world.p("f-nonutf8")), "-q"], world.root)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(r"malformed line skipped: \S+generated\.jsonl:\d+: not UTF-8 \(byte 0xff at column 1\)", proc.stderr)


def test_ctrl_c_with_the_openai_backend_stops_at_once(world: World, stub_server: Callable[..., tuple[str, object]]) -> None:
    """Requests in flight (a server that takes a minute) do not hold Ctrl-C up; nothing is lost."""
    import signal
    import time

    url, stub = stub_server(delay=60.0)
    out = world.root / "openai-run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sarcgen.cli", "generate", "-r", str(SMOKE), "--backend", "openai",
                             "--base-url", url, "--parallel", "2", "--out", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    end = time.monotonic() + 60
    while not stub.bodies:  # type: ignore[attr-defined]
        assert proc.poll() is None and time.monotonic() < end, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 15, "Ctrl-C waited for the requests in flight"
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


def test_a_partial_run_is_published_with_a_loud_warning(world: World) -> None:
    """An interrupted generate is not refused (the records are real) but never published silently."""
    run = world.p("partial")
    shutil.copytree(world.good, run)
    (run / "manifest.json").write_text(json.dumps({"kind": "generate", "status": "interrupted", "accepted": 24, "target": 500}))
    proc = sarcgen(["publish", str(run), "--out", str(world.p("ds-partial"))], world.root)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"warning: \S+partial: generate stopped \(interrupted\) at 24/500 accepted records", proc.stderr)
