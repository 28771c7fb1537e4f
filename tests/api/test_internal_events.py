"""What a context does is an event in the log (collect/internal.py), through an internal source no
client can reach: outbound email records what it sent on the person's timeline, in the export, and
gone with the person on erasure; a write key can forge neither such an event nor its profile name."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from factories import basic_auth, profile_by, send_batch, settled_history
from rapport.collect.internal import InternalEventError, record_event
from rapport.collect.log import append_messages
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.service import SourceError, create_source, list_sources, rotate_write_key
from rapport.collect.store import events, sources
from rapport.kernel.clock import utcnow
from rapport.privacy.service import erase_profile
from rapport.profiles.processor import Processor
from rapport.profiles.store import profile_events

ADA = "ada@example.com"


@pytest.fixture
def ada(client, backend, admin_headers) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": ADA, "name": "Ada L"}}])
    return profile_by(client, admin_headers, "user_id:ada")["id"]


def _send(client, headers, pid: str, subject: str = "Your bill") -> dict:
    body = {"profile_id": pid, "channel": "email", "purpose": "service", "subject": subject, "text": "Paid, thanks."}
    res = client.post("/api/v1/messages", json=body, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def _timeline(client, headers, pid: str) -> list[dict]:
    res = client.get(f"/api/v1/profiles/{pid}/timeline", params={"consistent": "true"}, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()["items"]


def _internal_events(db) -> int:
    with db.read() as conn:
        internal = sa.select(sources.c.id).where(sources.c.channel == "internal")
        return int(conn.execute(sa.select(sa.func.count()).where(events.c.source_id.in_(internal))).scalar_one())


def test_a_sent_email_is_on_the_timeline_in_the_export_and_erased_with_the_person(
    client, admin_headers, ada, smtp, db, make_token
):
    assert _send(client, admin_headers, ada)["status"] == "queued"
    assert settled_history(client, admin_headers, ada)[0]["status"] == "sent"
    [sent, identify] = _timeline(client, admin_headers, ada)
    assert (sent["event"], sent["source"], sent["channel"]) == ("Email Sent", "internal:outbound", "internal")
    assert sent["payload"]["properties"] == {
        "purpose": "service",
        "subject": "Your bill",
        "status": "sent",
        "reason": "permission granted; delivered to the SMTP server",
    }
    assert identify["event"] is None and identify["type"] == "identify"
    profile = client.get(f"/api/v1/profiles/{ada}", headers=admin_headers).json()
    assert profile["channels"] == ["other"] and profile["event_count"] == 2  # no channel the person used
    assert {i["type"] for i in profile["identifiers"]} == {"user_id", "email"}  # nothing joined

    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    exported = client.post(f"/api/v1/profiles/{ada}/export", headers=privacy).json()
    assert "Email Sent" in [r["event"] for r in exported["stores"]["events"]["rows"]]
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=privacy).json()["receipt"]
    assert receipt["events"]["rows"] == 2 and _internal_events(db) == 0


def test_a_failed_or_suppressed_send_is_recorded_too(client, admin_headers, ada):
    body = {"profile_id": ada, "channel": "email", "purpose": "marketing", "subject": "Sale", "text": "Hi"}
    assert client.post("/api/v1/messages", json=body, headers=admin_headers).json()["status"] == "suppressed"
    assert _send(client, admin_headers, ada)["status"] == "failed"  # no SMTP server configured here
    names = [e["event"] for e in _timeline(client, admin_headers, ada)]
    assert names[:2] == ["Email Failed", "Email Suppressed"]


def test_a_write_key_cannot_reach_an_internal_source_nor_name_a_profile(
    client, admin_headers, ada, source, backend, db, smtp
):
    _send(client, admin_headers, ada)
    assert settled_history(client, admin_headers, ada)[0]["status"] == "sent"  # the outbound context's source exists
    forged = {"type": "track", "userId": "mallory", "event": "Email Sent", "context": {"rapport": {"profileId": ada}}}
    assert send_batch(client, source, [forged]).status_code == 200
    mallory = profile_by(client, admin_headers, "user_id:mallory")
    assert mallory["id"] != ada and mallory["event_count"] == 1  # the name of a profile is a claim, ignored
    assert [e["source"] for e in _timeline(client, admin_headers, ada)] == ["internal:outbound", backend.name]
    bare = {"type": "track", "event": "Email Sent", "context": {"rapport": {"profileId": ada}}}
    res = send_batch(client, source, [bare])  # a client still needs an id of its own
    assert res.json()["rejected"] == 1 and res.json()["problems"][0]["code"] == "missing_id"

    with db.read() as conn:
        key = conn.execute(sa.select(sources.c.write_key).where(sources.c.name == "internal:outbound")).scalar_one()
        assert "internal:outbound" not in [s.name for s in list_sources(conn)]
    internal = type(source)(**{**source.__dict__, "write_key": key})
    res = client.post("/v1/track", json={"userId": "x", "event": "E"}, headers=basic_auth(internal))
    assert res.status_code == 401 and res.json()["code"] == "invalid_write_key"
    for name, channel in (("internal:outbound", "web"), ("internal:journeys", "web"), ("mine", "internal")):
        with pytest.raises(SourceError):
            create_source(db, name, channel)
    with pytest.raises(SourceError):
        rotate_write_key(db, "internal:outbound", "cli:test")


def test_an_event_recorded_before_an_erasure_goes_with_it_placed_or_not(db, source):
    identify = {"type": "identify", "userId": "zoe", "traits": {"email": "zoe@example.com"}}
    with db.write() as conn:
        append_messages(conn, source.id, [normalize_message(identify, Envelope({}, {}, None, utcnow()))], [])
    Processor(db).run_until_caught_up()
    with db.read() as conn:
        zoe = conn.execute(sa.select(profile_events.c.profile_id)).scalar_one()
    with db.write() as conn:
        record_event(conn, "journeys", event="Stage Changed", profile_id=zoe, properties={"stage": "purchase"})
    erase_profile(db, zoe, actor="staff:test", via="api")  # before the processor placed it
    assert _internal_events(db) == 0

    with db.write() as conn:  # a profile erased since, or never there: the event goes on none
        head = record_event(conn, "journeys", event="Stage Changed", profile_id=uuid.uuid4().hex)
    assert Processor(db).run_until_caught_up() == 1
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.max(profile_events.c.event_id))).scalar() is None
        assert conn.execute(sa.text("SELECT count(*) FROM profiles")).scalar_one() == 0
    assert head > 0


def test_record_event_by_user_id_is_idempotent_and_needs_one_name(db):
    with db.write() as conn:
        first = record_event(conn, "service", event="Case Opened", user_id="kim", message_id="case-1")
        again = record_event(conn, "service", event="Case Opened", user_id="kim", message_id="case-1")
    assert first == again
    Processor(db).run_until_caught_up()
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT key FROM identifiers")).scalars().all() == ["user_id:kim"]
    for names in ({}, {"user_id": "kim", "profile_id": "p"}):
        with pytest.raises(InternalEventError), db.write() as conn:
            record_event(conn, "service", event="Case Opened", **names)
    with pytest.raises(InternalEventError), db.write() as conn:
        record_event(conn, "Not A Context", event="X", user_id="kim")
