"""The review page in a real browser: Debian's headless Chromium driven by Playwright.

A run made by `sarcgen generate --backend fake` + `sarcgen filter` is served by the real
`sarcgen review` command (a subprocess on 127.0.0.1, port 0). With the keyboard only, the test
rejects one record, flips another, accepts a third and undoes that; reloads and sees the decisions
again; searches for the review that carries `<img src=x onerror=alert(1)>` and sees it as text;
then `sarcgen publish` applies the decisions. Screenshots go to $SARCGEN_TEST_ARTIFACTS (default:
the test's tmp folder).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli
from tests.review.conftest import XSS, XSS_ID

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]


def chromium() -> Path:
    """Debian's chromium, or a skip (a failure under CI=true, where set-up must have installed it)."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    msg = (f"{CHROMIUM} not found: the browser test needs Debian's chromium package "
           "(scripts/setup.sh installs it as root: apt-get install chromium)")
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture()
def served(fresh_run: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`sarcgen review RUN --port 0 --no-browser` running; yields (url, process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "sarcgen.cli", "review", str(fresh_run), "--port", "0",
                             "--no-browser", "--reviewer", "browser-test"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        if found:
            url = found.group(0)
            break
    assert url, "".join(lines)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("SARCGEN_TEST_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_curate_with_the_keyboard_reload_and_publish(served: tuple[str, subprocess.Popen[str]], fresh_run: Path,
                                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datasets import load_dataset
    from playwright.sync_api import sync_playwright

    exe = chromium()
    url, proc = served
    shots = artifacts(tmp_path)
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector(".row.sel")
            rows = page.locator("#list .row")
            keys = [rows.nth(i).get_attribute("data-key") for i in range(3)]
            assert keys[0] == "000000-s"

            page.keyboard.press("x")  # reject the first record (the page moves on to the next)
            page.wait_for_selector('.row[data-key="000000-s"].dec-reject')
            page.keyboard.press("j")
            page.keyboard.press("f")  # flip the third
            page.wait_for_selector(f'.row[data-key="{keys[2]}"].dec-flip')
            fourth = page.locator(".row.sel").get_attribute("data-key")
            page.keyboard.press("a")
            page.wait_for_selector(f'.row[data-key="{fourth}"].dec-accept')
            page.keyboard.press("u")  # undo the accept
            page.wait_for_selector(f'.row[data-key="{fourth}"]:not(.has-dec)')
            page.keyboard.press("k")
            page.wait_for_selector(f'.row.sel[data-key="{keys[2]}"]')
            page.wait_for_selector("#detail .act-flip.on")
            page.screenshot(path=str(shots / "review-decisions.png"))

            page.reload()
            page.wait_for_selector(".row.sel")
            rejected = page.locator('.row[data-key="000000-s"]')
            assert "dec-reject" in (rejected.get_attribute("class") or "")
            assert rejected.locator(".badge").inner_text().lower() == "rejected"
            flipped = page.locator(f'.row[data-key="{keys[2]}"]')
            assert "dec-flip" in (flipped.get_attribute("class") or "")
            assert flipped.locator(".pill.flipped").inner_text() == "negative \u2192 positive"
            assert page.locator(f'.row[data-key="{fourth}"].has-dec').count() == 0
            assert "1 rejected" in page.locator("#stats").inner_text()
            assert "1 flipped" in page.locator("#stats").inner_text()

            page.keyboard.press("/")
            page.keyboard.type("onerror")
            page.keyboard.press("Enter")
            page.wait_for_selector(f'.row[data-key="{XSS_ID}"]')
            page.wait_for_selector("#detail .review")
            assert XSS in page.locator(f'.row[data-key="{XSS_ID}"] .row-text').inner_text()
            assert XSS in page.locator("#detail .review").inner_text()
            assert page.locator("#list img, #detail img").count() == 0
            page.keyboard.press("?")
            page.wait_for_selector("#help:not(.hidden)")
            page.keyboard.press("Escape")
            page.keyboard.press("0")
            page.wait_for_selector('.row[data-key="000000-s"]')
            page.screenshot(path=str(shots / "review-page.png"))
        finally:
            context.close()
            browser.close()
    assert dialogs == [] and errors == []
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0

    lines = [json.loads(x) for x in (fresh_run / "review.jsonl").read_text().splitlines()]
    assert [(x["id"], x["decision"]) for x in lines] == [
        ("000000-s", "reject"), (keys[2], "flip"), (fourth, "accept"), (fourth, "clear")]
    assert all(x["reviewer"] == "browser-test" for x in lines)

    code, _out, err = run_cli(["publish", str(fresh_run)], capsys)
    assert code == 0, err
    ds = load_dataset(str(fresh_run / "dataset"))
    published = {r["id"]: r for split in ds.values() for r in split}
    assert "000000-s" not in published
    assert published[keys[2]]["label"] == 1 and published[keys[2]]["label_source"] == "human"
    assert published[fourth]["label_source"] == "generator"
    assert "**1** review(s) rejected and left out, **1**" in (fresh_run / "dataset" / "README.md").read_text()


def test_a_missing_chromium_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tests.review.test_browser as mod

    monkeypatch.setattr(mod, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/setup.sh installs it"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs Debian's chromium"):
        chromium()
