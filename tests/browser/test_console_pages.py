"""The console's pages through TestClient: status codes, sign-in, CSRF, permissions, bad input."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from browser.console_seed import EMAIL, PHONE, bearer, csrf_of, post_batch, profile_of, reject_one, seed_customer
from rapport.access.service import list_tokens, revoke_token
from rapport.identity.store import merges
from rapport.kernel.audit import audit_log


def sign_in(client: Any, token: str) -> Any:
    client.cookies.clear()
    res = client.post("/console/sign-in", data={"token": token}, follow_redirects=False)
    assert res.status_code == 303, res.text
    return res


def merge_id_on(html: str) -> int:
    found = re.search(r'action="/console/merges/(\d+)/undo"', html)
    assert found, "no Undo button on the page"
    return int(found.group(1))


@pytest.fixture
def ada(client, make_source, admin_token) -> dict[str, Any]:
    seed_customer(client, make_source, bearer(admin_token))
    return profile_of(client, bearer(admin_token), f"email:{EMAIL}")


# signing in and out


def test_root_and_console_send_strangers_to_sign_in(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/console"
    res = client.get("/console", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/console/sign-in"
    deep = client.get("/console/profiles/abc?before=x", follow_redirects=False)
    assert deep.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fprofiles%2Fabc%3Fbefore%3Dx"


def test_sign_in_page_is_accessible_html(client):
    res = client.get("/console/sign-in")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert '<html lang="en">' in html and '<main id="main"' in html and 'href="#main"' in html
    assert '<label for="token">' in html and 'id="token"' in html
    assert "frame-ancestors 'none'" in res.headers["content-security-policy"]
    assert client.get("/static/console.css").status_code == 200


def test_wrong_or_empty_token_shows_the_form_again_with_401(client):
    for token in ("rpt_not-a-real-token", "", "x" * 5000):
        res = client.post("/console/sign-in", data={"token": token})
        assert res.status_code == 401
        assert 'role="alert"' in res.text and 'aria-invalid="true"' in res.text
    assert "rapport_console" not in client.cookies


def test_sign_in_sets_a_hardened_session_cookie(client, admin_token):
    res = sign_in(client, admin_token)
    assert res.headers["location"] == "/console"
    cookie = res.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    assert admin_token not in res.headers["set-cookie"]
    page = client.get("/console")
    assert page.status_code == 200 and "Signed in as" in page.text


def test_sign_in_returns_to_a_console_page_but_never_off_site(client, admin_token):
    for target, expected in (
        ("/console/sources", "/console/sources"),
        ("https://evil.example/", "/console"),
        ("//evil.example/console", "/console"),
        ("/console/sign-out", "/console"),
    ):
        client.cookies.clear()
        res = client.post("/console/sign-in", data={"token": admin_token, "next": target}, follow_redirects=False)
        assert res.headers["location"] == expected, target


def test_sign_in_from_another_site_is_refused(client, admin_token):
    res = client.post("/console/sign-in", data={"token": admin_token}, headers={"Origin": "https://evil.example"})
    assert res.status_code == 403 and "rapport_console" not in client.cookies


def test_forged_cookie_is_signed_out(client, admin_token):
    sign_in(client, admin_token)
    value = client.cookies["rapport_console"]
    client.cookies.clear()
    client.cookies.set("rapport_console", value[:-3] + "AAA")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_revoked_token_signs_the_session_out(client, db, admin_token):
    sign_in(client, admin_token)
    with db.read() as conn:
        [token] = list_tokens(conn)
    revoke_token(db, token["id"], "cli:test")
    res = client.get("/console", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/console/sign-in"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client, admin_token):
    sign_in(client, admin_token)
    assert client.post("/console/sign-out", data={"csrf": "forged"}).status_code == 403
    csrf = csrf_of(client.get("/console").text)
    res = client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/console/sign-in"
    assert client.get("/console", follow_redirects=False).status_code == 303


# search and Customer 360


def test_search_by_email_phone_name_and_id(client, admin_token, ada):
    sign_in(client, admin_token)
    for query in (EMAIL.upper(), "(415) 555-0100", PHONE, "lovelace", "u-ada", "user_id:u-ada", ada["id"]):
        res = client.get("/console", params={"q": query})
        assert res.status_code == 200
        assert f'href="/console/profiles/{ada["id"]}"' in res.text, query
    empty = client.get("/console", params={"q": "nobody@nowhere.example"})
    assert "0 customers found" in empty.text
    assert client.get("/console", params={"q": "ada\x00"}).status_code == 200


def test_overlong_search_is_a_400_page(client, admin_token):
    sign_in(client, admin_token)
    res = client.get("/console", params={"q": "a" * 1000})
    assert res.status_code == 400 and res.headers["content-type"].startswith("text/html")


def test_customer_360_shows_identifiers_traits_timeline_and_merges(client, admin_token, ada):
    sign_in(client, admin_token)
    res = client.get(f"/console/profiles/{ada['id']}")
    assert res.status_code == 200
    html = res.text
    for text in (
        "Ada Lovelace",
        EMAIL,
        PHONE,
        "u-ada",
        "pos-77",
        "Viewed Product",
        "Order Completed",
        "Support Call Ended",
        "Website (web)",
        "Store POS (store)",
        "Merge history",
    ):
        assert text in html, text
    assert html.count('<th scope="row">') >= 10
    assert "/undo" in html


def test_merged_away_id_shows_the_survivor(client, admin_token, ada):
    sign_in(client, admin_token)
    absorbed = ada["merged_profiles"][0]
    res = client.get(f"/console/profiles/{absorbed}")
    assert res.status_code == 200
    assert "was merged into this one" in res.text and f"Profile <code>{ada['id']}</code>" in res.text


def test_unknown_profile_and_bad_cursor(client, admin_token, ada):
    sign_in(client, admin_token)
    assert client.get("/console/profiles/nope").status_code == 404
    assert client.get("/console/profiles/" + "x" * 500).status_code == 404
    assert client.get("/console/profiles/%00ab").status_code == 404
    for cursor in ("garbage", "W10=", "WyJ4IiwxXQ==", "%%%", "ZZZZ"):
        res = client.get(f"/console/profiles/{ada['id']}", params={"before": cursor})
        assert res.status_code == 400, cursor
        assert res.headers["content-type"].startswith("text/html")


def test_timeline_pages_newest_first(client, make_source, admin_token):
    web = make_source("web")
    post_batch(
        client,
        web,
        [
            {"type": "track", "userId": "u-busy", "event": f"Step {i:02d}", "timestamp": f"2024-06-01T10:{i:02d}:00Z"}
            for i in range(30)
        ],
    )
    busy = profile_of(client, bearer(admin_token), "user_id:u-busy")
    sign_in(client, admin_token)
    first = client.get(f"/console/profiles/{busy['id']}").text
    assert first.index("Step 29") < first.index("Step 05") and "Step 04" not in first
    older = re.search(r'href="(/console/profiles/[^"]+\?before=[^"]+)"', first)
    assert older, "no link to older events"
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert "Step 04" in second.text and "Step 00" in second.text and "Step 05" not in second.text
    # A page link this console did not make is a 400 page: an id past 64 bits, a time without a zone.
    for parts in (["2024-06-01T10:00:00+00:00", 2**64], ["2024-06-01T10:00:00", 5]):
        forged = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()
        res = client.get(f"/console/profiles/{busy['id']}", params={"before": forged})
        assert res.status_code == 400 and "Bad page link" in res.text, parts


def test_undo_merge_needs_csrf_then_splits_the_profiles(client, db, admin_token, ada):
    sign_in(client, admin_token)
    html = client.get(f"/console/profiles/{ada['id']}").text
    merge_id = merge_id_on(html)
    url = f"/console/merges/{merge_id}/undo"
    assert client.post(url, data={"profile": ada["id"]}).status_code == 403
    assert client.post(url, data={"csrf": "nope", "profile": ada["id"]}).status_code == 403
    res = client.post(url, data={"csrf": csrf_of(html), "profile": ada["id"]}, follow_redirects=False)
    assert res.status_code == 303
    page = client.get(res.headers["location"])
    assert f"Merge {merge_id} undone" in page.text
    by_email = profile_of(client, bearer(admin_token), f"email:{EMAIL}")
    by_phone = profile_of(client, bearer(admin_token), f"phone:{PHONE}")
    assert by_email["id"] != by_phone["id"]
    with db.read() as conn:
        assert conn.execute(sa.select(merges.c.undone_by).where(merges.c.id == merge_id)).scalar().startswith("staff:")
    again = client.post(url, data={"csrf": csrf_of(html), "profile": ada["id"]})
    assert again.status_code == 409 and again.headers["content-type"].startswith("text/html")


def test_undo_of_unknown_merge_is_a_404_page(client, admin_token):
    sign_in(client, admin_token)
    csrf = csrf_of(client.get("/console").text)
    for merge in ("999999", "abc", "1" * 40, "²", "-1"):
        res = client.post(f"/console/merges/{merge}/undo", data={"csrf": csrf})
        assert res.status_code == 404, merge


def test_agent_sees_no_undo_and_may_not_undo(client, make_token, ada):
    sign_in(client, make_token("agent"))
    html = client.get(f"/console/profiles/{ada['id']}").text
    assert "/undo" not in html and "In effect" in html
    res = client.post("/console/merges/1/undo", data={"csrf": csrf_of(html)})
    assert res.status_code == 403 and "may not undo merges" in res.text


def test_merge_a_profile_in_by_identifier_needs_csrf_and_a_reason(client, db, admin_token, make_token, ada):
    sign_in(client, admin_token)
    html = client.get(f"/console/profiles/{ada['id']}").text
    undo = client.post(f"/console/merges/{merge_id_on(html)}/undo", data={"csrf": csrf_of(html), "profile": ada["id"]})
    assert undo.status_code == 200
    by_email = profile_of(client, bearer(admin_token), f"email:{EMAIL}")["id"]
    url = f"/console/profiles/{by_email}/merge"
    html = client.get(f"/console/profiles/{by_email}").text
    assert f'action="{url}"' in html and '<label for="merge-reason">' in html
    form = {"csrf": csrf_of(html), "other": "(415) 555-0100", "reason": "same person, confirmed by phone"}

    assert client.post(url, data={**form, "csrf": "nope"}).status_code == 403
    assert client.post(url, data={**form, "reason": "  "}).status_code == 400
    for other in ("", "nobody@example.com", "x" * 5000, "nobody\x00@example.com"):  # the NUL: a 500 on PostgreSQL
        assert client.post(url, data={**form, "other": other}).status_code == 404, other
    res = client.post(url, data={**form, "reason": "same person,\x00 confirmed by phone"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    page = client.get(res.headers["location"])
    assert re.search(r"Merge \d+ made", page.text) and "Staff: staff:" in page.text
    assert profile_of(client, bearer(admin_token), f"phone:{PHONE}")["id"] == by_email
    again = client.post(url, data=form)
    assert again.status_code == 409 and "already show as one customer" in again.text
    with db.read() as conn:
        made = conn.execute(sa.select(merges.c.made_by, merges.c.reason).where(merges.c.made_by.is_not(None))).all()
    assert len(made) == 1 and made[0].reason == "same person, confirmed by phone"

    sign_in(client, make_token("agent"))
    html = client.get(f"/console/profiles/{by_email}").text
    assert f'action="{url}"' not in html
    res = client.post(url, data={**form, "csrf": csrf_of(html)})
    assert res.status_code == 403 and "may not merge profiles" in res.text


# dead letters, sources, roles


def test_dead_letters_for_analysts_not_agents(client, source, make_token):
    reject_one(client, source)
    sign_in(client, make_token("analyst"))
    res = client.get("/console/dead-letters")
    assert res.status_code == 200 and "missing_id" in res.text and "Lost Cart" in res.text
    assert client.get("/console/dead-letters", params={"before": "abc"}).status_code == 400
    for bad in ("0", "-1", "²", "1" * 40):
        assert client.get("/console/dead-letters", params={"before": bad}).status_code == 400, bad
    assert client.get("/console/dead-letters", params={"before": "1"}).status_code == 200
    sign_in(client, make_token("agent"))
    assert client.get("/console/dead-letters").status_code == 403


def test_sources_for_admins_only(client, source, admin_token, make_token):
    sign_in(client, admin_token)
    res = client.get("/console/sources")
    assert res.status_code == 200 and source.write_key in res.text and source.name in res.text
    for role in ("analyst", "agent", "marketer", "privacy"):
        sign_in(client, make_token(role))
        denied = client.get("/console/sources")
        assert denied.status_code == 403 and "Not allowed" in denied.text
        assert 'href="/console/sources"' not in denied.text


def _audited(db: Any, action: str) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(sa.select(audit_log).where(audit_log.c.action == action)))


def test_admin_rotates_a_write_key_and_the_old_key_is_refused_at_once(client, db, source, admin_token, make_token):
    old = source.write_key
    post_batch(client, source, [{"type": "track", "userId": "u1", "event": "Seen"}])  # the server remembers the key
    sign_in(client, admin_token)
    page = client.get("/console/sources").text
    url = f"/console/sources/{source.id}/rotate-key"
    assert f'action="{url}"' in page
    assert client.post(url, data={"csrf": "forged", "confirm": "yes"}).status_code == 403
    unconfirmed = client.post(url, data={"csrf": csrf_of(page)})
    assert unconfirmed.status_code == 400 and "Nothing was changed" in unconfirmed.text
    for wrong in ("/console/sources/999/rotate-key", f"/console/sources/{source.id}/explode"):
        assert client.post(wrong, data={"csrf": csrf_of(page), "confirm": "yes"}).status_code == 404, wrong
    res = client.post(url, data={"csrf": csrf_of(page), "confirm": "yes"}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == f"/console/sources?rotated={source.id}"
    after = client.get(res.headers["location"]).text
    assert "has a new write key" in after and old not in after
    new = re.search(r"<code>([A-Za-z0-9_-]{32})</code>", after)
    assert new and new.group(1) != old
    body = {"batch": [{"type": "track", "userId": "u1", "event": "Seen"}]}
    assert client.post("/v1/batch", json=body, auth=(old, "")).status_code == 401
    assert client.post("/v1/batch", json=body, auth=(new.group(1), "")).status_code == 200
    [row] = _audited(db, "source.key_rotated")
    assert row.channel == "console" and row.actor.startswith("staff:")
    sign_in(client, make_token("analyst"))
    assert client.post(url, data={"csrf": csrf_of(client.get("/console").text), "confirm": "yes"}).status_code == 403


def test_admin_disables_a_source(client, db, source, admin_token):
    post_batch(client, source, [{"type": "track", "userId": "u1", "event": "Seen"}])
    sign_in(client, admin_token)
    csrf = csrf_of(client.get("/console/sources").text)
    res = client.post(f"/console/sources/{source.id}/disable", data={"csrf": csrf, "confirm": "yes"})
    assert res.status_code == 200 and f"Source {source.name} was disabled" in res.text
    assert source.write_key not in res.text
    for forged in (str(source.id + 1), "x", "9" * 30, str(2**31)):  # only a source that is disabled is reported so
        assert "was disabled" not in client.get("/console/sources", params={"disabled": forged}).text
    body = {"batch": [{"type": "track", "userId": "u1", "event": "Seen"}]}
    assert client.post("/v1/batch", json=body, auth=(source.write_key, "")).status_code == 401
    again = client.post(f"/console/sources/{source.id}/disable", data={"csrf": csrf, "confirm": "yes"})
    assert again.status_code == 404
    assert [r.channel for r in _audited(db, "source.disabled")] == ["console"]


def test_admin_revokes_a_staff_token(client, db, admin_token, make_token):
    agent = make_token("agent")
    sign_in(client, agent)
    assert client.get("/console/tokens").status_code == 403
    assert (
        client.post("/console/tokens/1/revoke", data={"csrf": csrf_of(client.get("/console").text)}).status_code == 403
    )
    sign_in(client, admin_token)
    page = client.get("/console/tokens")
    assert page.status_code == 200 and 'href="/console/tokens"' in page.text and "(yours)" in page.text
    with db.read() as conn:
        agent_id = next(t["id"] for t in list_tokens(conn) if t["role"] == "agent")
    csrf = csrf_of(page.text)
    assert client.post(f"/console/tokens/{agent_id}/revoke", data={"csrf": "forged"}).status_code == 403
    res = client.post(f"/console/tokens/{agent_id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert res.status_code == 303
    assert f"Token {agent_id}" in client.get(res.headers["location"]).text
    assert client.get("/api/v1/dead-letters", headers=bearer(agent)).status_code == 401
    assert client.post(f"/console/tokens/{agent_id}/revoke", data={"csrf": csrf}).status_code == 409
    for unknown in ("999", "abc", "1" * 30, str(2**31)):  # past 32 bits: a 500 on PostgreSQL once
        assert client.post(f"/console/tokens/{unknown}/revoke", data={"csrf": csrf}).status_code == 404, unknown
    assert [r.channel for r in _audited(db, "token.revoked")] == ["console"]
    with db.read() as conn:
        own_id = next(t["id"] for t in list_tokens(conn) if t["role"] == "admin")
    client.post(f"/console/tokens/{own_id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/sign-in"


def test_unknown_console_page_is_a_404_page(client, admin_token):
    assert client.get("/console/nowhere", follow_redirects=False).status_code == 303
    sign_in(client, admin_token)
    res = client.get("/console/nowhere")
    assert res.status_code == 404 and res.headers["content-type"].startswith("text/html")
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console"
