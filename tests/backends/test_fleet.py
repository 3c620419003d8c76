"""A fleet of OpenAI-compatible servers: stub HTTP servers for the fast cases (a replica that
answers 500, one that is not there, another model), real `llama_cpp.server` processes for the
slow one (a replica SIGKILLed mid-run, then all of them)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sarcgen.backends import create_backend
from sarcgen.backends.fleet import FleetBackend, read_url_file
from sarcgen.backends.pool import PoolSettings
from sarcgen.errors import BackendError, InputError
from sarcgen.recipe import load_recipe
from tests.cli_helpers import run_cli
from tests.factories import read_records, sample_records, simple_requests, write_run
from tests.http_helpers import Server, free_port, subprocess_env

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "recipes" / "smoke.yaml")


def _dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def _fleet(urls: list[str], **kw) -> FleetBackend:
    return FleetBackend(urls, parallel=kw.pop("parallel", 2), max_retries=0, backoff=0.01, timeout=5,
                        settings=PoolSettings(eject_s=kw.pop("eject_s", 30), down_after=kw.pop("down_after", 3)))


def test_a_500_replica_and_a_missing_one_are_routed_around(stub_server) -> None:
    good_url, _good = stub_server()
    bad_url, _bad = stub_server(fail=[500] * 100)
    dead = _dead_url()
    fleet = _fleet([good_url, bad_url, dead])
    fleet.load()  # the missing one is ejected at load, the others answer GET /models
    results = list(fleet.generate(iter(simple_requests(20))))
    keys = Counter(r.key for r in results)
    assert set(keys) == {f"r{i}" for i in range(20)} and set(keys.values()) == {1}
    assert all("reply to" in r.text for r in results)
    stats = {s["name"]: s for s in fleet.replica_stats()["replicas"]}
    assert stats[good_url]["done"] == 20 and stats[bad_url]["failures"] >= 1 and not stats[dead]["up"]
    assert "cannot connect" in stats[dead]["last_error"] and "HTTP 500" in stats[bad_url]["last_error"]
    assert fleet.info().extra["base_url"] == [good_url, bad_url, dead]
    assert fleet.info().model_file == "stub-model"
    fleet.close()


def test_all_down_is_one_clear_error(stub_server) -> None:
    a, _ = stub_server(fail=[503] * 1000)
    fleet = _fleet([a, _dead_url()], eject_s=0.01, down_after=2)
    fleet.load()
    with pytest.raises(BackendError, match=r"all 2 replicas are down \(http://127.0.0.1:\d+/v1: the server at .* HTTP 503"):
        list(fleet.generate(iter(simple_requests(5))))
    fleet.close()
    with pytest.raises(BackendError, match="none of the 2 servers answers"):
        _fleet([_dead_url(), _dead_url()]).load()


def test_a_replica_serving_another_model_is_refused(stub_server) -> None:
    a, _ = stub_server()
    fleet = FleetBackend([a], model="other-model")
    with pytest.raises(BackendError, match="serves stub-model, not other-model"):
        fleet.load()


def test_recipe_and_url_file(tmp_path: Path, stub_server) -> None:
    a, _ = stub_server()
    b, _ = stub_server()
    rec = load_recipe(SMOKE, {"generate.backend": "openai", "generate.base_url": [a, b, a + "/"]})
    backend = create_backend(rec)
    assert isinstance(backend, FleetBackend) and backend.urls == [a, b]
    one = create_backend(load_recipe(SMOKE, {"generate.backend": "openai", "generate.base_url": [a]}))
    assert not isinstance(one, FleetBackend)
    f = tmp_path / "urls.txt"
    f.write_text(f"# replicas\n{a}\n\n{b}  # second\n")
    assert read_url_file(f) == [a, b]
    f.write_text(f"{a}\nftp://nope\n")
    with pytest.raises(InputError, match=r"urls.txt:2: --base-url 'ftp://nope' is not an http\(s\) URL"):
        read_url_file(f)


REVIEW = "What a great film, if you enjoy checking your watch every five minutes for two hours straight."


def test_cli_fleet_through_stubs(tmp_path: Path, stub_server, capsys) -> None:
    a, _ = stub_server(reply=REVIEW)
    b, _ = stub_server(reply=REVIEW)
    urls = tmp_path / "urls.txt"
    urls.write_text(b + "\n")
    out = tmp_path / "run"
    code, _stdout, err = run_cli(["generate", "-r", SMOKE, "--backend", "openai", "--base-url", a, "--base-url-file",
                                 str(urls), "--n", "6", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["model"]["base_url"] == [a, b] and m["accepted"] == 6
    assert sum(r["done"] for r in m["replicas"]["replicas"]) >= 6
    code, _, err = run_cli(["generate", "-r", SMOKE, "--base-url-file", str(tmp_path / "missing.txt"), "--out", str(out)], capsys)
    assert code == 2 and "missing.txt: cannot read the URL file" in err


# -- real llama_cpp.server replicas ----------------------------------------------------------------


def _start_servers(model: Path, tmp_path: Path, k: int) -> list[Server]:
    servers = [Server(model, free_port(), tmp_path / f"server{i}.log") for i in range(k)]
    errors: list[BaseException] = []

    def start(s: Server) -> None:
        try:
            s.start(timeout=90)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for s in servers:
            s.kill()
        raise errors[0]
    return servers


def _expected_ids(n: int, out: Path) -> list[str]:
    from sarcgen.generate.plan import Plan

    exhausted = {r["id"] for r in read_records(out / "rejected.jsonl") if r.get("final")}
    ids = []
    for item in Plan(load_recipe(SMOKE, {"generate.n": n}).generate):
        if item.id not in exhausted:
            ids.append(item.id)
        if len(ids) == n:
            return ids
    raise AssertionError("unreachable")


def _generate(urls: list[str], out: Path, n: int, tmp_path: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "sarcgen.cli", "generate", "-r", SMOKE, "--backend", "openai", "--parallel", "2",
            "--n", str(n), "--out", str(out), "-q"]
    for u in urls:
        args += ["--base-url", u]
    env = subprocess_env(SARCGEN_HTTP_RETRIES="0", SARCGEN_EJECT_SECONDS="0.5", SARCGEN_DOWN_AFTER="2",
               SARCGEN_CACHE_DIR=str(tmp_path / "c"))
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
@pytest.mark.llama
def test_three_real_servers_one_killed_mid_run(tmp_path: Path, tiny_gguf: Path, llama_cpp) -> None:
    servers = _start_servers(tiny_gguf, tmp_path, 3)
    try:
        out, n = tmp_path / "run", 40
        gen = out / "generated.jsonl"
        proc = _generate([s.url for s in servers], out, n, tmp_path)
        end = time.monotonic() + 90
        while len(read_records(gen)) < 8:
            assert proc.poll() is None, f"finished before a server could be killed: {proc.stderr.read()}"
            assert time.monotonic() < end, "no progress"
            time.sleep(0.02)
        servers[1].kill()  # SIGKILL one replica, mid-run
        _stdout, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        ids = [r["id"] for r in read_records(gen)]
        assert len(ids) == n == len(set(ids))
        assert sorted(ids) == sorted(_expected_ids(n, out))
        m = json.loads((out / "manifest.json").read_text())
        reps = {r["name"]: r for r in m["replicas"]["replicas"]}
        assert m["status"] == "complete" and not reps[servers[1].url]["up"]
        assert reps[servers[0].url]["done"] > 0 and reps[servers[2].url]["done"] > 0
        assert f"replica {servers[1].url} failed" in (out / "generate.log").read_text()

        for s in servers:  # now every replica is gone: a clean failure, then a resume
            s.kill()
        proc = _generate([s.url for s in servers], out, n + 10, tmp_path)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == BackendError.exit_code and "Traceback" not in err
        assert "none of the 3 servers answers" in err or "all 3 replicas are down" in err
        assert len(read_records(gen)) == n  # nothing lost, nothing invented
    finally:
        for s in servers:
            s.kill()


def test_filter_judge_through_a_fleet(tmp_path: Path, stub_server, capsys) -> None:
    a, stub_a = stub_server()
    b, _ = stub_server(fail=[500] * 1000)
    out = write_run(tmp_path / "run", sample_records())
    code, stdout, err = run_cli(["filter", str(out), "--judge", "--judge-min-precision", "0", "--judge-min-recall", "0", "--base-url", a,
                                 "--base-url", b, "-q"], capsys)
    assert code == 0, err
    rep = json.loads((out / "filter_report.json").read_text())
    judge = rep["judge"]
    assert judge["backend"] == "openai" and judge["errors"] == 0 and judge["judged"] >= 1
    assert len(stub_a.bodies) >= judge["judged"]  # every review (and calibration item) by the replica that answers
    assert all(body["temperature"] == 0.0 for body in stub_a.bodies)
    assert "judge: agreement" in stdout
