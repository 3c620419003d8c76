"""`sarcgen generate --executor ray` on a real Ray cluster on 127.0.0.1 with the tiny GGUF.

- a private local Ray started on demand (in this process) runs a small generate over 2 workers,
  and the filter's judge over 2 workers;
- a `ray start --head` cluster serves a longer run from a driver subprocess: one worker process is
  SIGKILLed mid-run (its requests are re-sent, Ray restarts it and it rejoins), then the driver is
  SIGKILLed; rerunning the same command resumes, and the result has exactly the plan's ids, none
  twice, with every record accepted before the kills kept byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sarcgen.generate.plan import Plan
from sarcgen.recipe import load_recipe
from tests.factories import read_records, sample_records, write_run
from tests.http_helpers import free_port

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "recipes" / "smoke.yaml")
RAY = str(Path(sys.executable).with_name("ray"))

pytestmark = [pytest.mark.slow, pytest.mark.llama]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "SARCGEN_CACHE_DIR": str(tmp_path / "c"),
            "RAY_USAGE_STATS_ENABLED": "0", **extra}


def _expected_ids(n: int, out: Path) -> list[str]:
    exhausted = {r["id"] for r in read_records(out / "rejected.jsonl") if r.get("final")}
    ids: list[str] = []
    for item in Plan(load_recipe(SMOKE, {"generate.n": n}).generate):
        if item.id not in exhausted:
            ids.append(item.id)
        if len(ids) == n:
            break
    return ids


def test_local_ray_started_on_demand(tmp_path: Path, tiny_gguf: Path, llama_cpp, monkeypatch) -> None:
    from sarcgen.generate.run import generate_run

    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the workers import this tree's sarcgen
    rec = load_recipe(SMOKE, {"model.path": str(tiny_gguf), "generate.n": 12, "generate.executor": "ray",
                              "generate.workers": 2, "generate.n_threads": 1})
    out = tmp_path / "run"
    s = generate_run(rec, out_dir=out, progress=False)
    assert s.status == "complete" and s.accepted == 12
    ids = [r["id"] for r in read_records(out / "generated.jsonl")]
    assert sorted(ids) == sorted(_expected_ids(12, out))
    m = json.loads((out / "manifest.json").read_text())
    assert m["model"]["executor"] == "ray" and m["model"]["workers"] == 2 and m["model"]["sha256"] != "unknown"
    assert [r["name"] for r in m["replicas"]["replicas"]] == ["ray worker 0", "ray worker 1"]
    assert sum(r["done"] for r in m["replicas"]["replicas"]) == 12
    assert {r["provenance"]["backend"] for r in read_records(out / "generated.jsonl")} == {"llamacpp"}
    log = (out / "generate.log").read_text()
    assert "ray worker 0 ready" in log and "ray worker 1 ready" in log
    import ray

    assert not ray.is_initialized()  # the private local Ray was stopped


def test_judge_in_ray_workers(tmp_path: Path, tiny_gguf: Path, llama_cpp, monkeypatch) -> None:
    from sarcgen.filter.run import run_filter

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    run = write_run(tmp_path / "run", sample_records())
    rec = load_recipe(SMOKE, {"model.path": str(tiny_gguf), "filter.judge": True, "filter.judge_min_precision": 0, "filter.judge_min_recall": 0,
                              "generate.executor": "ray",
                              "generate.workers": 2, "generate.n_threads": 1})
    rep = run_filter([run], rec, None, progress=False)
    assert rep.judge is not None and rep.judge["backend"] == "llamacpp"
    assert rep.judge["judged"] == rep.stage_in["judge"] > 0 and rep.judge["errors"] == 0


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[str]:
    """`ray start --head --block` on 127.0.0.1 (2 CPUs, no dashboard) in its own process group."""
    port = free_port()
    log = (tmp_path / "ray-head.log").open("wb")
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1", "--num-cpus", "2",
         "--include-dashboard", "false", "--dashboard-agent-listen-port", str(free_port()),
         "--object-store-memory", str(100 * 1024**2), "--disable-usage-stats"],
        stdout=log, stderr=subprocess.STDOUT, env=_env(tmp_path), start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        end = time.monotonic() + 90
        while b"Ray runtime started" not in (tmp_path / "ray-head.log").read_bytes():
            assert proc.poll() is None, (tmp_path / "ray-head.log").read_text()[-3000:]
            assert time.monotonic() < end, "ray start did not come up"
            time.sleep(0.2)
        yield address
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


def _driver(address: str, out: Path, n: int, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, "--model", str(tmp_path / "tiny.gguf"),
         "--executor", "ray", "--ray-address", address, "--workers", "2", "--threads", "1",
         "--n", str(n), "--out", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(tmp_path, SARCGEN_EJECT_SECONDS="0.5"),
    )


def _wait(cond, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"the driver ended before {what}: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_worker_and_driver_killed_then_resumed(tmp_path: Path, tiny_gguf: Path, llama_cpp, ray_cluster: str) -> None:
    (tmp_path / "tiny.gguf").write_bytes(tiny_gguf.read_bytes())
    out, n = tmp_path / "run", 300
    gen, log = out / "generated.jsonl", out / "generate.log"
    def text() -> str:
        return log.read_text() if log.exists() else ""

    proc = _driver(ray_cluster, out, n, tmp_path)
    _wait(lambda: "ray worker 1 ready" in text() and len(read_records(gen)) >= 10, proc, "10 records")
    pid = int(re.search(r"ray worker 1 ready: pid (\d+)", text()).group(1))
    os.kill(pid, signal.SIGKILL)  # a worker process, mid-run
    _wait(lambda: "replica ray worker 1 answers again" in text(), proc, "the restarted worker to rejoin")
    assert "replica ray worker 1 failed" in text()
    proc.kill()  # now the driver, mid-run
    proc.wait(timeout=30)
    raw = gen.read_bytes()
    durable = raw[: raw.rfind(b"\n") + 1]
    saved = [json.loads(x)["id"] for x in durable.decode().splitlines()]
    assert 10 <= len(saved) < n and len(saved) == len(set(saved))

    proc = _driver(ray_cluster, out, n, tmp_path)
    stdout, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "Resumed" in stdout
    final = gen.read_bytes()
    assert final.startswith(durable)  # nothing accepted before the kills was lost or rewritten
    ids = [json.loads(x)["id"] for x in final.decode().splitlines()]
    assert len(ids) == n == len(set(ids))
    assert sorted(ids) == sorted(_expected_ids(n, out))
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["accepted"] == n and m["model"]["ray_address"] == ray_cluster
