"""Tables of the consent context: the ledger, preferences, suppressions, and the contact history the
contact policy counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile

consent_records = sa.Table(
    "consent_records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("contact_point", sa.String(360)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),  # e.g. portal, api, tracking:website, import
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("notice_version", sa.String(64)),
    sa.Column("expires_at", UTCDateTime),
    sqlite_autoincrement=True,
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), primary_key=True),
    sa.Column("document", JSONDoc, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Salted hashes of an erased person's contact points: a later event with the same email makes a
# fresh profile that gets no marketing. Not personal data: the hash cannot be reversed.
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
)


# What was sent to the person, and why or why not: the contact policy (frequency caps) reads it.
contact_history = sa.Table(
    "contact_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("contact_point", sa.String(360)),
    sa.Column("subject", sa.String(300)),
    sa.Column("status", sa.String(16), nullable=False),  # queued | sent | suppressed | failed
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
)


_RECENT_SENDS = sa.select(contact_history.c.channel, contact_history.c.at).where(
    contact_history.c.profile_id.in_(sa.bindparam("ids", expanding=True)),
    contact_history.c.status == "sent",
    contact_history.c.at >= sa.bindparam("since", type_=UTCDateTime),
)


def recent_sends(conn: Connection, member_ids: list[str], since: datetime) -> dict[str, list[datetime]]:
    rows = conn.execute(_RECENT_SENDS, {"ids": member_ids, "since": since})
    sends: dict[str, list[datetime]] = defaultdict(list)
    for channel, at in rows:
        sends[channel].append(at)
    return sends


def history(conn: Connection, member_ids: list[str], limit: int = 200) -> list[dict[str, object]]:
    query = (
        sa.select(contact_history)
        .where(contact_history.c.profile_id.in_(member_ids))
        .order_by(contact_history.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        consent_records,
        by_profile(consent_records.c.profile_id),
        description="consent given or withdrawn, per purpose and channel",
    ),
    PersonalData(
        preferences,
        by_profile(preferences.c.profile_id),
        description="personalization level, channels, quiet hours, accessibility",
    ),
    PersonalData(
        contact_history,
        by_profile(contact_history.c.profile_id),
        description="every message we tried to send, and why it was or was not sent",
    ),
)
