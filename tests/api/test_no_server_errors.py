"""Every route of the app, console and portal pages included, answers malformed input with a 4xx,
never a 5xx: junk ids in the path, junk query values, JSON bodies of the wrong shape, and form
fields with junk values behind a valid CSRF token (so the handler itself reads them).

The routes are found by walking the app, so a route added later is covered without a line here.
As staff the requests carry an admin's bearer token and a signed-in console session; the Tracking
and public routes (`/v1/...`) also get a source's public write key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from browser.portal_seed import csrf_of
from factories import basic_auth
from rapport.assistant import deploy

JUNK_IDS = ("abc", "x" * 300, "00000000-0000-0000-0000-000000000000")
JUNK_VALUES = ("", "x" * 5000, "1e9999", "-1", "'\"<%", "2026-13-45")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def routes(items: Any) -> Iterator[Any]:
    for item in items:
        if hasattr(item, "effective_candidates"):  # a router included in the app
            yield from routes(item.effective_candidates())
        elif hasattr(item, "dependant") and getattr(item, "methods", None):
            yield item


def body_fields(dependant: Any) -> list[str]:
    names = [p.name for p in dependant.body_params]
    for sub in dependant.dependencies:
        names += body_fields(sub)
    return list(dict.fromkeys(n for n in names if n != "csrf"))


def test_every_route_answers_junk_with_a_4xx(client, source, admin_token, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr(deploy, "train_in_background", started.append)  # "Train again": minutes of CPU
    assert client.post("/console/sign-in", data={"token": admin_token}, follow_redirects=False).status_code == 303
    csrf = csrf_of(client.get("/console").text)
    staff = {"Authorization": f"Bearer {admin_token}"}
    public = basic_auth(source)
    found = list(routes(client.app.routes))
    assert len(found) > 150, "the walk found too few routes: FastAPI's router layout changed"
    failures: list[str] = []
    tried = 0

    def check(method: str, path: str, **request: Any) -> None:
        nonlocal tried
        tried += 1
        response = client.request(method, path, follow_redirects=False, **request)
        if response.status_code >= 500:
            failures.append(f"{method} {path} {str(request)[:120]} -> {response.status_code} {response.text[:200]}")

    for route in found:
        params = re.findall(r"{\w+(?::\w+)?}", route.path)
        paths = [route.path] if not params else [re.sub(r"{\w+(?::\w+)?}", j, route.path) for j in JUNK_IDS]
        headers = public if route.path.startswith("/v1/") else staff
        queries = [p.name for p in route.dependant.query_params]
        fields = body_fields(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            for path in paths:
                check(method, path, headers=headers)
                for name in queries:
                    for value in JUNK_VALUES:
                        check(method, path, headers=headers, params={name: value})
                if method not in WRITES:
                    continue
                json_headers = {**headers, "content-type": "application/json"}
                for body in ([], "text", {"a": 1}, *({f: v} for f in fields for v in (None, [], {}, "x" * 20000))):
                    check(method, path, headers=json_headers, content=json.dumps(body))
                for name in fields:
                    for value in JUNK_VALUES:
                        check(method, path, headers=headers, data={"csrf": csrf, name: value})
                for value in JUNK_VALUES[:3]:
                    check(method, path, headers=headers, data={"csrf": csrf, **dict.fromkeys(fields, value)})
    assert tried > 2000
    assert not failures, "\n".join(failures)
