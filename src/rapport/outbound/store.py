"""The outbox: mail a request decided to send, kept until the worker has sent it or given it up.

A row is written in the same transaction as the message's contact-history row, so what a request
acknowledged is never lost, and deleted in the same transaction as its final outcome. Between the
two, `due_at` is when a worker may take it: when it was queued, after a failed attempt when to try
again, and while a worker holds it the end of that worker's lease (`claimed_by`), so a worker that
died mid-send lets the mail go to another once the lease has run out.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from rapport.db.metadata import BigId, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile
from rapport.outbound.model import Mail

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    # The message's row in the contact history; none for a sign-in link a customer asked for.
    sa.Column("history_id", BigId, sa.ForeignKey("contact_history.id")),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("outreach", sa.Boolean, nullable=False),
    sa.Column("contact_point", sa.String(360), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("message_id", sa.String(250), nullable=False),  # the Message-ID header
    sa.Column("in_reply_to", sa.String(250)),  # a reply's In-Reply-To header
    sa.Column("references", sa.Text),  # its References header: Message-IDs separated by spaces
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("last_error", sa.Text),
)


def insert_mail(conn: Connection, mail: Mail, now: datetime, *, history_id: int | None = None) -> int:
    """Put the mail in the outbox, in the caller's transaction (the one recording the decision)."""
    values = {**asdict(mail), "history_id": history_id, "queued_at": now, "due_at": now, "attempts": 0}
    return int(conn.execute(outbox.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def _sendable(now: datetime) -> sa.ColumnElement[bool]:
    """Due, and its person has no other mail out (see `claim_due`)."""
    busy = sa.select(outbox.c.profile_id).where(outbox.c.claimed_by.is_not(None), outbox.c.due_at > now)
    return sa.and_(outbox.c.due_at <= now, outbox.c.profile_id.not_in(busy))


def anything_due(conn: Connection, now: datetime) -> bool:
    """A read, so an idle worker polling the outbox never takes SQLite's one write lock (nor one
    waiting only for a person whose other mail is out)."""
    return conn.execute(sa.select(outbox.c.id).where(_sendable(now)).limit(1)).first() is not None


def claim_due(conn: Connection, worker: str, limit: int, now: datetime, lease: timedelta) -> list[Row[tuple]]:
    """Take up to `limit` due mails for `worker`, in the caller's write transaction: each is due to
    no one else until the lease ends. On PostgreSQL the rows are locked as they are chosen and rows
    another claimer has locked are skipped (`FOR UPDATE SKIP LOCKED`), and the `UPDATE` is guarded
    by "still due", which PostgreSQL checks again on a row another claim changed meanwhile; on
    SQLite the write transaction is the one writer. Either way no two workers take one mail.

    One mail per person is out at a time (two claims racing on PostgreSQL could each take one): so
    each one's permission check (a frequency cap) sees the ones sent before it, and a person's mails
    go out in the order they became due."""
    candidates = conn.execute(
        sa.select(outbox.c.id, outbox.c.profile_id)
        .where(_sendable(now))
        .order_by(outbox.c.due_at, outbox.c.id)
        .limit(limit * 4)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only: SQLite has no row locks
    ).all()
    ids: list[int] = []
    people: set[str] = set()
    for id_, profile_id in candidates:
        if profile_id not in people and len(ids) < limit:
            people.add(profile_id)
            ids.append(id_)
    if not ids:
        return []
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(ids), outbox.c.due_at <= now)
        .values(claimed_by=worker, due_at=now + lease, attempts=outbox.c.attempts + 1)
    )
    taken = sa.select(outbox).where(outbox.c.id.in_(ids), outbox.c.claimed_by == worker).order_by(outbox.c.id)
    return list(conn.execute(taken))


def release(conn: Connection, outbox_id: int, worker: str, retry_at: datetime, error: str) -> bool:
    """Hand a mail back to be tried again at `retry_at`; False when the worker no longer held it."""
    changed = conn.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id, outbox.c.claimed_by == worker)
        .values(claimed_by=None, due_at=retry_at, last_error=error)
    ).rowcount
    return bool(changed)


def remove(conn: Connection, outbox_id: int, worker: str) -> bool:
    """Take a mail out once its outcome is final; False when the worker no longer held it (the person
    was erased meanwhile, or its lease ran out and another worker has it): its outcome is not ours
    to record."""
    return bool(conn.execute(outbox.delete().where(outbox.c.id == outbox_id, outbox.c.claimed_by == worker)).rowcount)


def queue_size(conn: Connection) -> tuple[int, datetime | None]:
    """How many mails wait in the outbox, and when the oldest was queued."""
    count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(outbox.c.queued_at))).one()
    return int(count), oldest


# What of this context is personal data: export shows queued mail, erasure deletes it unsent.
PERSONAL_DATA = (
    PersonalData(
        outbox,
        by_profile(outbox.c.profile_id),
        description="email waiting to be sent: the address, the subject and the text",
    ),
)
