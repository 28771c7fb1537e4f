"""Outbound email through real SMTP, one-click unsubscribe, export and erasure."""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from email.message import EmailMessage
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from factories import basic_auth, profile_by, says, send_batch, settled_history
from rapport.cli import app as cli
from rapport.contexts import REGISTRY, metadata

EMAIL, PHONE, NAME = "grace.hopper@example.com", "+14155550199", "Grace Brewster Hopper"


@pytest.fixture
def grace(client, make_source, admin_headers):
    web, calls = make_source("web", name="site"), make_source("call_center", name="calls")
    send_batch(
        client,
        web,
        [
            {"type": "page", "anonymousId": "g-anon", "name": "Pricing"},
            {"type": "identify", "anonymousId": "g-anon", "userId": "grace", "traits": {"email": EMAIL, "name": NAME}},
        ],
    )
    send_batch(
        client,
        calls,
        [
            {
                "type": "track",
                "anonymousId": "call-1",
                "event": "Call Center Contact",
                "context": {"traits": {"phone": PHONE, "email": EMAIL}},
            }
        ],
    )
    send_batch(
        client, web, [{"type": "track", "userId": "grace", "event": "x" * 10, "properties": "bad"}]
    )  # dead letter
    return profile_by(client, admin_headers, "user_id:grace")["id"]


def marketing(client, headers, pid, subject="Spring sale"):
    body = {"profile_id": pid, "channel": "email", "purpose": "marketing", "subject": subject, "text": "Hello!"}
    res = client.post("/api/v1/messages", json=body, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def marketing_sent(client, headers, pid, subject="Spring sale"):
    """Send marketing and wait for the outbox worker: the message's contact history once it is final."""
    assert marketing(client, headers, pid, subject)["status"] == "queued"
    return settled_history(client, headers, pid)[0]


def grant_marketing(client, headers, pid):
    body = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "newsletter form"}
    assert client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=headers).status_code == 201


def test_send_without_consent_is_suppressed_and_recorded(client, admin_headers, grace, smtp):
    result = marketing(client, admin_headers, grace)
    assert result["status"] == "suppressed" and "nothing is assumed" in result["reason"]
    assert smtp.messages == []
    history = client.get(f"/api/v1/profiles/{grace}/contact-history", headers=admin_headers).json()["items"]
    assert [(h["status"], h["contact_point"]) for h in history] == [("suppressed", EMAIL)]


def test_marketing_email_carries_unsubscribe_headers_and_one_click_suppresses_next_send(
    client, admin_headers, grace, smtp
):
    grant_marketing(client, admin_headers, grace)
    assert marketing_sent(client, admin_headers, grace)["status"] == "sent"
    [mail] = smtp.messages
    assert mail["To"] == EMAIL and mail["Subject"] == "Spring sale"
    links = re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])
    https, mailto = links
    assert https.startswith("http://127.0.0.1:8000/u/") and mailto.startswith("mailto:unsubscribe@")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https in mail.get_content()  # the visible link

    path = https.removeprefix("http://127.0.0.1:8000")
    res = client.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert res.status_code == 200
    assert "set-cookie" not in res.headers and "location" not in res.headers
    after = marketing(client, admin_headers, grace, "Second try")
    assert after["status"] == "suppressed" and "withdrawn" in after["reason"]
    assert len(smtp.messages) == 1


def _mail_to(mailto: str, sender: str) -> bytes:
    """The mail a client writes when its user follows a `mailto:` link (RFC 6068)."""
    address, _, query = mailto.removeprefix("mailto:").partition("?")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, address, parse_qs(query)["subject"][0]
    mail.set_content("Sent from my phone")
    return mail.as_bytes()


def test_a_mail_to_the_unsubscribe_address_withdraws_at_once(
    client, admin_headers, grace, smtp, database_url, monkeypatch, tmp_path
):
    grant_marketing(client, admin_headers, grace)
    assert marketing_sent(client, admin_headers, grace)["status"] == "sent"
    mailto = re.findall(r"<([^>]+)>", smtp.messages[0]["List-Unsubscribe"])[1]
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)  # as the mail server's pipe runs it

    result = CliRunner().invoke(cli, ["unsubscribe-mail"], input=_mail_to(mailto, EMAIL))
    assert result.exit_code == 0, result.output
    assert says(result.output, f"{EMAIL}: marketing by email withdrawn"), result.output
    after = marketing(client, admin_headers, grace, "Second try")
    assert after["status"] == "suppressed" and "withdrawn" in after["reason"]
    ledger = client.get(f"/api/v1/profiles/{grace}/consents", headers=admin_headers).json()["history"]
    assert ledger[-1]["status"] == "withdrawn" and ledger[-1]["source"] == "unsubscribe-mail:email"

    # What is no request bounces (65), so the sender learns; a tampered token withdraws nothing.
    tampered = mailto.replace("subject=unsubscribe%20", "subject=unsubscribe%20x")
    for raw in (b"Subject: hello\n\nplease stop\n", _mail_to(tampered, EMAIL)):
        result = CliRunner().invoke(cli, ["unsubscribe-mail"], input=raw)
        assert result.exit_code == 65, result.output
    # The mail as a file works as standard input does; a file that is not there is named, not a traceback.
    mail_file = tmp_path / "request.eml"
    mail_file.write_bytes(_mail_to(mailto, EMAIL))
    assert CliRunner().invoke(cli, ["unsubscribe-mail", str(mail_file)]).exit_code == 0  # idempotent
    missing = CliRunner().invoke(cli, ["unsubscribe-mail", str(tmp_path / "nope.eml")])
    assert missing.exit_code == 2 and says(missing.output, "nope.eml", "does not exist"), missing.output
    # A database that cannot be reached keeps the mail queued (75) rather than bouncing it.
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "sqlite:////nonexistent-dir/rapport.db")
    assert CliRunner().invoke(cli, ["unsubscribe-mail"], input=_mail_to(mailto, EMAIL)).exit_code == 75


def test_one_click_accepts_multipart_and_rejects_tampering(client, admin_headers, grace, smtp):
    grant_marketing(client, admin_headers, grace)
    assert marketing_sent(client, admin_headers, grace)["status"] == "sent"
    path = re.findall(r"<([^>]+)>", smtp.messages[0]["List-Unsubscribe"])[0].removeprefix("http://127.0.0.1:8000")
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    res = client.post(tampered, files={"List-Unsubscribe": (None, "One-Click")})
    assert (res.status_code, res.json()["code"]) == (400, "invalid_token")
    assert client.post(path, data={"something": "else"}).json()["code"] == "missing_one_click"
    assert client.post(path, content=b"\xff\x00", headers={"content-type": "application/json"}).status_code == 400
    res = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert res.status_code == 200
    assert marketing(client, admin_headers, grace)["status"] == "suppressed"


def test_frequency_cap_and_quiet_hours_limit_outreach(client, admin_headers, grace, smtp):
    grant_marketing(client, admin_headers, grace)
    client.put(
        f"/api/v1/profiles/{grace}/preferences",
        json={"frequency_caps": {"email": {"max": 1, "per_days": 7}}},
        headers=admin_headers,
    )
    assert marketing_sent(client, admin_headers, grace)["status"] == "sent"
    second = marketing(client, admin_headers, grace)
    assert second["status"] == "suppressed" and "frequency cap" in second["reason"]
    client.put(
        f"/api/v1/profiles/{grace}/preferences",
        json={"frequency_caps": {}, "quiet_hours": {"start": "00:00", "end": "23:59", "timezone": "UTC"}},
        headers=admin_headers,
    )
    assert "quiet hours" in marketing(client, admin_headers, grace)["reason"]


def test_message_bad_input(client, admin_headers, grace, make_token):
    good = {"profile_id": grace, "channel": "email", "purpose": "marketing", "subject": "s", "text": "t"}
    for change, code in (
        ({"channel": "pigeon"}, "unsupported_channel"),
        ({"subject": ""}, "invalid_request"),
        ({"profile_id": "nobody"}, "not_found"),
    ):
        res = client.post("/api/v1/messages", json={**good, **change}, headers=admin_headers)
        assert res.json()["code"] == code and 400 <= res.status_code < 500
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    assert client.post("/api/v1/messages", json=good, headers=analyst).status_code == 403


def test_registry_covers_every_table_that_references_a_profile():
    referencing = {
        t.name
        for t in metadata.sorted_tables
        if any(fk.column.table.name == "profiles" for fk in t.foreign_keys) or "profile_id" in t.c
    }
    assert referencing - set(REGISTRY) == set()
    assert "profiles" in REGISTRY


def test_export_has_every_store_as_json_and_csv_zip(client, admin_headers, grace, make_token):
    doc = client.post(f"/api/v1/profiles/{grace}/export", headers=admin_headers).json()
    assert set(doc["stores"]) == set(REGISTRY)
    values = {i["value"] for i in doc["stores"]["identifiers"]["rows"]}
    assert {EMAIL, PHONE, "grace"} <= values
    assert len(doc["stores"]["events"]["rows"]) == 3
    assert any(EMAIL in str(r["payload"]) for r in doc["stores"]["events"]["rows"])
    res = client.post(f"/api/v1/profiles/{grace}/export", params={"format": "zip"}, headers=admin_headers)
    assert res.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(res.content)).namelist()
    assert "export.json" in names and "identifiers.csv" in names and "events.csv" in names
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    assert client.post(f"/api/v1/profiles/{grace}/export", headers=agent).status_code == 403
    assert client.post(f"/api/v1/profiles/{grace}/erase", headers=agent).status_code == 403
    requests = client.get("/api/v1/data-requests", headers=admin_headers).json()["items"]
    assert [r["kind"] for r in requests] == ["export", "export"]
    assert requests[0]["due_at"] > requests[0]["received_at"]


def test_erasure_removes_the_person_everywhere_and_suppresses_their_address(
    client, admin_headers, grace, make_token, backend, db, smtp
):
    grant_marketing(client, admin_headers, grace)
    assert marketing_sent(client, admin_headers, grace)["status"] == "sent"
    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    res = client.post(f"/api/v1/profiles/{grace}/erase", headers=privacy)
    assert res.status_code == 200, res.text
    receipt = res.json()["receipt"]
    assert receipt["events"]["rows"] == 4  # the three received and the "Email Sent" outbound recorded
    assert receipt["identifiers"]["rows"] >= 5
    assert receipt["dead_letters"] == {"action": "deleted", "rows": 1}  # the bad track message naming "grace"
    assert receipt["suppressions"]["rows"] == 2
    assert client.get(f"/api/v1/profiles/{grace}", headers=admin_headers).status_code == 404
    for ident in (f"email:{EMAIL}", f"phone:{PHONE}", "user_id:grace"):
        assert profile_by(client, admin_headers, ident) is None

    if db.dialect == "sqlite":
        path = db.settings.sqlite_path
        db.dispose()
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        content = path.read_bytes() + (
            path.with_name(path.name + "-wal").read_bytes() if path.with_name(path.name + "-wal").exists() else b""
        )
        for value in (EMAIL, PHONE, NAME, "4155550199", "Brewster"):  # not "415": short digits occur by chance
            assert value.encode() not in content, f"{value} still in the database file"

    # The same address comes back: a fresh profile with no consent, and marketing stays suppressed.
    send_batch(client, backend, [{"type": "identify", "userId": "grace-2", "traits": {"email": EMAIL}}])
    fresh = profile_by(client, admin_headers, f"email:{EMAIL}")
    assert fresh["id"] != grace and fresh["event_count"] == 1
    assert client.get(f"/api/v1/profiles/{fresh['id']}/consents", headers=admin_headers).json()["current"] == []
    grant_marketing(client, admin_headers, fresh["id"])
    result = marketing(client, admin_headers, fresh["id"])
    assert result["status"] == "suppressed" and "erased" in result["reason"]
    audit = client.get("/api/v1/audit", headers=privacy).json()["items"]
    assert any(a["action"] == "data.erasure" and a["profile_id"] == grace for a in audit)


def test_erasure_also_clears_dead_letters_that_mention_the_person(client, admin_headers, source, db):
    send_batch(
        client,
        source,
        [
            {"type": "identify", "userId": "lin", "traits": {"email": "lin@example.com"}},
            {"type": "track", "userId": "lin", "context": {"traits": {"email": "lin@example.com"}}},
        ],
    )
    pid = profile_by(client, admin_headers, "user_id:lin")["id"]
    receipt = client.post(f"/api/v1/profiles/{pid}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["dead_letters"]["rows"] == 1
    assert client.get("/api/v1/dead-letters", headers=admin_headers).json()["items"] == []


def test_portal_link_for_staff(client, admin_headers, grace, make_token, smtp):
    res = client.post(f"/api/v1/profiles/{grace}/portal-link", headers=admin_headers)
    assert res.status_code == 200 and res.json()["url"].startswith("http://127.0.0.1:8000/portal/auth/")
    assert res.json()["status"] == "queued"
    assert settled_history(client, admin_headers, grace)[0]["status"] == "sent" and smtp.messages[-1]["To"] == EMAIL
    # An agent may send a customer their link, but may not download or erase their data: the link,
    # which would let them do both, goes only to the customer.
    agent_headers = {"Authorization": f"Bearer {make_token('agent')}"}
    agent = client.post(f"/api/v1/profiles/{grace}/portal-link", headers=agent_headers)
    assert agent.status_code == 200 and agent.json()["status"] == "queued" and "url" not in agent.json()
    assert [h["status"] for h in settled_history(client, admin_headers, grace)] == ["sent", "sent"]
    [mailed] = [m for m in smtp.messages[1:] if m["To"] == EMAIL]
    assert "/portal/auth/" in mailed.get_content() and mailed["Subject"] == "Your sign-in link"
    marketer = {"Authorization": f"Bearer {make_token('marketer')}"}
    assert client.post(f"/api/v1/profiles/{grace}/portal-link", headers=marketer).status_code == 403
    assert client.post("/api/v1/profiles/nobody/portal-link", headers=admin_headers).status_code == 404
    audit = client.get("/api/v1/audit", params={"profile_id": grace}, headers=admin_headers).json()["items"]
    made = [a for a in audit if a["action"] == "portal_link.created"]
    assert len(made) == 2 and all(a["actor"].startswith("staff:") and a["channel"] == "api" for a in made)


def test_tracking_key_cannot_send_or_erase(client, source, grace):
    assert client.post(f"/api/v1/profiles/{grace}/erase", headers=basic_auth(source)).status_code == 401


@pytest.mark.parametrize(
    ("role", "purpose", "status"),
    [
        ("marketer", "service", 403),
        ("marketer", "marketing", 200),
        ("agent", "service", 200),
        ("admin", "service", 200),
    ],
)
def test_only_roles_that_serve_customers_send_service_messages(client, grace, make_token, role, purpose, status):
    """A service message needs no consent: a marketer labelling a campaign "service" would skip opt-outs."""
    body = {"profile_id": grace, "purpose": purpose, "subject": "Spring sale", "text": "20% off"}
    res = client.post("/api/v1/messages", json=body, headers={"Authorization": f"Bearer {make_token(role)}"})
    assert res.status_code == status, res.text
