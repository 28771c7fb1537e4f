"""Tables of the collection context: sources, the append-only event log, dead letters, offsets."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData

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
    # client: its write key is public (a web page, an app), so what it says is a claim; server: a
    # secret key, so it asserts (docs/decisions/0010-claims-and-assertions.md)
    sa.Column("trust", sa.String(16), nullable=False, server_default="server"),
)

# The event log. `id` is the log offset; a row is immutable once written. Which profile took an
# event is the processor's to record, in `profile_events` (profiles/store.py).
#
# A client's retry is the same message again, with the same messageId and the same time of its own
# (`originalTimestamp`, else `timestamp`), so that pair is the key that drops it. Keyed by the time
# first, new rows go to the end of the index, as times of live traffic increase: keyed by random
# UUIDs alone, every commit rewrote an index page per new row and raw inserts ran at a third of the
# rate (docs/decisions/0004-dedup-key-leads-with-the-client-time.md). A message that carries no time
# of its own is deduplicated on its messageId alone.
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
    sa.Column("original_timestamp", UTCDateTime),  # the message's own time as the client sent it
    # The payload's userId and anonymousId as ingest normalized them: the processor places most
    # events from these and `type` alone, without decoding the payload (migration 0007).
    sa.Column("user_id", sa.Text),
    sa.Column("anonymous_id", sa.Text),
    sqlite_autoincrement=True,  # an offset is never reused, even after the newest events are erased
)
sa.Index(
    "uq_events_source_time_message", events.c.source_id, events.c.original_timestamp, events.c.message_id, unique=True
)
_UNTIMED = events.c.original_timestamp.is_(None)
sa.Index(
    "uq_events_source_message_untimed",
    events.c.source_id,
    events.c.message_id,
    unique=True,
    sqlite_where=_UNTIMED,
    postgresql_where=_UNTIMED,
)

UNPROCESSABLE = "unprocessable"  # the code of a dead letter for an event a consumer set aside (collect/poison.py)
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id")),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("event_id", BigId),  # the log offset of an event a consumer set aside (UNPROCESSABLE)
    sa.Column("consumer", sa.String(64)),  # which consumer set it aside; the others applied it (migration 0010)
    sa.Index("ix_dead_letters_received", "received_at"),
)

# How far each consumer of the log has read.
log_offsets = sa.Table(
    "log_offsets",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("offset", BigId, nullable=False),
)


# Whom each dead letter is about, by the normalized identifiers in it (collect/subjects.py): how
# export and erasure find a person's rejected messages, which hold no profile link.
dead_letter_subjects = sa.Table(
    "dead_letter_subjects",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column(
        "dead_letter_id", BigId, sa.ForeignKey("dead_letters.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


def about(keys: list[str]) -> sa.Select[tuple[int]]:
    """The ids of the dead letters that name one of these keys (collect/subjects.py's person_keys)."""
    return sa.select(dead_letter_subjects.c.dead_letter_id).where(dead_letter_subjects.c.key.in_(keys))


def record_subjects(conn: Connection, letters: list[tuple[int, set[str]]]) -> None:
    rows = [{"dead_letter_id": letter_id, "key": key} for letter_id, keys in letters for key in sorted(keys)]
    if rows:
        conn.execute(dead_letter_subjects.insert(), rows)


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        dead_letters,
        lambda _ids, keys: dead_letters.c.id.in_(about(keys)),
        found_through=("dead_letter_subjects",),
        description="rejected messages that name one of the person's identifiers",
    ),
    PersonalData(
        dead_letter_subjects,
        lambda _ids, keys: dead_letter_subjects.c.key.in_(keys),
        description="which rejected messages name which of the person's identifiers",
    ),
)
