"""One mapping from a service's refusal to what its reader sees: a JSON error on the APIs, a page of
the right site on the console and the portal, an exit code on the command line."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rapport.app import create_app
from rapport.kernel.errors import EXIT_CODE, STATUS, Conflict, Gone, Invalid, NotFound


@pytest.fixture
def app_with_refusals(settings, db):
    app = create_app(settings, db)

    def refuse() -> None:
        raise Conflict("already_merged", "profiles a and b already show as one customer")

    for path in ("/api/v1/test-refusal", "/console/test-refusal", "/portal/test-refusal"):
        app.add_api_route(path, refuse)
    with TestClient(app) as client:
        yield client


def test_every_kind_has_a_status_and_an_exit_code():
    for error in (Invalid("c", "m"), NotFound("x"), Conflict("c", "m"), Gone("c", "m")):
        assert error.status == STATUS[error.kind] and error.kind in EXIT_CODE
    assert NotFound("profile 'x'").message == "profile 'x' not found"


def test_a_refusal_is_json_on_the_api_and_a_page_on_the_sites(app_with_refusals):
    api = app_with_refusals.get("/api/v1/test-refusal")
    assert api.status_code == 409 and api.json() == {
        "code": "already_merged",
        "message": "profiles a and b already show as one customer",
    }
    for path in ("/console/test-refusal", "/portal/test-refusal"):
        page = app_with_refusals.get(path)
        assert page.status_code == 409 and page.headers["content-type"].startswith("text/html"), path
        assert "already show as one customer" in page.text and "Content-Security-Policy" in page.headers
