"""`plinth report` as a person sees it: rendered in Debian's headless Chromium, screenshotted,
without console errors or network requests, with the key sections visible."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_SPEC, REPO, SHARED

CHARTS = SHARED / "charts"

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium missing: `make test` installs it")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "platform.html"
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "report", "--spec", str(DEFAULT_SPEC), "--out", str(out)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return out


def test_report_is_self_contained(report_file: Path) -> None:
    text = report_file.read_text()
    # Nothing the browser would fetch: no attribute or stylesheet pointing at another address (a URL quoted in a
    # finding's text, such as a plugin's download location, is text, not a reference).
    attributes = re.findall(r"""\b(?:src|href|xlink:href|action|srcset)\s*=\s*["']?\s*([^"'\s>]+)""", text)
    stylesheets = re.findall(r"""url\(\s*["']?([^"')]+)""", text)
    fetched = [ref for ref in attributes + stylesheets if not ref.startswith(("#", "data:"))]
    assert fetched == [] and "@import" not in text, fetched
    assert "<script" not in text and "<link" not in text


def test_report_renders_in_headless_chromium_without_errors(report_file: Path, tmp_path: Path, platforms) -> None:
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    failed: list[str] = []
    requests: list[str] = []
    screenshot = tmp_path / "report.png"
    with sync_playwright() as pw:
        # a fresh --user-data-dir: Playwright passes the persistent context's folder as that flag
        browser = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1366, "height": 900})
        page = browser.new_page()
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report_file.as_uri())
        page.wait_for_load_state("load")
        for section in ("#summary", "#architecture", "#plan", "#findings", "#flows", "#drills", "#promises", "#environments"):
            assert page.locator(section).is_visible(), section
        assert page.locator("#architecture svg").is_visible()
        if CHARTS.is_dir():  # the flows need the hydrated charts: one graph per namespace
            assert page.locator("#flows svg").count() == len(platforms["prod"].namespaces)
            assert page.locator("#flows svg").first.is_visible()
        # above the fold: the title and the summary cards
        title_box = page.locator("header h1").bounding_box()
        cards_box = page.locator("#summary").bounding_box()
        assert title_box and cards_box and cards_box["y"] + cards_box["height"] < 900
        page.screenshot(path=str(screenshot))
        browser.close()
    assert console_errors == []
    assert failed == []
    assert requests == [report_file.as_uri()], f"the page made requests: {requests}"
    assert screenshot.stat().st_size > 20_000


def test_report_shows_every_environment(report_file: Path, platforms) -> None:
    text = report_file.read_text()
    for env in platforms:
        assert f"<th>{env}</th>" in text
    assert "staging.plinth.example.com" in text  # a value that differs between environments
