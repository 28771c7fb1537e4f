"""Text no store can hold is refused (400) or, in console forms, dropped; never a 500.

PostgreSQL refuses a NUL in text, and neither driver can write a lone UTF-16 surrogate (which a JSON
`\\udXXX` escape can carry). Found by probing every staff endpoint with such text: on PostgreSQL,
13 such requests across seven routes answered 500, and `POST /api/v1/messages` did on SQLite too;
posting each field of every console and portal form the same way found one more (the merge form).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes, urlsplit

import pytest

from factories import profile_by, send_batch

UNSTORABLE = ['"a\\u0000b"', '"\\ud800"', '"x\\udc00y"']


@pytest.fixture
def two_profiles(client, source, admin_headers):
    send_batch(
        client,
        source,
        [{"type": "identify", "userId": f"t{i}", "traits": {"email": f"t{i}@example.com"}} for i in range(2)],
    )
    return [profile_by(client, admin_headers, f"email:t{i}@example.com")["id"] for i in range(2)]


def _bodies(profiles):
    first, second = profiles
    return {
        ("POST", "/api/v1/merges"): {"survivor_id": first, "absorbed_id": second, "reason": "same person"},
        ("POST", f"/api/v1/profiles/{first}/consents"): {
            "purpose": "marketing",
            "channel": "email",
            "status": "granted",
            "source": "form",
        },
        ("POST", "/api/v1/messages"): {"profile_id": first, "purpose": "marketing", "subject": "Hi", "text": "Hello"},
    }


def test_a_nul_or_lone_surrogate_in_any_field_of_a_staff_body_is_400(client, admin_headers, two_profiles):
    for (method, path), body in _bodies(two_profiles).items():
        for field in body:
            for text in UNSTORABLE:
                raw = json.dumps({**body, field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', text)
                res = client.request(
                    method, path, content=raw, headers={**admin_headers, "content-type": "application/json"}
                )
                assert res.status_code == 400, (path, field, text, res.status_code, res.text)
                assert res.json()["code"] == "invalid_request"
                assert field in res.json()["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/profiles/a%00b",
        "/api/v1/profiles?identifier=email:a%00b@example.com",
        "/api/v1/profiles?q=%00",
        "/v1/projects/%00/settings",
    ],
)
def test_a_nul_in_a_url_is_400(client, admin_headers, url):
    res = client.get(url, headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, "invalid_characters")


def test_a_nul_in_the_path_of_a_write_is_400(client, admin_headers, two_profiles):
    res = client.post("/api/v1/profiles/a%00b/export", headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, "invalid_characters")


def test_a_message_for_an_unknown_purpose_is_refused(client, admin_headers, two_profiles):
    body = {"profile_id": two_profiles[0], "purpose": "x" * 70_000, "subject": "Hi", "text": "Hello"}
    res = client.post("/api/v1/messages", json=body, headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, "invalid_purpose")
    assert "marketing" in res.json()["message"]


class _Forms(HTMLParser):
    """The POST forms of a page: action and (name, value) of each named field, as a browser sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._open = (a.get("method") or "get").lower() == "post"
            if self._open:
                self.forms.append((a.get("action") or "", []))
        elif (
            self._open
            and tag in ("input", "textarea", "select")
            and a.get("name")
            and (a.get("type") not in ("radio", "checkbox") or "checked" in a)
        ):
            self.forms[-1][1].append((a["name"] or "", a.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


ODD = [b"a\x00b", b"\xed\xa0\x80", b"\xff", b"x" * 20_000, b""]  # NUL, lone surrogate, bad UTF-8, long, none


def test_every_console_and_portal_form_takes_any_text_without_a_5xx(client, admin_token, admin_headers, two_profiles):
    """Each field of each form on these pages, in turn, holds text no store can hold: never a 5xx.
    A form added to these pages later is covered without a change here."""
    client.post("/console/sign-in", data={"token": admin_token})
    link = client.post(f"/api/v1/profiles/{two_profiles[0]}/portal-link", headers=admin_headers).json()["url"]
    auth = urlsplit(link).path
    page = _Forms()
    page.feed(client.get(auth).text)
    client.post(page.forms[0][0] or auth, data=dict(page.forms[0][1]))
    pages = ["/console", f"/console/profiles/{two_profiles[0]}", "/console/sources", "/console/tokens"]
    pages += ["/portal", "/portal/preferences", "/portal/my-data", "/portal/erase"]  # erasing last
    probed = []
    for path in pages:
        forms = _Forms()
        forms.feed(client.get(path).text)
        for action, fields in forms.forms:
            if "sign-out" in action or "revoke" in action:  # would end the session the crawl goes on with
                continue
            for n, (name, _) in enumerate(fields):
                for odd in [] if name == "csrf" else ODD:
                    body = "&".join(
                        f"{quote_from_bytes(k.encode())}={quote_from_bytes(odd if i == n else v.encode())}"
                        for i, (k, v) in enumerate(fields)
                    )
                    res = client.post(
                        action or path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
                    )
                    assert res.status_code < 500, (action, name, odd[:8], res.status_code)
            probed.append(action)
    assert len(probed) >= 8, probed  # the pages still have their forms: merge, sources, consent, contact, ...
