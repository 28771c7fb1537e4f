"""Browser fixtures: one Chromium per module, a fresh context per test, an HTTP client on the live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from browser.chromium import launched, new_tab


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    tab = new_tab(browser, live_server.url)
    yield tab
    tab.context.close()


@pytest.fixture
def http(live_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=15) as client:
        yield client
