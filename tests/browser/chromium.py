"""Helpers for driving Debian's Chromium (imported as `browser.chromium`); the fixtures are in conftest.py.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages the tests visit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def new_tab(browser: Any, base_url: str, **options: Any) -> Any:
    """A page in a fresh context: its own cookies, so two tabs can be two different people."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(10_000)
    return context.new_page()


def screenshot(tab: Any, name: str) -> None:
    folder = os.environ.get("RAPPORT_SCREENSHOT_DIR")
    if folder:
        tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True, animations="disabled")


@contextmanager
def launched() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; under CI a missing piece fails instead of skipping."""
    from conftest import require

    require(os.path.exists(CHROMIUM), f"Debian's Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
