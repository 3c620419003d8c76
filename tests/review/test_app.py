"""The review API on a real generate + filter run: listing, facets, search, decisions, the token,
escaping and what the server refuses to serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sarcgen.review.app import TOKEN_HEADER, create_app
from sarcgen.review.index import RunIndex
from tests.review.conftest import JUDGED_OUT, XSS, XSS_ID

TOKEN = "t" * 43


def client_for(run: Path) -> TestClient:
    index = RunIndex(run)
    return TestClient(create_app(index, TOKEN, "tester"), headers={TOKEN_HEADER: TOKEN})


@pytest.fixture()
def client(fresh_run: Path) -> TestClient:
    return client_for(fresh_run)


def records(client: TestClient, **params: object) -> dict:
    res = client.get("/api/records", params=params)
    assert res.status_code == 200, res.text
    return res.json()


def test_listing_pages_and_counts_match_the_filter_report(client: TestClient, fresh_run: Path) -> None:
    report = json.loads((fresh_run / "filter_report.json").read_text())
    first = records(client, limit=10)
    assert first["total"] == report["total"] + 1  # + the failed generation in rejected.jsonl
    assert len(first["rows"]) == 10 and first["offset"] == 0
    second = records(client, limit=10, offset=10)
    assert {r["key"] for r in first["rows"]}.isdisjoint(r["key"] for r in second["rows"])
    assert [r["plan_index"] for r in first["rows"]] == sorted(r["plan_index"] for r in first["rows"])
    summary = client.get("/api/summary").json()
    assert summary["kept"] == report["kept"] and summary["filter_total"] == report["total"]
    assert summary["by_stage"] == report["by_stage"]
    outcome = first["facets"]["outcome"]
    assert outcome["kept"] == report["kept"]
    for stage, reasons in report["by_stage"].items():
        for reason, n in reasons.items():
            assert outcome[f"{stage}: {reason}"] == n
    assert outcome["generate: empty"] == 1
    cov = client.get("/api/coverage").json()
    for i, dev in enumerate(cov["devices"]):
        for j, asp in enumerate(cov["aspects"]):
            assert cov["before"][i][j] == report["cells_before"].get(dev, {}).get(asp, 0)
            assert cov["after"][i][j] == report["cells_after"].get(dev, {}).get(asp, 0)


def test_facets_filter_and_count_under_the_other_filters(client: TestClient) -> None:
    all_rows = records(client, limit=200)
    neg = records(client, f="label:negative", limit=200)
    assert neg["total"] == all_rows["facets"]["label"]["negative"]
    assert {r["label"] for r in neg["rows"]} == {"negative"}
    # the label facet still shows "positive" (what a click would add); other facets are narrowed
    assert neg["facets"]["label"]["positive"] == all_rows["facets"]["label"]["positive"]
    assert "sincere" not in neg["facets"]["device"]
    both = records(client, f=["label:negative", "label:positive"], limit=200)
    assert both["total"] == neg["total"] + all_rows["facets"]["label"]["positive"]
    dropped = records(client, f="outcome:dedupe: near_duplicate")
    assert dropped["total"] == 1 and dropped["rows"][0]["stage"] == "dedupe"
    devices = records(client, f=["label:negative", "device:hyperbolic praise"])
    assert devices["total"] and all(r["device"] == "hyperbolic praise" for r in devices["rows"])
    assert records(client, sort="words", desc="true", limit=3)["rows"][0]["words"] == max(r["words"] for r in all_rows["rows"])
    assert client.get("/api/records", params={"sort": "nonsense"}).status_code == 400


def test_judge_verdicts_are_a_facet_and_the_answer_is_shown(client: TestClient, fresh_run: Path) -> None:
    report = json.loads((fresh_run / "filter_report.json").read_text())
    judge = records(client)["facets"]["judge"]
    assert judge["agrees"] == report["kept"] and judge["disagrees"] == 1
    d = client.get(f"/api/records/{JUDGED_OUT}").json()
    assert d["stage"] == "judge" and d["judge"] == "disagrees"
    assert d["judge_answer"]["answer"] == "sentiment: positive\nsarcastic: no" and d["judge_answer"]["judge_label"] == 1


def test_search_finds_terms_in_text_and_id(client: TestClient) -> None:
    hit = records(client, q="ONERROR alert")
    assert hit["total"] == 1 and hit["rows"][0]["id"] == XSS_ID and XSS in hit["rows"][0]["text"]
    assert records(client, q="onerror nosuchword")["total"] == 0
    by_id = records(client, q="000005-s")
    assert [r["id"] for r in by_id["rows"]] == ["000005-s"]


def test_detail_has_cluster_provenance_and_prompt(client: TestClient) -> None:
    d = client.get("/api/records/000005-s").json()
    assert d["stage"] == "dedupe" and d["provenance"]["backend"] == "fake"
    assert [m["id"] for m in d["cluster"]] == ["000004-s", "000005-s"] and all(m["text"] for m in d["cluster"])
    assert d["rejection"]["reason"] == "near_duplicate"
    p = client.get("/api/records/000005-s/prompt").json()
    assert p["matches_provenance"] is True and p["messages"][-1]["role"] == "user"
    assert "sarcastic" in p["messages"][-1]["content"]
    twin = client.get("/api/records/000000-t").json()["twin"]
    assert twin["id"] == "000000-s"
    assert client.get("/api/records/nope").status_code == 404


def test_a_file_rewritten_under_the_page_is_reported_not_misread(client: TestClient, fresh_run: Path) -> None:
    assert client.get("/api/records/000002-s").json()["stale"] is False
    (fresh_run / "filtered.jsonl").write_text("")  # e.g. `sarcgen filter` ran again
    d = client.get("/api/records/000002-s").json()
    assert d["stale"] is True and d["record"] is None and d["text"]  # the indexed fields still show


def test_decisions_are_appended_and_last_one_wins(client: TestClient, fresh_run: Path) -> None:
    def post(key: str, kind: str) -> Any:
        return client.post("/api/decisions", json={"key": key, "decision": kind})

    assert post("000001-s", "reject").json()["row"]["decision"]["decision"] == "reject"
    flipped = post("000002-s", "flip").json()
    assert flipped["row"]["decision"]["label"] == 1 and flipped["decisions"]["flip"] == 1
    post("000003-t", "accept")
    post("000003-t", "clear")
    lines = [json.loads(x) for x in (fresh_run / "review.jsonl").read_text().splitlines()]
    assert [x["decision"] for x in lines] == ["reject", "flip", "accept", "clear"]
    assert all(x["reviewer"] == "tester" and x["time"] for x in lines)
    assert records(client, f="decision:reject")["total"] == 1
    # a restart reads them back
    again = client_for(fresh_run)
    rows = {r["id"]: r for r in again.get("/api/records", params={"limit": 200}).json()["rows"]}
    assert rows["000001-s"]["decision"]["decision"] == "reject"
    assert rows["000002-s"]["decision"]["label"] == 1 and rows["000003-t"]["decision"] is None
    assert post("gen:nope", "reject").status_code == 404
    failed = next(r["key"] for r in rows.values() if r["stage"] == "generate")
    assert post(failed, "reject").status_code == 400
    assert post("000001-s", "delete").status_code == 422


def test_every_request_needs_the_token(fresh_run: Path) -> None:
    app = create_app(RunIndex(fresh_run), TOKEN, "tester")
    bare = TestClient(app)
    for path in ("/", "/api/records", "/api/records/000001-s", "/api/summary", "/static/review.js", "/nope"):
        assert bare.get(path).status_code == 403, path
        assert bare.get(path, params={"token": "wrong"}).status_code == 403, path
    assert bare.post("/api/decisions", json={"key": "000001-s", "decision": "reject"}).status_code == 403
    assert not (fresh_run / "review.jsonl").exists()
    assert bare.get("/", params={"token": TOKEN}).status_code == 200
    assert bare.get("/api/summary", headers={TOKEN_HEADER: TOKEN}).status_code == 200


def test_page_escapes_model_text_and_sets_a_strict_csp(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "<img src=x" not in page.text  # the first page's data is JSON with < escaped
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    js = client.get("/static/review.js").text
    assert ".innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


@pytest.mark.parametrize("path", [
    "/static/../../app.py", "/static/..%2F..%2Fapp.py", "/static/%2e%2e/%2e%2e/app.py", "/static/../templates/review.html",
    "/files/../recipe.yaml", "/files/..%2Frecipe.yaml", "/files/recipe.yaml", "/files/generated.jsonl",
    "/files/%2Fetc%2Fpasswd", "/static/%2Fetc%2Fpasswd", "/files/review.jsonl", "/static//etc/passwd",
])
def test_no_path_outside_the_allowed_files_is_served(client: TestClient, path: str) -> None:
    res = client.get(path)
    assert res.status_code == 404, (path, res.status_code, res.text[:200])


def test_the_allowed_files_are_served(client: TestClient, fresh_run: Path, tmp_path: Path) -> None:
    assert client.get("/static/review.css").headers["content-type"].startswith("text/css")
    png = client.get("/files/filter_lengths.png")
    assert png.status_code == 200 and png.content == (fresh_run / "filter_lengths.png").read_bytes()
    (fresh_run / "filter_lengths.png").unlink()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (fresh_run / "filter_lengths.png").symlink_to(secret)  # a link out of the run folder is refused
    assert client.get("/files/filter_lengths.png").status_code == 404


def test_the_wheel_ships_the_page() -> None:
    import fnmatch

    import tomllib

    import sarcgen

    patterns = tomllib.loads((Path(sarcgen.__file__).parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sarcgen"]
    package = Path(sarcgen.__file__).parent
    files = [p.relative_to(package).as_posix() for d in ("review/static", "review/templates") for p in (package / d).iterdir()]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), (files, patterns)
