"""Every route of the app, console and portal pages included, answers malformed input with a 4xx,
never a 5xx: junk ids in the path, junk query values, JSON bodies of the wrong shape, and form
fields with junk values behind a valid CSRF token (so the handler itself reads them).

The routes are found by walking the app, so a route added later is covered without a line here.
First as staff: an admin's bearer token and a signed-in console session, and a source's public
write key on the Tracking and public routes (`/v1/...`). Then as a customer signed in to the
portal, on the portal's routes, so its handlers read the junk too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from browser.portal_seed import csrf_of, link_path, seed_person
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


class Walk:
    """Junk sent to routes through one client, counting requests and keeping any 5xx."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.tried = 0
        self.failures: list[str] = []

    def check(self, method: str, path: str, **request: Any) -> None:
        self.tried += 1
        response = self.client.request(method, path, follow_redirects=False, **request)
        if response.status_code >= 500:
            self.failures.append(
                f"{method} {path} {str(request)[:120]} -> {response.status_code} {response.text[:200]}"
            )

    def route(self, route: Any, headers: dict[str, str], csrf: str) -> None:
        params = re.findall(r"{\w+(?::\w+)?}", route.path)
        paths = [route.path] if not params else [re.sub(r"{\w+(?::\w+)?}", j, route.path) for j in JUNK_IDS]
        queries = [p.name for p in route.dependant.query_params]
        fields = body_fields(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            for path in paths:
                self.check(method, path, headers=headers)
                for name in queries:
                    for value in JUNK_VALUES:
                        self.check(method, path, headers=headers, params={name: value})
                if method not in WRITES:
                    continue
                json_headers = {**headers, "content-type": "application/json"}
                for body in ([], "text", {"a": 1}, *({f: v} for f in fields for v in (None, [], {}, "x" * 20000))):
                    self.check(method, path, headers=json_headers, content=json.dumps(body))
                for name in fields:
                    for value in JUNK_VALUES:
                        self.check(method, path, headers=headers, data={"csrf": csrf, name: value})
                for value in JUNK_VALUES[:3]:
                    self.check(method, path, headers=headers, data={"csrf": csrf, **dict.fromkeys(fields, value)})


def test_every_route_answers_junk_with_a_4xx(
    client, source, backend, admin_token, admin_headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy, "train_in_background", lambda _db: None)  # "Train again": minutes of CPU
    found = sorted(routes(client.app.routes), key=lambda r: r.path)
    assert len(found) > 150, "the walk found too few routes: FastAPI's router layout changed"
    walk = Walk(client)

    # Staff: an admin's bearer token and console session; the public routes with a write key.
    assert client.post("/console/sign-in", data={"token": admin_token}, follow_redirects=False).status_code == 303
    csrf = csrf_of(client.get("/console").text)
    for route in found:
        walk.route(route, basic_auth(source) if route.path.startswith("/v1/") else admin_headers, csrf)

    # A customer signed in to the portal, on the portal's routes (signing out last).
    person = seed_person(client, backend, admin_headers, "walker", "walker@example.com", "Walker")
    client.cookies.clear()
    assert client.post(link_path(client, admin_headers, person.id), follow_redirects=False).status_code == 303
    csrf = csrf_of(client.get("/portal").text)
    portal = [r for r in found if r.path.startswith("/portal")]
    for route in sorted(portal, key=lambda r: "sign-out" in r.path):
        walk.route(route, {}, csrf)

    assert len(portal) > 10 and walk.tried > 2000
    assert not walk.failures, "\n".join(walk.failures)
