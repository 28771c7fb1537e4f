"""The customer portal and the unsubscribe page through TestClient: sign-in links, sessions, CSRF,
one customer never reaching another's data, Global Privacy Control, bad input as 4xx pages."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from browser.console_seed import EMAIL, PHONE, bearer, post_batch, profile_of
from browser.portal_seed import (
    PORTAL_PAGES,
    PORTAL_POSTS,
    csrf_of,
    link_path,
    seed_two,
    unsubscribe_path,
)
from factories import count_rows, eventually
from rapport.access.store import portal_links
from rapport.consent.service import check_permission_for, consent_ledger, load_preferences
from rapport.consent.view import NOTICE_VERSION
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.outbound.store import outbox
from rapport.privacy.store import data_requests

COOKIE = "rapport_portal"


@pytest.fixture
def people(client, make_source, admin_headers):
    return seed_two(client, make_source, admin_headers)


def sign_in(client: Any, headers: dict[str, str], profile_id: str) -> str:
    """Sign in by a fresh link; answers the preferences page's CSRF token."""
    client.cookies.clear()
    res = client.post(link_path(client, headers, profile_id), follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/portal", res.text
    page = client.get("/portal")
    assert page.status_code == 200
    return csrf_of(page.text)


def ledger_of(db, profile_id):
    with db.read() as conn:
        return consent_ledger(conn, members_of(conn, profile_id)[1])


def is_page(res, status):
    return res.status_code == status and res.headers["content-type"].startswith("text/html")


# signing in


def test_link_signs_in_once_with_a_hardened_cookie(client, admin_headers, people):
    ada, _ = people
    path = link_path(client, admin_headers, ada.id)
    for _ in range(2):  # opening the link (as a mail scanner would) spends nothing
        shown = client.get(path, follow_redirects=False)
        assert is_page(shown, 200) and "Continue to my account" in shown.text and COOKIE not in client.cookies
    res = client.post(path, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/portal"
    cookie = res.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/portal;" in cookie and ada.id not in res.headers["location"]
    assert "rapport_console" not in client.cookies
    page = client.get("/portal")
    assert page.status_code == 200 and "My preferences" in page.text
    assert 'href="#main"' in page.text and '<html lang="en"' in page.text
    client.cookies.clear()
    again = client.post(path)
    assert is_page(again, 410) and is_page(client.get(path), 410)
    assert is_page(again, 410) and "expired" in again.text and 'href="/portal/sign-in"' in again.text
    assert COOKIE not in client.cookies


def test_tampered_or_garbage_link_is_a_400_page(client, admin_headers, people):
    path = link_path(client, admin_headers, people[0].id)
    for bad in (
        path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),
        "/portal/auth/nonsense",
        "/portal/auth/" + "x" * 2000,
    ):
        for res in (client.get(bad, follow_redirects=False), client.post(bad, follow_redirects=False)):
            assert is_page(res, 400), bad
            assert "not valid" in res.text
    assert client.post(path, follow_redirects=False).status_code == 303  # the real one still works


def test_expired_link_is_a_410_page(client, db, admin_headers, people):
    path = link_path(client, admin_headers, people[0].id)
    with db.write() as conn:
        conn.execute(portal_links.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    res = client.post(path, follow_redirects=False)
    assert is_page(res, 410) and COOKIE not in client.cookies and is_page(client.get(path), 410)


def test_every_portal_page_sends_strangers_to_sign_in(client):
    for path in (*PORTAL_PAGES, "/portal/nowhere", "/portal/"):
        res = client.get(path, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/portal/sign-in", path
    for path in PORTAL_POSTS:
        res = client.post(path, data={"csrf": "x", "confirm": "erase"}, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/portal/sign-in", path
    assert is_page(client.get("/portal/sign-in"), 200)


def test_asking_for_a_link_never_tells_whether_the_address_is_known(client, people, smtp):
    known = client.post("/portal/sign-in", data={"email": "ADA@example.com"})
    unknown = client.post("/portal/sign-in", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ADA@example.com", "X") == unknown.text.replace("nobody@example.com", "X")
    assert eventually(lambda: smtp.messages)  # the outbox worker sends it
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]
    url = next(line for line in smtp.messages[0].get_content().splitlines() if "/portal/auth/" in line).strip()
    res = client.post(url.removeprefix("http://127.0.0.1:8000"), follow_redirects=False)
    assert res.status_code == 303 and COOKIE in client.cookies
    for bad in ("", "not an email", "a@" + "b" * 400 + ".com"):
        assert is_page(client.post("/portal/sign-in", data={"email": bad}), 400), bad
    assert (
        client.post(
            "/portal/sign-in", data={"email": "ada@example.com"}, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )


def test_sign_out_needs_csrf_and_ends_the_session(client, admin_headers, people):
    csrf = sign_in(client, admin_headers, people[0].id)
    assert client.post("/portal/sign-out", data={"csrf": "forged"}).status_code == 403
    res = client.post("/portal/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert res.headers["location"] == "/portal/sign-in?signed_out=1"
    assert "You are signed out" in client.get("/portal/sign-in?signed_out=1").text
    assert client.get("/portal", follow_redirects=False).status_code == 303


# CSRF and isolation


def test_every_portal_form_refuses_a_missing_or_wrong_csrf_token(client, db, admin_headers, people):
    ada, _ = people
    csrf = sign_in(client, admin_headers, ada.id)
    forms = {
        "/portal/consents": {"consent": "marketing:email"},
        "/portal/personalization": {"level": "personal"},
        "/portal/contact": {"preferred": "sms"},
        "/portal/display": {"large_text": "on"},
        "/portal/download": {"format": "json"},
        "/portal/erase": {"confirm": "erase"},
    }
    assert set(forms) == set(PORTAL_POSTS)
    for path, data in forms.items():
        for token in (None, "", "forged", csrf[:-1]):
            body = data if token is None else {**data, "csrf": token}
            res = client.post(path, data=body)
            assert is_page(res, 403), (path, token)
        cross = client.post(path, data={**data, "csrf": csrf}, headers={"Origin": "https://evil.example"})
        assert is_page(cross, 403), path
    assert ledger_of(db, ada.id) == []
    with db.read() as conn:
        assert load_preferences(conn, ada.id).personalization_level == "contextual"
        assert conn.execute(sa.select(data_requests)).first() is None


def _cookie_payload(client: Any) -> str:
    return client.cookies[COOKIE]


def test_a_customer_never_sees_another_customers_data(client, db, admin_headers, people):
    ada, bob = people
    sign_in(client, admin_headers, ada.id)
    ada_cookie = _cookie_payload(client)
    csrf = sign_in(client, admin_headers, bob.id)

    def nothing_of_ada(text: str) -> None:
        for secret in (ada.email, ada.name, ada.user_id, ada.id, "note-of-u-ada"):
            assert secret not in text

    for path in PORTAL_PAGES:
        res = client.get(path, params={"profile_id": ada.id, "id": ada.id})
        assert res.status_code == 200, path
        nothing_of_ada(res.text)
    data = client.get("/portal/data").text
    assert bob.email in data and "note-of-u-bob" in data
    for fmt in ("json", "zip"):
        res = client.post("/portal/download", data={"csrf": csrf, "format": fmt, "profile_id": ada.id})
        assert res.status_code == 200 and res.headers["content-disposition"].startswith("attachment")
        nothing_of_ada(res.content.decode("latin-1"))
    client.post("/portal/consents", data={"csrf": csrf, "consent": "marketing:email", "profile_id": ada.id})
    client.post("/portal/personalization", data={"csrf": csrf, "level": "personal", "profile_id": ada.id})
    assert ledger_of(db, ada.id) == [] and len(ledger_of(db, bob.id)) == 1
    with db.read() as conn:
        assert load_preferences(conn, ada.id).personalization_level == "contextual"
        assert load_preferences(conn, bob.id).personalization_level == "personal"

    # forged cookies: Bob's signature on Ada's id, a wrong key, the console's salt, garbage
    bob_cookie = _cookie_payload(client)
    payload, _, signature = bob_cookie.partition(".")
    ada_payload = ada_cookie.partition(".")[0]
    wrong_key = URLSafeTimedSerializer("not-the-secret", salt="rapport.portal.session").dumps({"p": ada.id, "n": "x"})
    wrong_salt = URLSafeTimedSerializer(client.app.state.console_secret, salt="rapport.console.session").dumps(
        {"p": ada.id, "n": "x", "t": 1}
    )
    for forged in (f"{ada_payload}.{signature}", wrong_key, wrong_salt, "garbage", bob_cookie[:-4] + "AAAA"):
        client.cookies.clear()
        client.cookies.set(COOKIE, forged)
        for path in PORTAL_PAGES:
            res = client.get(path, follow_redirects=False)
            assert res.status_code == 303 and res.headers["location"] == "/portal/sign-in", (path, forged)
    assert payload  # the cookie has a body and a signature


def test_a_session_follows_its_profile_into_a_merge(client, make_source, admin_headers):
    web, store, calls = make_source("web"), make_source("store"), make_source("call_center")
    post_batch(client, web, [{"type": "identify", "userId": "u-ada", "traits": {"email": EMAIL}}])
    post_batch(client, store, [{"type": "identify", "anonymousId": "pos-77", "traits": {"phone": PHONE}}])
    in_store = profile_of(client, admin_headers, "anonymous_id:pos-77")
    sign_in(client, admin_headers, in_store["id"])
    before = client.get("/portal/data").text
    assert "pos-77" in before and "u-ada" not in before
    post_batch(
        client, calls, [{"type": "identify", "anonymousId": "call-5", "traits": {"email": EMAIL, "phone": PHONE}}]
    )
    merged = profile_of(client, admin_headers, "anonymous_id:pos-77")
    assert merged["id"] == profile_of(client, admin_headers, "user_id:u-ada")["id"]
    after = client.get("/portal/data").text  # the same cookie, now naming one side of a merge
    assert "pos-77" in after and "u-ada" in after and "call-5" in after


# consent, preferences, Global Privacy Control


def test_nothing_is_pre_ticked_and_consent_choices_take_effect_at_once(client, db, admin_headers, people):
    ada, _ = people
    csrf = sign_in(client, admin_headers, ada.id)
    page = client.get("/portal").text
    assert 'name="consent"' in page and page.count('name="consent"') == 24  # 6 purposes x 4 channels
    assert "checked" not in page.split('id="personalization-heading"')[0]
    res = client.post(
        "/portal/consents", data={"csrf": csrf, "consent": ["marketing:email", "analytics:web"]}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"] == "/portal?saved=consents"
    ledger = ledger_of(db, ada.id)
    assert {(r.purpose, r.channel, r.status) for r in ledger} == {
        ("marketing", "email", "granted"),
        ("analytics", "web", "granted"),
    }
    assert all(r.source == "portal" and r.notice_version == NOTICE_VERSION for r in ledger)
    with db.read() as conn:
        assert check_permission_for(conn, ada.id, "marketing", "email", contact_point=ada.email).allowed
    page = client.get("/portal?saved=consents").text
    assert "Your consent choices are saved" in page
    assert 'value="marketing:email" checked' in page and 'value="analytics:web" checked' in page
    client.post("/portal/consents", data={"csrf": csrf, "consent": ["analytics:web"]})
    assert ledger_of(db, ada.id)[-1].status == "withdrawn" and len(ledger_of(db, ada.id)) == 3
    with db.read() as conn:
        assert not check_permission_for(conn, ada.id, "marketing", "email", contact_point=ada.email).allowed
    client.post("/portal/consents", data={"csrf": csrf, "consent": ["analytics:web"]})
    assert len(ledger_of(db, ada.id)) == 3  # unchanged boxes write nothing


def test_preferences_are_saved_and_shown(client, db, admin_headers, people):
    ada, _ = people
    csrf = sign_in(client, admin_headers, ada.id)
    client.post("/portal/personalization", data={"csrf": csrf, "level": "personal"})
    client.post(
        "/portal/contact",
        data={
            "csrf": csrf,
            "preferred": ["sms", "email"],
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "timezone": "Europe/London",
        },
    )
    client.post("/portal/display", data={"csrf": csrf, "large_text": "on", "reduced_motion": "on"})
    with db.read() as conn:
        prefs = load_preferences(conn, ada.id)
    assert prefs.personalization_level == "personal" and prefs.preferred_channels == ("sms", "email")
    assert str(prefs.quiet_hours.start) == "21:00:00" and prefs.quiet_hours.timezone == "Europe/London"
    assert prefs.large_text and prefs.reduced_motion and not prefs.high_contrast
    page = client.get("/portal").text
    assert '<html lang="en" class="large-text reduced-motion">' in page
    assert 'id="level-personal" name="level" value="personal"' in page and 'value="21:00"' in page
    client.post("/portal/contact", data={"csrf": csrf, "quiet_start": "", "quiet_end": ""})
    with db.read() as conn:
        assert load_preferences(conn, ada.id).quiet_hours is None


def test_bad_preferences_are_400_pages_not_500(client, db, admin_headers, people):
    ada, _ = people
    csrf = sign_in(client, admin_headers, ada.id)
    bad = [
        ("/portal/personalization", {"level": "bogus"}),
        ("/portal/personalization", {}),
        ("/portal/contact", {"preferred": "carrier-pigeon"}),
        ("/portal/contact", {"quiet_start": "25:00", "quiet_end": "08:00"}),
        ("/portal/contact", {"quiet_start": "12:00+05:00", "quiet_end": "08:00"}),
        ("/portal/contact", {"quiet_start": "21:00"}),
        ("/portal/contact", {"quiet_start": "21:00", "quiet_end": "08:00", "timezone": "Mars/Olympus_Mons"}),
        ("/portal/contact", {"quiet_start": "21:00", "quiet_end": "08:00", "timezone": "../../etc/passwd"}),
        ("/portal/display", {"large_text": "maybe"}),
        ("/portal/consents", {"consent": "marketing:carrier-pigeon"}),
        ("/portal/consents", {"consent": "any:any"}),
        ("/portal/download", {"format": "exe"}),
    ]
    for path, data in bad:
        res = client.post(path, data={**data, "csrf": csrf})
        assert is_page(res, 400), (path, data, res.status_code)
        assert "Error 400" in res.text and 'href="/portal"' in res.text
    assert ledger_of(db, ada.id) == []


def test_global_privacy_control_is_recorded_once_and_shown(client, db, admin_headers, people):
    ada, _ = people
    sign_in(client, admin_headers, ada.id)
    assert "Global Privacy Control" not in client.get("/portal").text
    for _ in range(3):
        page = client.get("/portal", headers={"Sec-GPC": "1"})
        assert "Global Privacy Control honoured" in page.text
    ledger = ledger_of(db, ada.id)
    assert [(r.purpose, r.channel, r.status, r.source) for r in ledger] == [
        ("sharing", "any", "denied", "portal:Sec-GPC")
    ]
    assert "your browser&#39;s Global Privacy Control" in page.text  # listed under "Also on record"
    assert 'value="sharing:email" checked' not in page.text


# unsubscribe page


def test_unsubscribe_page_asks_first_and_the_post_unsubscribes(client, db, people):
    ada, _ = people
    path = unsubscribe_path(db, ada)
    page = client.get(path)
    assert is_page(page, 200) and ada.email in page.text and "Marketing" in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text and f'action="{path}"' in page.text
    assert ledger_of(db, ada.id) == []  # opening the link changed nothing
    done = client.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Accept": "text/html"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    [record] = ledger_of(db, ada.id)
    assert (record.purpose, record.channel, record.contact_point, record.status) == (
        "marketing",
        "email",
        ada.email,
        "withdrawn",
    )
    assert "already unsubscribed" in client.get(path).text
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert is_page(client.get(tampered), 400) and is_page(client.get("/u/x"), 400)


def test_granting_again_in_the_portal_overrides_an_unsubscribe(client, db, admin_headers, people):
    ada, _ = people
    client.post(unsubscribe_path(db, ada), data={"List-Unsubscribe": "One-Click"})
    csrf = sign_in(client, admin_headers, ada.id)
    page = client.get("/portal").text
    assert f"Withdrawn for {ada.email}" in page and 'value="marketing:email" checked' not in page
    client.post("/portal/consents", data={"csrf": csrf, "consent": "marketing:email"})
    with db.read() as conn:
        assert check_permission_for(conn, ada.id, "marketing", "email", contact_point=ada.email).allowed
    assert 'value="marketing:email" checked' in client.get("/portal").text


# my data, download, erase


def test_my_data_download_and_data_requests(client, db, admin_headers, people):
    ada, _ = people
    csrf = sign_in(client, admin_headers, ada.id)
    client.post("/portal/consents", data={"csrf": csrf, "consent": "marketing:sms"})
    data = client.get("/portal/data").text
    for text in (
        ada.email,
        "u-ada",
        "Ada Lovelace",
        "note-of-u-ada",
        "Marketing",
        "Text message",
        "Full history of your consents",
    ):
        assert text in data, text
    res = client.post("/portal/download", data={"csrf": csrf, "format": "json"})
    assert res.headers["content-type"].startswith("application/json")
    assert res.headers["content-disposition"].startswith('attachment; filename="my-data-')
    doc = orjson.loads(res.content)
    assert doc["profile_id"] == ada.id and doc["stores"]["consent_records"]["rows"]
    archive = zipfile.ZipFile(io.BytesIO(client.post("/portal/download", data={"csrf": csrf, "format": "zip"}).content))
    assert "export.json" in archive.namelist() and "consent_records.csv" in archive.namelist()
    with db.read() as conn:
        rows = conn.execute(sa.select(data_requests)).all()
    assert [(r.kind, r.actor, r.channel) for r in rows] == [("export", f"customer:{ada.id}", "portal")] * 2


def test_erase_needs_the_word_then_erases_and_voids_the_session(client, db, admin_headers, people):
    ada, bob = people
    csrf = sign_in(client, admin_headers, ada.id)
    cookie = client.cookies[COOKIE]
    wrong = client.post("/portal/erase", data={"csrf": csrf, "confirm": "yes"})
    assert is_page(wrong, 400) and "Nothing was erased" in wrong.text
    assert profile_of(client, admin_headers, f"user_id:{ada.user_id}") is not None
    done = client.post("/portal/erase", data={"csrf": csrf, "confirm": " Erase "})
    assert is_page(done, 200) and "Your data is erased" in done.text and "deleted" in done.text
    assert COOKIE not in client.cookies
    assert profile_of(client, admin_headers, f"user_id:{ada.user_id}") is None
    assert profile_of(client, admin_headers, f"user_id:{bob.user_id}") is not None
    client.cookies.set(COOKIE, cookie)  # the old cookie, replayed
    for path in PORTAL_PAGES:
        assert client.get(path, follow_redirects=False).headers["location"] == "/portal/sign-in", path
    with db.read() as conn:
        [row] = conn.execute(sa.select(data_requests)).all()
    assert (row.kind, row.actor, row.channel) == ("erasure", f"customer:{ada.id}", "portal")


# the staff console's views of consent


def test_console_360_shows_consent_preferences_and_contact_history(client, db, admin_token, people):
    ada, _ = people
    admin = bearer(admin_token)
    client.post(
        f"/api/v1/profiles/{ada.id}/consents",
        headers=admin,
        json={"purpose": "marketing", "channel": "email", "status": "granted", "source": "newsletter form"},
    )
    client.put(f"/api/v1/profiles/{ada.id}/preferences", headers=admin, json={"personalization_level": "personal"})
    client.post(
        "/api/v1/messages",
        headers=admin,
        json={"profile_id": ada.id, "purpose": "marketing", "subject": "Spring sale", "text": "Hi"},
    )
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": admin_token})
    html = client.get(f"/console/profiles/{ada.id}").text
    section = html.split('id="consent-heading"')[1].split('id="timeline-heading"')[0]
    for text in ("Personal", "marketing", "granted", "newsletter form", "Contact history", "Spring sale"):
        assert text in section, text


def test_data_requests_page_for_admin_and_privacy_only(client, admin_token, make_token, people):
    ada, _ = people
    client.post(f"/api/v1/profiles/{ada.id}/export", headers=bearer(admin_token))
    for role, allowed in (
        ("admin", True),
        ("privacy", True),
        ("agent", False),
        ("analyst", False),
        ("marketer", False),
    ):
        client.cookies.clear()
        token = admin_token if role == "admin" else make_token(role)
        client.post("/console/sign-in", data={"token": token})
        res = client.get("/console/data-requests")
        if allowed:
            assert res.status_code == 200 and "export" in res.text and ada.id[:12] in res.text
            assert 'href="/console/data-requests"' in res.text
        else:
            assert is_page(res, 403) and 'href="/console/data-requests"' not in res.text


def test_asking_again_and_again_sends_at_most_three_links(client, db, people, smtp):
    for _ in range(5):
        assert client.post("/portal/sign-in", data={"email": "ada@example.com"}).status_code == 200
    assert eventually(lambda: count_rows(db, outbox) == 0)  # the outbox worker has sent what was queued
    assert len(smtp.messages) == 3
