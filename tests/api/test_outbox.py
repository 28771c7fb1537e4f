"""Outbound mail leaves the request threads: a send is queued in the outbox with its contact history
and answered at once; the outbox worker sends it, tries again after a temporary refusal, gives up
on a permanent one, asks the permission check again right before SMTP, and two workers never send
one mail twice. Against a real SMTP server (aiosmtpd) that can hang and refuse."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import Mailbox, require
from factories import count_rows, eventually, profile_by, send_batch, settled_history
from rapport import contexts
from rapport.app import create_app
from rapport.db.engine import open_database
from rapport.kernel.clock import utcnow
from rapport.outbound.model import RetryPolicy
from rapport.outbound.store import anything_due, claim_due, outbox, remove
from rapport.outbound.worker import OutboxWorker, send_due

ADA, BOB = "ada@example.com", "bob@example.com"


class ControlledMailbox(Mailbox):
    """The test SMTP server, told to hang (answer MAIL FROM only once `hang_until` has passed: nothing
    of the mail was received, as with a server that accepts connections and then stalls) or to refuse
    recipients with the replies queued in `refusals` (one per RCPT TO, then 250)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang_until = 0.0
        self.refusals: list[str] = []
        self.rcpt_calls = 0

    async def handle_MAIL(
        self, _server: object, _session: object, envelope: Any, address: str, _options: object
    ) -> str:  # noqa: N802
        while time.monotonic() < self.hang_until:
            await asyncio.sleep(0.02)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, _server: object, _session: object, envelope: Any, address: str, _options: object
    ) -> str:  # noqa: N802
        self.rcpt_calls += 1
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(message_from_bytes(raw, policy=default_policy)["Subject"]) for raw in self.raw]


@pytest.fixture
def smtp() -> Iterator[ControlledMailbox]:
    """Replaces conftest's `smtp`: the settings fixture points the app at this server."""
    try:
        mailbox = ControlledMailbox()
    except ImportError:
        require(False, "aiosmtpd is not installed")
        raise
    mailbox.controller.start()
    yield mailbox
    mailbox.hang_until = 0.0  # let a hung session end before the server stops
    mailbox.controller.stop()


def quick(monkeypatch: pytest.MonkeyPatch, *, max_attempts: int = 50) -> None:
    """The worker's waits, in test time: a second for the server's reply, 0.1 s between tries."""
    monkeypatch.setattr(OutboxWorker, "smtp_timeout_s", 1.0)
    monkeypatch.setattr(OutboxWorker, "retry", RetryPolicy(max_attempts, first_delay_s=0.1, longest_delay_s=0.2))


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch, settings, db) -> Iterator[TestClient]:
    """The app with no outbox worker of its own: mail stays queued until the test runs `send_due`."""
    monkeypatch.setattr(contexts, "WORKERS", ())
    with TestClient(create_app(settings, db)) as client:
        yield client


def customers(client: TestClient, make_source, headers: dict[str, str]) -> tuple[str, str]:
    backend = make_source("other")  # a server source: what it says of a person's address is asserted
    send_batch(
        client,
        backend,
        [
            {"type": "identify", "userId": "ada", "traits": {"email": ADA}},
            {"type": "identify", "userId": "bob", "traits": {"email": BOB}},
        ],
    )
    ada, bob = (profile_by(client, headers, f"user_id:{u}")["id"] for u in ("ada", "bob"))  # type: ignore[index]
    return ada, bob


def post(client: TestClient, headers: dict[str, str], pid: str, subject: str, purpose: str = "service") -> dict:
    body = {"profile_id": pid, "purpose": purpose, "subject": subject, "text": "Hello"}
    res = client.post("/api/v1/messages", json=body, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def timeline_events(client: TestClient, headers: dict[str, str], pid: str) -> list[str]:
    res = client.get(f"/api/v1/profiles/{pid}/timeline", params={"consistent": "true"}, headers=headers)
    return [e["event"] for e in res.json()["items"] if e["event"]]


def outbox_rows(db) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.id)))


def test_a_send_is_answered_at_once_while_the_server_hangs_and_arrives_once_it_answers(
    client, smtp, admin_headers, make_source, db, monkeypatch
):
    quick(monkeypatch)
    ada, bob = customers(client, make_source, admin_headers)
    smtp.hang_until = time.monotonic() + 10  # as a mail server that stalls for 10 s
    for pid, subject in ((ada, "Your bill"), (bob, "Your bill"), (ada, "Your receipt")):
        started = time.monotonic()
        answer = post(client, admin_headers, pid, subject)
        assert time.monotonic() - started < 1.0, "the request waited for the mail server"
        assert answer == {"status": "queued", "reason": "permission granted; queued for delivery", "profile_id": pid}
    history = client.get(f"/api/v1/profiles/{ada}/contact-history", headers=admin_headers).json()["items"]
    assert [(h["status"], h["subject"]) for h in history] == [("queued", "Your receipt"), ("queued", "Your bill")]

    # The worker's tries time out and are made again; the staff API keeps answering meanwhile.
    assert eventually(lambda: min(row.attempts for row in outbox_rows(db)) >= 2), outbox_rows(db)
    assert smtp.raw == []
    started = time.monotonic()
    assert client.get(f"/api/v1/profiles/{ada}", headers=admin_headers).status_code == 200
    assert time.monotonic() - started < 1.0
    assert "trying again" in outbox_rows(db)[0].last_error

    smtp.hang_until = 0.0  # the server answers again
    for pid in (ada, bob):
        assert {h["status"] for h in settled_history(client, admin_headers, pid)} == {"sent"}
    assert sorted(smtp.subjects()) == ["Your bill", "Your bill", "Your receipt"]  # each once
    assert count_rows(db, outbox) == 0
    assert timeline_events(client, admin_headers, ada).count("Email Sent") == 2


def test_a_temporary_refusal_is_tried_again_until_the_server_takes_the_mail(
    client, smtp, admin_headers, make_source, monkeypatch
):
    quick(monkeypatch)
    ada, _ = customers(client, make_source, admin_headers)
    smtp.refusals = ["451 4.3.0 Try again later", "421 4.7.0 Too busy, closing"]
    assert post(client, admin_headers, ada, "Your bill")["status"] == "queued"
    [sent] = settled_history(client, admin_headers, ada)
    assert (sent["status"], sent["reason"]) == ("sent", "permission granted; delivered to the SMTP server")
    assert smtp.rcpt_calls == 3 and smtp.subjects() == ["Your bill"]


def test_a_permanent_refusal_is_given_up_at_once_with_the_reason(client, smtp, admin_headers, make_source, monkeypatch):
    quick(monkeypatch)
    ada, _ = customers(client, make_source, admin_headers)
    smtp.refusals = ["550 5.1.1 No such mailbox here"]
    post(client, admin_headers, ada, "Your bill")
    [failed] = settled_history(client, admin_headers, ada)
    assert failed["status"] == "failed", failed
    assert "550" in failed["reason"] and "No such mailbox here" in failed["reason"]
    assert smtp.rcpt_calls == 1 and smtp.raw == []
    assert "Email Failed" in timeline_events(client, admin_headers, ada)


def test_temporary_refusals_are_given_up_after_the_last_attempt(client, smtp, admin_headers, make_source, monkeypatch):
    quick(monkeypatch, max_attempts=3)
    ada, _ = customers(client, make_source, admin_headers)
    smtp.refusals = ["452 4.2.2 Mailbox full"] * 5
    post(client, admin_headers, ada, "Your bill")
    [failed] = settled_history(client, admin_headers, ada)
    assert failed["status"] == "failed" and "failed 3 times" in failed["reason"] and "Mailbox full" in failed["reason"]
    assert smtp.rcpt_calls == 3 and smtp.raw == []


def test_whoever_unsubscribed_or_was_erased_while_their_mail_was_queued_gets_nothing(
    paused, smtp, admin_headers, make_source, db
):
    client = paused
    ada, bob = customers(client, make_source, admin_headers)
    consent = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "newsletter form"}
    assert client.post(f"/api/v1/profiles/{ada}/consents", json=consent, headers=admin_headers).status_code == 201
    assert post(client, admin_headers, ada, "Spring sale", purpose="marketing")["status"] == "queued"
    assert post(client, admin_headers, bob, "Your bill")["status"] == "queued"

    exported = client.post(f"/api/v1/profiles/{bob}/export", headers=admin_headers).json()["stores"]["outbox"]
    assert [(r["contact_point"], r["subject"], r["text"]) for r in exported["rows"]] == [(BOB, "Your bill", "Hello")]
    withdrawn = {**consent, "status": "withdrawn", "source": "unsubscribe link"}
    assert client.post(f"/api/v1/profiles/{ada}/consents", json=withdrawn, headers=admin_headers).status_code == 201
    receipt = client.post(f"/api/v1/profiles/{bob}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["outbox"] == {"action": "deleted", "rows": 1}

    assert send_due(db) == 1  # Ada's; Bob's went with his data
    assert smtp.raw == [] and count_rows(db, outbox) == 0
    [suppressed] = settled_history(client, admin_headers, ada)
    assert suppressed["status"] == "suppressed" and "withdrawn" in suppressed["reason"]
    assert "Email Suppressed" in timeline_events(client, admin_headers, ada)


def test_two_workers_racing_send_each_mail_exactly_once(paused, smtp, admin_headers, make_source, settings, db):
    client = paused
    ada, bob = customers(client, make_source, admin_headers)
    subjects = [f"Receipt {n}" for n in range(24)]
    for n, subject in enumerate(subjects):
        post(client, admin_headers, (ada, bob)[n % 2], subject)
    # Two workers as two server processes would run them: each with its own connections.
    databases = [open_database(settings) for _ in range(2)]
    try:
        workers = [OutboxWorker(database, name=f"worker-{n}") for n, database in enumerate(databases)]
        start, tried = threading.Barrier(2), [0, 0]

        def work(n: int) -> None:
            start.wait()
            tried[n] = workers[n].send_due()

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for database in databases:
            database.dispose()
    assert sum(tried) == len(subjects), tried
    assert sorted(smtp.subjects()) == sorted(subjects)  # every mail, none twice
    ids = [message_from_bytes(raw, policy=default_policy)["Message-ID"] for raw in smtp.raw]
    assert len(set(ids)) == len(subjects)
    for pid in (ada, bob):
        history = settled_history(client, admin_headers, pid, timeout=0)
        assert [h["status"] for h in history] == ["sent"] * (len(subjects) // 2)
        assert timeline_events(client, admin_headers, pid).count("Email Sent") == len(subjects) // 2
    assert count_rows(db, outbox) == 0


def test_a_mail_held_by_a_worker_that_died_goes_to_another_once_its_lease_ends(
    paused, smtp, admin_headers, make_source, db
):
    client = paused
    ada, _ = customers(client, make_source, admin_headers)
    post(client, admin_headers, ada, "Your bill")
    post(client, admin_headers, ada, "Your receipt")
    with db.write() as conn:  # a worker claims what it may (one mail per person) and dies before sending
        [held] = claim_due(conn, "dead-worker", 10, utcnow(), timedelta(milliseconds=300))
    with db.read() as conn:
        assert not anything_due(conn, utcnow()), "Ada's second mail is not due while her first is out"
    assert send_due(db) == 0, "taken while still under another worker's lease"
    time.sleep(0.4)
    assert send_due(db) == 2 and sorted(smtp.subjects()) == ["Your bill", "Your receipt"]  # each once
    with db.write() as conn:  # the first worker, had it come back, could record nothing
        assert not remove(conn, held.id, "dead-worker")
    assert [h["status"] for h in settled_history(client, admin_headers, ada)] == ["sent", "sent"]


def test_a_mail_whose_link_expired_before_it_could_be_sent_is_given_up(paused, smtp, admin_headers, make_source, db):
    client = paused
    ada, _ = customers(client, make_source, admin_headers)
    assert client.post(f"/api/v1/profiles/{ada}/portal-link", headers=admin_headers).json()["status"] == "queued"
    with db.write() as conn:
        conn.execute(outbox.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert send_due(db) == 1 and smtp.raw == []
    [failed] = settled_history(client, admin_headers, ada)
    assert failed["status"] == "failed" and "expired" in failed["reason"]


def test_metrics_show_what_waits_in_the_outbox(paused, smtp, admin_headers, make_source, db):
    from prometheus_client.parser import text_string_to_metric_families

    def gauges() -> dict[str, float]:
        text = paused.get("/metrics", headers=admin_headers).text
        return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}

    assert gauges()["rapport_outbox_queued"] == 0 and gauges()["rapport_outbox_oldest_seconds"] == 0
    ada, bob = customers(paused, make_source, admin_headers)
    post(paused, admin_headers, ada, "Your bill")
    post(paused, admin_headers, bob, "Your bill")
    assert gauges()["rapport_outbox_queued"] == 2 and gauges()["rapport_outbox_oldest_seconds"] > 0
    send_due(db)
    assert gauges()["rapport_outbox_queued"] == 0


def test_a_frequency_cap_holds_for_mail_queued_together(paused, smtp, admin_headers, make_source, db):
    """Both pass the check at the request (neither was sent yet); the worker sends one person's mail
    one at a time, and asks again before each, so the cap stops the second."""
    client = paused
    ada, _ = customers(client, make_source, admin_headers)
    consent = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "newsletter form"}
    client.post(f"/api/v1/profiles/{ada}/consents", json=consent, headers=admin_headers)
    caps = {"frequency_caps": {"email": {"max": 1, "per_days": 7}}}
    client.put(f"/api/v1/profiles/{ada}/preferences", json=caps, headers=admin_headers)
    for subject in ("Spring sale", "Summer sale"):
        assert post(client, admin_headers, ada, subject, purpose="marketing")["status"] == "queued"
    assert send_due(db) == 2
    history = settled_history(client, admin_headers, ada, timeout=0)
    assert [(h["subject"], h["status"]) for h in history] == [("Summer sale", "suppressed"), ("Spring sale", "sent")]
    assert "frequency cap" in history[0]["reason"] and smtp.subjects() == ["Spring sale"]
