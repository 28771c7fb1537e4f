"""Text no store can hold is a 400 wherever it comes in, never a 500.

PostgreSQL refuses a NUL in text, and neither driver can write a lone UTF-16 surrogate (which a JSON
`\\udXXX` escape can carry). Found by probing every staff endpoint with such text: on PostgreSQL,
13 such requests across seven routes answered 500, and `POST /api/v1/messages` did on SQLite too.
"""

from __future__ import annotations

import json

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
