"""Tables of the profile context: traits (latest value per key, with where it came from) and the
timeline (which profile took each event of the log)."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.collect.model import INTERNAL_CHANNEL
from rapport.collect.store import UNPROCESSABLE, dead_letters, events, sources
from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.db.registry import PersonalData, by_profile, register

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
)

register(
    PersonalData(
        profile_traits,
        by_profile(profile_traits.c.profile_id),
        ("key", "value"),
        description="traits: latest value of each, with its source",
    )
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

register(
    PersonalData(
        profile_events,
        by_profile(profile_events.c.profile_id),
        ("event_id",),
        description="which of the person's profiles took each event",
    )
)


def _persons_events(ids: list[str], contacts: list[str]) -> sa.ColumnElement[bool]:
    """The events on the person's profiles; those the processor set aside (on no profile) that
    mention one of the person's identifiers or names (collect/poison.py); and those a context
    recorded about one of the person's profiles (collect/internal.py), placed yet or not."""
    set_aside = sa.select(dead_letters.c.event_id).where(
        dead_letters.c.code == UNPROCESSABLE, dead_letters.c.consumer == CONSUMER
    )
    internal = sa.select(sources.c.id).where(sources.c.channel == INTERNAL_CHANNEL)
    text = sa.cast(events.c.payload, sa.Text)
    return sa.or_(
        events.c.id.in_(sa.select(profile_events.c.event_id).where(profile_events.c.profile_id.in_(ids))),
        sa.and_(events.c.id.in_(set_aside), sa.or_(sa.false(), *[text.contains(v, autoescape=True) for v in contacts])),
        sa.and_(
            events.c.source_id.in_(internal),
            sa.or_(sa.false(), *[text.contains(f'"{p}"', autoescape=True) for p in ids]),
        ),
    )


register(
    PersonalData(
        events,
        _persons_events,
        ("payload",),
        found_through=("profile_events", "dead_letters"),
        description="every interaction received from any channel",
    )
)
