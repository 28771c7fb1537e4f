"""Tables of social listening: the mentions that came in (without follower counts: those of a case
go to case_influence, which the queue cannot read) and the one-time codes customers post to prove
a handle is theirs. A proven handle itself lives in the identity graph (`identifiers`, type
`social`, verification `proven`)."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile
from rapport.service.store import cases, of_requester

social_mentions = sa.Table(
    "social_mentions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("network", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(200), nullable=False, index=True),  # normalized: no @, lower case
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("url", sa.String(2000)),
    sa.Column("posted_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("needs_service", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),  # why it is (or is not) a case: the rule's words
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), index=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), index=True),  # via a proven handle
    sa.Column("author_key", sa.String(400), index=True),  # else the bearer id of the handle's own profile
    sa.Column("proof", sa.String(200)),  # what a code in it did
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("network", "url", name="uq_social_mentions_url"),  # an import run twice adds nothing
    sqlite_autoincrement=True,
)

social_link_codes = sa.Table(
    "social_link_codes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("network", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Column("used_by", sa.String(200)),  # customer:social-code (a mention carried it) or the staff member
    sqlite_autoincrement=True,
)

PERSONAL_DATA = (
    PersonalData(
        social_mentions,
        lambda ids, keys: sa.or_(
            social_mentions.c.profile_id.in_(ids),
            social_mentions.c.author_key.in_(keys),
            social_mentions.c.case_id.in_(sa.select(cases.c.id).where(of_requester(ids, keys))),
        ),
        found_through=("cases",),
        description="what they wrote about us on social networks, and where it was posted",
    ),
    PersonalData(
        social_link_codes,
        by_profile(social_link_codes.c.profile_id),
        description="the codes they asked for to prove a social account is theirs",
    ),
)
