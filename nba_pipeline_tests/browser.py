"""Headless Chromium for the tests that look at a page: Debian's chromium (never a downloaded
one), driven by playwright where a test must click, wait or read the page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"  # where the README's screenshots live


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


needs_browser = pytest.mark.skipif(
    chromium() is None or sync_playwright() is None,
    reason="Debian chromium and the playwright package are needed (.ci/run installs both)",
)


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator:
    """A fresh page of a headless Chromium, closed after."""
    with sync_playwright()() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
