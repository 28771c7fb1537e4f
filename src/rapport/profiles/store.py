"""Tables of the profile context: traits (latest value per key, with where it came from) and the
timeline (which profile took each event of the log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.model import INTERNAL_CHANNEL
from rapport.collect.store import UNPROCESSABLE, about, dead_letters, events, sources
from rapport.db import bulk
from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile

CONSUMER = "profiles"  # the profile processor's name in log_offsets and on the events it set aside

profile_traits = sa.Table(
    "profile_traits",
    metadata,
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", JSONDoc),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id")),
    sa.Column("observed_at", UTCDateTime, nullable=False),
    sa.Column("event_id", BigId),
    # set by a server source: a client's claim never replaces it (profiles/resolve.py)
    sa.Column("asserted", sa.Boolean, nullable=False, server_default=sa.false()),
)


# The timeline: one row per event, written once by the processor, keyed for reading a profile's
# events newest first. `profile_id` is the profile that took the event (a merge moves no row: a
# profile's timeline is that of its whole merge group). No foreign key on `event_id`: erasure
# finds a person's events through this table, so it deletes the events first.
profile_events = sa.Table(
    "profile_events",
    metadata,
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), primary_key=True),
    sa.Column("timestamp", UTCDateTime, primary_key=True),
    sa.Column("event_id", BigId, primary_key=True),
    sqlite_with_rowid=False,
)


def _persons_events(ids: list[str], keys: list[str]) -> sa.ColumnElement[bool]:
    """The events on the person's profiles; those the processor set aside (on no profile) whose dead
    letter names one of the person's identifiers (collect/poison.py, collect/subjects.py); and those a
    context recorded about one of the person's profiles (collect/internal.py), placed yet or not."""
    set_aside = sa.select(dead_letters.c.event_id).where(
        dead_letters.c.code == UNPROCESSABLE, dead_letters.c.consumer == CONSUMER, dead_letters.c.id.in_(about(keys))
    )
    internal = sa.select(sources.c.id).where(sources.c.channel == INTERNAL_CHANNEL)
    text = sa.cast(events.c.payload, sa.Text)
    return sa.or_(
        events.c.id.in_(sa.select(profile_events.c.event_id).where(profile_events.c.profile_id.in_(ids))),
        events.c.id.in_(set_aside),
        sa.and_(
            events.c.source_id.in_(internal),
            sa.or_(sa.false(), *[text.contains(f'"{p}"', autoescape=True) for p in ids]),
        ),
    )


def write_timeline(conn: Connection, assignments: Sequence[tuple[Any, ...]], traits: Sequence[tuple[Any, ...]]) -> None:
    """A batch's events placed on profiles (profile, time, event) and the traits they carried
    (profile, key, value, source, observed at, event, asserted), in bulk: a trait keeps its newest
    value by time, except that a value a server source asserted is never replaced by a client's
    claim, and replaces a claim whatever its time (profiles/resolve.py `_newer_trait`)."""
    insert_events = "INSERT INTO profile_events (profile_id, timestamp, event_id) VALUES (?, ?, ?)"
    bulk.executemany(conn, insert_events, sorted(assignments), as_given=True)
    bulk.executemany(
        conn,
        "INSERT INTO profile_traits (profile_id, key, value, source_id, observed_at, event_id, asserted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value, source_id = excluded.source_id, "
        "observed_at = excluded.observed_at, event_id = excluded.event_id, asserted = excluded.asserted "
        "WHERE (excluded.asserted AND NOT profile_traits.asserted) "
        "OR (excluded.asserted = profile_traits.asserted AND profile_traits.observed_at <= excluded.observed_at)",
        traits,
    )


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        profile_traits,
        by_profile(profile_traits.c.profile_id),
        description="traits: latest value of each, with its source",
    ),
    PersonalData(
        profile_events,
        by_profile(profile_events.c.profile_id),
        description="which of the person's profiles took each event",
    ),
    PersonalData(
        events,
        _persons_events,
        found_through=("profile_events", "dead_letters"),
        description="every interaction received from any channel",
    ),
)
