"""Tables of the collection context: sources, the append-only event log, dead letters, offsets."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.db.registry import PersonalData, register

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("write_key", sa.String(64), nullable=False, unique=True),
    sa.Column("max_message_bytes", sa.Integer, nullable=False),
    sa.Column("max_batch_bytes", sa.Integer, nullable=False),
    sa.Column("rate_limit_per_s", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime),
)

# The event log. `id` is the log offset; a row is immutable once written. Which profile took an
# event is the processor's to record, in `profile_events` (profiles/store.py).
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("message_id", sa.String(200), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("event", sa.String(200)),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("payload", JSONDoc, nullable=False),
    sa.UniqueConstraint("source_id", "message_id", name="uq_events_source_message"),
    sqlite_autoincrement=True,  # an offset is never reused, even after the newest events are erased
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id")),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_dead_letters_received", "received_at"),
)

# How far each consumer of the log has read.
log_offsets = sa.Table(
    "log_offsets",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("offset", BigId, nullable=False),
)


def _mentions(column: sa.Column[str]):  # type: ignore[no-untyped-def]
    """Rows not linked to a profile that mention one of the person's contact values."""
    return lambda _ids, contacts: sa.or_(sa.false(), *[column.contains(v, autoescape=True) for v in contacts])


register(
    PersonalData(
        dead_letters,
        _mentions(dead_letters.c.payload),
        ("payload",),
        description="rejected messages that mention the person",
    )
)
