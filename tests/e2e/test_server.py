"""`sarcgen generate --backend openai` against a REAL server: llama-cpp-python's `llama_cpp.server`
(its `server` extra) started by the test on 127.0.0.1 with the tiny GGUF.

The second test SIGKILLs the server mid-run: the run must stop with a clear error (no traceback,
no fake records), keep every accepted record, and, once the server is back, the same command must
resume and finish with exactly the expected ids: the plan's items in order, minus those that used
up their retries, none twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sarcgen.errors import BackendError
from tests.factories import read_records
from tests.http_helpers import Server, free_port, subprocess_env

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "recipes" / "smoke.yaml")

pytestmark = pytest.mark.llama


@pytest.fixture
def server(tmp_path: Path, tiny_gguf: Path, llama_cpp):
    srv = Server(tiny_gguf, free_port(), tmp_path / "server.log").start()
    yield srv
    srv.kill()


def test_generate_through_a_real_server(server: Server, tmp_path: Path, capsys) -> None:
    from sarcgen.cli import main

    out = tmp_path / "run"
    try:
        main(["generate", "-r", SMOKE, "--backend", "openai", "--base-url", server.url, "--parallel", "2",
              "--n", "6", "--out", str(out), "-q"])
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    recs = read_records(out / "generated.jsonl")
    assert len(recs) == 6 == len({r["id"] for r in recs})
    for r in recs:
        p = r["provenance"]
        assert p["backend"] == "openai" and p["model_file"] == str(server.model) and p["model_sha256"] == "unknown"
        assert r["text"].strip()
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["model"]["base_url"] == server.url and m["tokens"]["completion"] > 0
    assert "Generated: 6/6" in capsys.readouterr().out


def _generate(url: str, out: Path, n: int, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, "--backend", "openai", "--base-url", url,
         "--parallel", "2", "--n", str(n), "--out", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=subprocess_env(SARCGEN_HTTP_RETRIES="3", SARCGEN_HTTP_BACKOFF="0.05", SARCGEN_CACHE_DIR=str(tmp_path / "c")),
    )


def test_server_killed_mid_run_then_resumed(server: Server, tmp_path: Path) -> None:
    from sarcgen.generate.plan import Plan
    from sarcgen.recipe import load_recipe

    out, n = tmp_path / "run", 60
    gen = out / "generated.jsonl"
    proc = _generate(server.url, out, n, tmp_path)
    end = time.monotonic() + 90
    while len(read_records(gen)) < 8:
        assert proc.poll() is None, f"finished before the server could be killed: {proc.stderr.read()}"
        assert time.monotonic() < end, "no progress"
        time.sleep(0.02)
    server.kill()  # SIGKILL, mid-run
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == BackendError.exit_code, err
    assert "Traceback" not in err
    assert f"the server at {server.url} did not answer" in err and "rerun the same command" in err
    raw = gen.read_bytes()
    assert raw.endswith(b"\n")  # nothing half-written
    saved = [r["id"] for r in read_records(gen)]
    assert 8 <= len(saved) < n and len(saved) == len(set(saved))
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"

    server.start()  # same port, same model
    proc = _generate(server.url, out, n, tmp_path)
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Resumed" in stdout
    final = gen.read_bytes()
    assert final.startswith(raw)  # nothing accepted before the kill was lost or rewritten
    ids = [r["id"] for r in read_records(gen)]
    exhausted = {r["id"] for r in read_records(out / "rejected.jsonl") if r.get("final")}
    recipe = load_recipe(SMOKE, {"generate.n": n})
    expected = []
    for item in Plan(recipe.generate):
        if item.id not in exhausted:
            expected.append(item.id)
        if len(expected) == n:
            break
    assert len(ids) == n == len(set(ids))
    assert sorted(ids) == sorted(expected)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["accepted"] == n and len(m["sessions"]) == 2
