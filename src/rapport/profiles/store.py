"""Tables of the profile context: traits, latest value per key with where it came from."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.db.registry import PersonalData, by_profile, register

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
