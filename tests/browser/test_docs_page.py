"""Swagger UI renders the API reference in Chromium under the page's strict policy, from local files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_without_another_origin(page, live_server):
    requests: list[str] = []
    violations: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Rapport" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10, "the operations are listed"
    assert requests and all(url.startswith(live_server.url) for url in requests), requests
    assert violations == []
