"""Tables of outbound messaging: the contact history on the profile."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, UTCDateTime, metadata
from rapport.db.registry import PersonalData, by_profile, register

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
    sa.Column("status", sa.String(16), nullable=False),  # sent | suppressed | failed
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
)

register(
    PersonalData(
        contact_history,
        by_profile(contact_history.c.profile_id),
        ("contact_point", "subject", "status", "reason"),
        description="every message we tried to send, and why it was or was not sent",
    )
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
