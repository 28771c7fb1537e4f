"""Helpers for driving Debian's Chromium (imported as `browser.chromium`); the fixtures are in conftest.py.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages the tests visit.
"""

from __future__ import annotations

import os
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
