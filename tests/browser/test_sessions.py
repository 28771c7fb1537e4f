"""Sessions live on the server: signing out, revoking the token or erasing the customer ends them,
so a copied cookie stops working; cookies are Secure behind https; forms from another origin on the
same site (another port, a sibling subdomain) are refused, login included."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from browser.portal_seed import csrf_of, link_path, seed_two
from rapport.access.customers import create_portal_link, redeem_portal_link
from rapport.access.service import create_token, revoke_token
from rapport.access.store import sessions
from rapport.app import create_app
from rapport.kernel.errors import Gone
from rapport.settings import load_settings

CONSOLE_COOKIE, PORTAL_COOKIE = "rapport_console", "rapport_portal"


def _console_sign_in(client: Any, token: str) -> str:
    client.cookies.clear()
    res = client.post("/console/sign-in", data={"token": token}, follow_redirects=False)
    assert res.status_code == 303, res.text
    return str(client.cookies[CONSOLE_COOKIE])


def _signed_in_console(client: Any, cookie: str) -> bool:
    client.cookies.clear()
    client.cookies.set(CONSOLE_COOKIE, cookie)
    res = client.get("/console", follow_redirects=False)
    return res.status_code == 200


def test_a_copied_console_cookie_stops_working_at_sign_out(client, admin_token):
    copied = _console_sign_in(client, admin_token)
    csrf = csrf_of(client.get("/console").text)
    assert client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert not _signed_in_console(client, copied), "the cookie still signs in after signing out"
    other = _console_sign_in(client, admin_token)  # another session of the same token is unaffected
    assert _signed_in_console(client, other)


def test_revoking_a_token_ends_its_console_sessions(client, db):
    staff, token = create_token(db, "agent", "kiosk")
    cookie = _console_sign_in(client, token)
    assert _signed_in_console(client, cookie)
    revoke_token(db, staff.token_id, "cli:test")
    with db.read() as conn:
        ended = conn.execute(sa.select(sessions.c.ended_at).where(sessions.c.subject == str(staff.token_id))).all()
    assert ended and all(row.ended_at is not None for row in ended)
    assert not _signed_in_console(client, cookie)


def test_a_copied_portal_cookie_stops_working_at_sign_out(client, make_source, admin_headers):
    ada, _ = seed_two(client, make_source, admin_headers)
    client.cookies.clear()
    assert client.post(link_path(client, admin_headers, ada.id), follow_redirects=False).status_code == 303
    copied = str(client.cookies[PORTAL_COOKIE])
    csrf = csrf_of(client.get("/portal").text)
    assert client.post("/portal/sign-out", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(PORTAL_COOKIE, copied, path="/portal")
    res = client.get("/portal", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/portal/sign-in"


@pytest.mark.parametrize(("public_url", "secure"), [("https://cx.example.com", True), ("http://127.0.0.1:8000", False)])
def test_cookies_are_secure_when_customers_reach_us_over_https(database_url, db, admin_token, public_url, secure):
    settings = load_settings(database_url=database_url, processor="off", public_url=public_url)
    with TestClient(create_app(settings, db)) as client:
        res = client.post("/console/sign-in", data={"token": admin_token}, follow_redirects=False)
    cookie = res.headers["set-cookie"].lower()
    assert res.status_code == 303 and ("; secure" in cookie) is secure, cookie


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://testserver:8081"},  # another port of the same host
        {"origin": "http://evil.testserver"},  # a sibling subdomain
        {"origin": "null", "sec-fetch-site": "same-site"},  # a sandboxed frame on the same site
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_login_csrf_from_the_same_site_is_refused(client, admin_token, headers):
    client.cookies.clear()
    res = client.post("/console/sign-in", data={"token": admin_token}, headers=headers, follow_redirects=False)
    assert res.status_code == 403 and CONSOLE_COOKIE not in res.cookies, headers


def test_a_form_from_this_origin_signs_in(client, admin_token):
    for headers in (
        {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        {"origin": "null", "sec-fetch-site": "same-origin"},  # from a page with Referrer-Policy: no-referrer
        {"sec-fetch-site": "none"},
        {},
    ):
        client.cookies.clear()
        res = client.post("/console/sign-in", data={"token": admin_token}, headers=headers, follow_redirects=False)
        assert res.status_code == 303, headers


def _race(db: Any, token: str, racers: int) -> tuple[list[str], int]:
    """Redeem one link from `racers` threads released at once: who got a session, how many were refused."""
    start, won, refused = threading.Barrier(racers), [], []

    def redeem() -> None:
        start.wait(timeout=10)
        try:
            won.append(redeem_portal_link(db, token))
        except Gone:
            refused.append(1)

    threads = [threading.Thread(target=redeem) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return won, len(refused)


def test_a_link_redeemed_at_the_same_moment_signs_in_once(client, db, make_source, admin_headers):
    """Many redemptions of one link racing each other: exactly one gets a session (PostgreSQL's read
    committed let two read it unused and both mark it used)."""
    ada, _ = seed_two(client, make_source, admin_headers)
    for _attempt in range(10):
        token = create_portal_link(db, ada.id, created_by="staff:test").rsplit("/", 1)[-1]
        won, refused = _race(db, token, 4)
        assert len(won) == 1 and refused == 3, (won, refused)


def test_sign_in_links_are_limited_per_client_and_in_all(database_url, db, client, make_source, admin_headers):
    seed_two(client, make_source, admin_headers)
    settings = load_settings(
        database_url=database_url, processor="off", sign_in_links_per_client=3, sign_in_links_per_server=5
    )
    with TestClient(create_app(settings, db), client=("198.51.100.7", 5000)) as one:
        answers = [one.post("/portal/sign-in", data={"email": f"p{i}@example.com"}) for i in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert "Too many sign-in" in answers[-1].text and answers[-1].headers["content-type"].startswith("text/html")
        # A known address gets the same answer as an unknown one: the limit tells nothing about them.
        assert one.post("/portal/sign-in", data={"email": "ada@example.com"}).status_code == 429
    with TestClient(create_app(settings, db), client=("198.51.100.8", 5000)) as other:
        other.app.state.sign_in_limits = one.app.state.sign_in_limits  # one server: 3 of its 5 are used
        codes = [other.post("/portal/sign-in", data={"email": f"q{i}@example.com"}).status_code for i in range(3)]
        assert codes == [200, 200, 429], "another client is held by the limit in all"
