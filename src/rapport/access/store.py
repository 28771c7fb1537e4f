"""Tables of staff access: tokens (only their hash is kept), the audit log, app secrets."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.db.registry import PersonalData, by_profile, register

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("profile_id", sa.String(32), index=True),
    sa.Column("details", JSONDoc, nullable=False),
)

# One-time sign-in links for the customer portal: the link is signed; this row makes it single-use.
portal_links = sa.Table(
    "portal_links",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Column("created_by", sa.String(200), nullable=False),
)

app_secrets = sa.Table(
    "app_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

register(
    PersonalData(
        audit_log,
        by_profile(audit_log.c.profile_id),
        ("at", "actor", "action", "details"),
        "retain",
        description="who changed the person's data or rights, and when (kept as proof; no contact data)",
    )
)
register(
    PersonalData(
        portal_links,
        by_profile(portal_links.c.profile_id),
        ("created_at", "used_at", "created_by"),
        description="sign-in links sent to the person for the customer portal",
    )
)
