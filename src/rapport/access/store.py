"""Tables of access: staff tokens (only their hash is kept), the portal's one-time sign-in links, and
the signed-in sessions of both sites."""

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
    # sign_in: opens the portal on the profile; confirm: proves the customer holds `contact_point`
    sa.Column("kind", sa.String(16), nullable=False, server_default="sign_in"),
    sa.Column("contact_point", sa.String(360)),
)

# Signed-in sessions of the console (subject: a staff token's id) and the portal (subject: a profile
# id). The cookie names the row; signing out, revoking the token or erasing the profile ends it here,
# so a copied cookie stops working at once.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(16), nullable=False),  # console | portal
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Index("ix_sessions_site_subject", "site", "subject"),
)

# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        portal_links,
        by_profile(portal_links.c.profile_id),
        description="sign-in links sent to the person for the customer portal",
    ),
    PersonalData(
        sessions,
        lambda ids, _keys: sa.and_(sessions.c.site == "portal", sessions.c.subject.in_(ids)),
        description="the person's signed-in sessions on the customer portal",
    ),
)
