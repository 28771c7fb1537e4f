"""Tables of access: staff tokens (only their hash is kept) and the portal's one-time sign-in links."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile

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

# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        portal_links,
        by_profile(portal_links.c.profile_id),
        description="sign-in links sent to the person for the customer portal",
    ),
)
