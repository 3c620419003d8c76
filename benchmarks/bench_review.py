"""How fast the review page opens a 100,000-record run (`sarcgen review`).

Builds (once, cached under .bench/review-100k/) a run folder in the exact shapes the stages write:
generated.jsonl with 100,000 `Review` records (texts: real IMDB reviews cut to the recipe's
lengths), filtered.jsonl with 90% of them, filter_rejected.jsonl with the rest as `Rejection`s
(validate / dedupe / decontaminate reasons, duplicate clusters in filter_report.json), 2,000 failed
generations in rejected.jsonl, recipe.yaml and filter_report.json. The filter itself is not run:
its language check alone would take many minutes on 100,000 rows, and it is not what is measured.

Then it starts the real command (`python -m sarcgen.cli review RUN --port 0 --no-browser`) and prints:
- ready: process start -> URL printed (import + index of all rows), and the CPU time of the index
  alone (in this process: on a busy machine the wall time is mostly waiting for a core);
- the very first GET / after that (cold: nothing cached yet);
- first page: GET / (the HTML with the first 50 rows embedded) and GET /api/records, median of 7;
- search (a new query each time, so never from the cache), the next page of a search (cached),
  a facet filter, a deep page, one record's detail and one decision (median of 7);
- in Chromium (when /usr/bin/chromium exists): navigation start -> first rows on screen.

Run: flock /tmp/sarcgen-heavy.lock .venv/bin/python benchmarks/bench_review.py [--n 100000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sarcgen.jsonl import write_json, write_jsonl
from sarcgen.recipe import Recipe, save_resolved
from sarcgen.records import Provenance, Rejection, Review


def imdb_texts() -> list[str]:
    env = os.environ.get("SARCGEN_IMDB_DIR")
    dirs = [Path(env)] if env else [p / "shared" / "data" / "imdb" for p in [REPO, *REPO.parents]]
    for d in dirs:
        if (d / "train.csv.gz").is_file():
            csv.field_size_limit(2**31 - 1)
            with gzip.open(d / "train.csv.gz", "rt", encoding="utf-8") as fh:
                return [re.sub(r"<br\s*/?>", " ", row["text"]) for row in csv.DictReader(fh)]
    sys.exit("IMDB data not found: set SARCGEN_IMDB_DIR or provide ../shared/data/imdb")


def build_run(run: Path, n: int) -> None:
    """A run folder of n records in the stages' own formats (see the module docstring)."""
    recipe = Recipe.model_validate({"name": "bench-review", "generate": {"n": n, "seed": 1}})
    g = recipe.generate
    a = g.attributes
    texts = imdb_texts()
    rng = random.Random(0)
    prov = Provenance(model_file="bench.gguf", model_sha256="ab" * 32, quantization="Q4_K_M", backend="llamacpp",
                      backend_version="0.3", template_name="review.j2", template_hash="cd" * 32,
                      recipe_hash=recipe.hash(), sampling=g.sampling.model_dump(),
                      seed=0, sarcgen_version="0.1.0")
    records = []
    for i in range(n):
        group, twin = divmod(i, 2)
        length = a.lengths[i % len(a.lengths)]
        words = texts[i % len(texts)].split()[: rng.randint(length.min_words, length.max_words)]
        records.append(Review(
            id=f"{group:06d}-{'t' if twin else 's'}", plan_index=i, text=" ".join(words) or "empty", label=1 if twin else 0,
            sarcastic=not twin, device="sincere" if twin else a.devices[group % len(a.devices)],
            aspect=a.aspects[group % len(a.aspects)], genre=a.genres[(group // 3) % len(a.genres)], length=length.name,
            cue=a.cues[group % len(a.cues)], pair_id=f"{group:06d}", provenance=prov.model_copy(update={"seed": i})))
    run.mkdir(parents=True, exist_ok=True)
    write_jsonl(run / "generated.jsonl", records)
    reasons = [("validate", "too_short"), ("validate", "meta_text"), ("dedupe", "near_duplicate"),
               ("decontaminate", "contaminated")]
    kept, rejected, clusters = [], [], []
    for i, r in enumerate(records):
        if i % 10 == 9:
            stage, reason = reasons[(i // 10) % len(reasons)]
            detail = f"duplicate of {records[i - 1].id} (score 93.0)" if stage == "dedupe" else "bench"
            rejected.append(Rejection(id=r.id, plan_index=r.plan_index, stage=stage, reason=reason, detail=detail,
                                      text=r.text, record=r.model_dump(mode="json")))
            if stage == "dedupe":
                clusters.append({"kept": records[i - 1].id, "duplicates": [{"id": r.id, "reason": reason, "score": 93.0}]})
        else:
            kept.append(r)
    write_jsonl(run / "filtered.jsonl", kept)
    write_jsonl(run / "filter_rejected.jsonl", rejected)
    write_jsonl(run / "rejected.jsonl", [Rejection(id=f"{n // 2 + k:06d}-s", stage="generate", reason="truncated",
                                                   attempt=0, text="cut off mid") for k in range(2000)])
    by_stage: dict[str, dict[str, int]] = {}
    for rj in rejected:
        by_stage.setdefault(rj.stage, {}).setdefault(rj.reason, 0)
        by_stage[rj.stage][rj.reason] += 1
    write_json(run / "filter_report.json", {"total": n, "kept": len(kept), "by_stage": by_stage,
                                            "dedupe": {"clusters": clusters}})
    save_resolved(recipe, run / "recipe.yaml")


def timed(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def browser_first_rows(url: str) -> float | None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        return None
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=args)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)  # warm-up: Chromium's own start is not the page's cost
        page.wait_for_selector(".row.sel")
        times = []
        for _ in range(5):
            page.goto("about:blank")
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#detail .review")
            times.append(time.perf_counter() - t)
        browser.close()
    return statistics.median(times)


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    run = REPO / ".bench" / f"review-{args.n // 1000}k"
    if not (run / "filter_report.json").is_file():
        t = time.perf_counter()
        build_run(run, args.n)
        print(f"built {run} in {time.perf_counter() - t:.1f}s")
    (run / "review.jsonl").unlink(missing_ok=True)

    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "sarcgen.cli", "review", str(run), "--port", "0", "--no-browser",
                             "--reviewer", "bench"], stdout=subprocess.PIPE, text=True, env=env)
    url = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"http://\S+", line)
        if m:
            url = m.group(0)
            break
    ready = time.perf_counter() - t0
    try:
        base, token = url.split("/?token=")
        words = iter(["boring acting", "plot twist", "brilliant", "waste of time", "sequel", "the ending", "cinematography"])
        client = httpx.Client(base_url=base, headers={"X-Review-Token": token}, timeout=60)
        t = time.perf_counter()
        client.get("/").raise_for_status()
        cold = time.perf_counter() - t
        results = {
            "records": args.n + 2000,
            "ready_s": ready,
            "first_request_cold_s": cold,
            "first_page_html_s": timed(lambda: client.get("/").raise_for_status()),
            "first_page_api_s": timed(lambda: client.get("/api/records", params={"limit": 50}).raise_for_status()),
            "search_s": timed(lambda: client.get("/api/records", params={"q": next(words)}).raise_for_status()),
            "search_next_page_s": timed(lambda: client.get("/api/records", params={"q": "boring", "offset": 50}).raise_for_status()),
            "facet_s": timed(lambda: client.get("/api/records", params={"f": ["label:negative", "device:deadpan"]}).raise_for_status()),
            "deep_page_s": timed(lambda: client.get("/api/records", params={"offset": args.n - 50}).raise_for_status()),
            "sort_words_s": timed(lambda: client.get("/api/records", params={"sort": "words", "desc": "true"}).raise_for_status()),
            "detail_s": timed(lambda: client.get("/api/records/000123-s").raise_for_status()),
            "decision_s": timed(lambda: client.post("/api/decisions", json={"key": "000123-s", "decision": "accept"}).raise_for_status()),
            "html_bytes": len(client.get("/").content),
        }
        results["browser_first_rows_s"] = browser_first_rows(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        (run / "review.jsonl").unlink(missing_ok=True)
    from sarcgen.review.index import RunIndex

    cpu = time.process_time()
    RunIndex(run)
    results["index_cpu_s"] = time.process_time() - cpu
    for k, v in results.items():
        print(f"{k:>22}: {v * 1000:.1f} ms" if isinstance(v, float) else f"{k:>22}: {v}")
    write_json(REPO / ".bench" / "bench_review.json", results)


if __name__ == "__main__":
    main()
