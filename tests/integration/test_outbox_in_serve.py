"""Where the outbox worker runs: with RAPPORT_PROCESSOR=process (what `rapport serve` and `rapport
demo` start), in the consumers' child process, beside the log's consumers; no server thread talks
to the mail server."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from rapport.app import start_processor
from rapport.collect.log import append_messages
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.service import Source
from rapport.consent.store import contact_history
from rapport.db.engine import Database
from rapport.identity.store import identifiers
from rapport.outbound.service import send_message
from rapport.settings import Settings

pytestmark = pytest.mark.slow


def _wait_for(condition, timeout_s: float = 30.0):  # noqa: ANN001, ANN202 - a zero-argument predicate
    deadline = time.monotonic() + timeout_s
    while not (answer := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return answer


def _scalar(db: Database, query: sa.Select) -> object:
    with db.read() as conn:
        return conn.execute(query).scalar()


def test_the_consumers_child_process_sends_queued_mail(settings: Settings, db: Database, backend: Source, smtp) -> None:
    identify = {"type": "identify", "userId": "cy", "traits": {"email": "cy@example.com"}}
    with db.write() as conn:
        append_messages(conn, backend.id, [normalize_message(identify, Envelope({}, {}, None, datetime.now(UTC)))], [])
    child = start_processor(settings.model_copy(update={"processor": "process"}))
    assert child is not None
    try:
        where = identifiers.c.key == "email:cy@example.com"
        pid = _wait_for(lambda: _scalar(db, sa.select(identifiers.c.profile_id).where(where)))
        assert pid, "the child's processor did not make the profile"
        outcome = send_message(
            db, str(pid), channel="email", purpose="service", subject="Your bill", text="Paid", actor="staff:test"
        )
        assert outcome.status == "queued"
        assert _wait_for(lambda: smtp.raw), "the child's outbox worker did not send the mail"
        status = sa.select(contact_history.c.status).where(contact_history.c.profile_id == pid)
        assert _wait_for(lambda: _scalar(db, status) == "sent")
    finally:
        child.stop()
    assert [m["Subject"] for m in smtp.messages] == ["Your bill"]
