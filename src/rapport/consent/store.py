"""Tables of the consent context: the ledger, preferences, suppressions, data subject requests."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.db.registry import PersonalData, by_profile, register

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

data_requests = sa.Table(
    "data_requests",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.String(32), nullable=False, index=True),  # no FK: outlives erasure
    sa.Column("kind", sa.String(16), nullable=False),  # export | erasure
    sa.Column("status", sa.String(16), nullable=False),  # received | completed
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("receipt", JSONDoc),
)

register(
    PersonalData(
        consent_records,
        by_profile(consent_records.c.profile_id),
        ("contact_point", "status", "recorded_at", "source", "notice_version"),
        description="consent given or withdrawn, per purpose and channel",
    )
)
register(
    PersonalData(
        preferences,
        by_profile(preferences.c.profile_id),
        ("document",),
        description="personalization level, channels, quiet hours, accessibility",
    )
)
register(
    PersonalData(
        data_requests,
        by_profile(data_requests.c.profile_id),
        ("kind", "status", "received_at"),
        "retain",
        description="the person's export and erasure requests (kept as proof; no contact data)",
    )
)
