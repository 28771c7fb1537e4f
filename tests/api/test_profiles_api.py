"""The staff API over profiles: tokens and roles, lookups, timeline paging, bad input."""

from __future__ import annotations

import base64
import json

import pytest

from factories import basic_auth, profile_by, send_batch


def test_requests_without_a_valid_token_are_401(client):
    assert client.get("/api/v1/profiles/x").json()["code"] == "missing_token"
    res = client.get("/api/v1/profiles/x", headers={"Authorization": "Bearer rpt_nope"})
    assert (res.status_code, res.json()["code"]) == (401, "invalid_token")
    assert res.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/dead-letters", headers={"Authorization": "Basic abc"}).status_code == 401


@pytest.mark.parametrize("role", ["agent", "marketer", "analyst"])
def test_roles_without_undo_permission_get_403(client, make_token, role):
    res = client.post("/api/v1/merges/1/undo", headers={"Authorization": f"Bearer {make_token(role)}"})
    assert (res.status_code, res.json()["code"]) == (403, "forbidden")


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("marketer", 403), ("analyst", 200), ("admin", 200)])
def test_dead_letters_need_their_permission(client, make_token, role, status):
    assert (
        client.get("/api/v1/dead-letters", headers={"Authorization": f"Bearer {make_token(role)}"}).status_code
        == status
    )


def test_every_role_reads_profiles(client, make_token, source):
    send_batch(client, source, [{"type": "identify", "userId": "r-1"}])
    for role in ("admin", "agent", "marketer", "analyst", "privacy"):
        assert profile_by(client, {"Authorization": f"Bearer {make_token(role)}"}, "user_id:r-1") is not None


def test_unknown_profile_and_merge_are_404(client, admin_headers):
    for path in ("/api/v1/profiles/nope", "/api/v1/profiles/nope/timeline", "/api/v1/profiles/nope/merges"):
        res = client.get(path, headers=admin_headers)
        assert (res.status_code, res.json()["code"]) == (404, "not_found")
    assert client.post("/api/v1/merges/999/undo", headers=admin_headers).status_code == 404


def test_ids_beyond_any_row_are_400_not_a_database_overflow(client, admin_headers):
    huge = "9" * 30  # more than a 64-bit integer: it once reached the driver and answered 500
    past_int = str(2**31)  # staff tokens have 32-bit ids: PostgreSQL answered 500 past them
    for method, path in (
        ("POST", f"/api/v1/merges/{huge}/undo"),
        ("POST", f"/api/v1/tokens/{huge}/revoke"),
        ("POST", f"/api/v1/tokens/{past_int}/revoke"),
        ("GET", f"/api/v1/dead-letters?before={huge}"),
    ):
        res = client.request(method, path, headers=admin_headers)
        assert res.status_code == 400 and res.json()["code"], (path, res.text)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"identifier": "ada@example.com"}, "invalid_identifier"),
        ({"identifier": "email:not-an-email"}, "invalid_identifier"),
        ({"identifier": "phone:12"}, "invalid_identifier"),
        ({}, "missing_query"),
        ({"identifier": "email:a@b.co", "after": "-1"}, "invalid_request"),
        ({"identifier": "email:a@b.co", "after": "9" * 30}, "invalid_request"),
        # No 2xx named an offset past the log's end: it used to hold the request 5 s, then answer 503.
        ({"identifier": "email:a@b.co", "after": "1000"}, "offset_not_acknowledged"),
        ({"identifier": "email:a@b.co", "consistent": "maybe"}, "invalid_request"),
    ],
)
def test_bad_lookups_are_400(client, admin_headers, params, code):
    res = client.get("/api/v1/profiles", params=params, headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, code)


def _cursor(parts: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def test_bad_paging_input_is_400(client, admin_headers, source):
    send_batch(client, source, [{"type": "identify", "userId": "p-1"}])
    pid = profile_by(client, admin_headers, "user_id:p-1")["id"]
    cursors = [  # garbage, an id past 64 bits, a time without a zone, an id that is not a number
        "garbage",
        _cursor(["2024-06-01T10:00:00+00:00", 2**64]),
        _cursor(["2024-06-01T10:00:00", 5]),
        _cursor(["2024-06-01T10:00:00+00:00", "5"]),
    ]
    for params in (*({"cursor": c} for c in cursors), {"limit": 0}, {"limit": 501}, {"limit": "ten"}):
        res = client.get(f"/api/v1/profiles/{pid}/timeline", params=params, headers=admin_headers)
        assert res.status_code == 400, params
        assert set(res.json()) == {"code", "message"}
    assert client.post("/api/v1/merges/abc/undo", headers=admin_headers).status_code == 400


def test_timeline_pages_newest_first_across_channels(client, make_source, admin_headers):
    web, store = make_source("web"), make_source("store")
    send_batch(
        client,
        web,
        [
            {"type": "track", "userId": "tl", "event": f"W{i}", "timestamp": f"2026-02-0{i}T00:00:00Z"}
            for i in range(1, 5)
        ],
    )
    send_batch(
        client,
        store,
        [
            {"type": "track", "userId": "tl", "event": f"S{i}", "timestamp": f"2026-02-0{i}T12:00:00Z"}
            for i in range(1, 4)
        ],
    )
    pid = profile_by(client, admin_headers, "user_id:tl")["id"]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/profiles/{pid}/timeline", params=params, headers=admin_headers).json()
        seen += [(e["event"], e["channel"]) for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [e for e, _ in seen] == ["W4", "S3", "W3", "S2", "W2", "S1", "W1"]
    assert {c for _, c in seen} == {"web", "store"}


def test_read_your_writes_with_the_offset_from_the_ack(client, source, admin_headers):
    ack = send_batch(client, source, [{"type": "identify", "userId": "ryw", "traits": {"tier": "gold"}}]).json()
    res = client.get(
        "/api/v1/profiles", params={"identifier": "user_id:ryw", "after": ack["offset"]}, headers=admin_headers
    )
    assert res.json()["items"][0]["traits"]["tier"] == "gold"


def test_search_by_name_phone_and_id(client, source, admin_headers):
    send_batch(
        client,
        source,
        [
            {
                "type": "identify",
                "userId": "s-1",
                "traits": {"name": "Grace Hopper", "email": "grace@example.com", "phone": "+1 415 555 0199"},
            }
        ],
    )
    pid = profile_by(client, admin_headers, "user_id:s-1")["id"]
    for q in ("hopper", "grace@example.com", "(415) 555-0199", "s-1", pid):
        items = client.get("/api/v1/profiles", params={"q": q}, headers=admin_headers).json()["items"]
        assert [p["id"] for p in items] == [pid], q
    assert client.get("/api/v1/profiles", params={"q": "nobody-here"}, headers=admin_headers).json()["items"] == []


def test_undo_is_audited(client, source, admin_headers, db):
    import sqlalchemy as sa

    from rapport.kernel.audit import audit_log

    send_batch(
        client,
        source,
        [
            {"type": "page", "anonymousId": "au-1"},
            {"type": "identify", "userId": "au", "traits": {"email": "au@example.com"}},
            {"type": "identify", "anonymousId": "au-1", "traits": {"email": "au@example.com"}},
        ],
    )
    pid = profile_by(client, admin_headers, "user_id:au")["id"]
    merge = client.get(f"/api/v1/profiles/{pid}/merges", headers=admin_headers).json()["items"][0]
    client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers)
    with db.read() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.actor, audit_log.c.profile_id).where(
                audit_log.c.profile_id.is_not(None)  # not the fixtures' source and token
            )
        ).all()
    assert {r.action for r in rows} == {"merge.undone"}
    assert {r.profile_id for r in rows} == {merge["survivor_id"], merge["absorbed_id"]}
    assert all(r.actor.startswith("staff:") for r in rows)


def test_tracking_keys_do_not_open_the_staff_api(client, source):
    assert client.get("/api/v1/dead-letters", headers=basic_auth(source)).status_code == 401


def test_admins_list_and_revoke_staff_tokens_over_the_api(client, db, admin_headers, make_token):
    kiosk = {"Authorization": f"Bearer {make_token('agent')}"}
    assert client.get("/api/v1/tokens", headers=kiosk).status_code == 403
    listed = client.get("/api/v1/tokens", headers=admin_headers).json()["items"]
    assert [(t["role"], t["revoked_at"]) for t in listed] == [("admin", None), ("agent", None)]
    assert all(set(t) == {"id", "name", "role", "created_at", "revoked_at"} for t in listed)
    agent_id = listed[1]["id"]

    res = client.post(f"/api/v1/tokens/{agent_id}/revoke", headers=admin_headers)
    assert res.status_code == 200 and res.json()["revoked_at"], res.text
    assert client.get("/api/v1/profiles", params={"q": "x"}, headers=kiosk).status_code == 401
    again = client.post(f"/api/v1/tokens/{agent_id}/revoke", headers=admin_headers)
    assert again.status_code == 409 and again.json()["code"] == "already_revoked"
    for bad in ("999999", "abc"):
        assert client.post(f"/api/v1/tokens/{bad}/revoke", headers=admin_headers).status_code in (400, 404)
    audit = client.get("/api/v1/audit", headers=admin_headers).json()["items"]
    [revoked] = [a for a in audit if a["action"] == "token.revoked"]
    assert (
        revoked["channel"] == "api"
        and revoked["actor"].startswith("staff:")
        and revoked["details"]["token_id"] == agent_id
    )
