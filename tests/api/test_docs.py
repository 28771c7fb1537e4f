"""The API reference at /docs loads nothing from another origin, under the same strict policy as every
page; /redoc, which only a CDN could serve, is not there."""

from __future__ import annotations

import re


def test_docs_load_only_this_servers_files(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy.replace("default-src", "")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    for ref in references:
        asset = client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 0, ref
    assert "/openapi.json" in client.get("/docs/start.js").text
    assert client.get("/openapi.json").json()["info"]["title"] == "Rapport"


def test_redoc_is_not_served(client):
    assert client.get("/redoc").status_code == 404
