"""Influence data: how many followers the person behind a case has where they wrote.

It is kept for one use only: measuring whether service is equal across influence bands (the parity
report). It lives in this module and its own table so that the queue cannot read it: the import
contract "The queue cannot see influence" (.importlinter) fails `make lint` if service/queue.py,
or anything it imports, imports this module, and tests/unit/architecture/test_fair_queue.py checks
that the queue's code names neither this module nor its table. Nothing here is read when a case is
ordered, assigned or given its SLA policy.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, UTCDateTime, metadata
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.kernel.registry import PersonalData
from rapport.service.store import cases, of_requester

MAX_FOLLOWERS = 10**10
NETWORKS = ("twitter", "x", "facebook", "instagram", "linkedin", "tiktok", "youtube", "mastodon", "bluesky", "other")

case_influence = sa.Table(
    "case_influence",
    metadata,
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("network", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(200)),
    sa.Column("followers", sa.BigInteger, nullable=False),
    sa.Column("observed_at", UTCDateTime, nullable=False),
)


def record_influence(conn: Connection, case_id: int, network: str, handle: str | None, followers: int) -> None:
    """What a social case's author's following was when they wrote, in the caller's transaction."""
    if network not in NETWORKS:
        raise Invalid("invalid_network", f"network must be one of {', '.join(NETWORKS)}")
    if not 0 <= followers <= MAX_FOLLOWERS:
        raise Invalid("invalid_followers", f"followers must be between 0 and {MAX_FOLLOWERS}")
    conn.execute(
        case_influence.insert().values(
            case_id=case_id, network=network, handle=handle, followers=followers, observed_at=utcnow()
        )
    )


BANDS = ((0, "under 1k"), (1_000, "1k-10k"), (10_000, "10k-100k"), (100_000, "100k and over"))


def band(followers: int) -> str:
    """The influence band of a follower count, for the parity report's groups."""
    return [name for floor, name in BANDS if followers >= floor][-1]


PERSONAL_DATA = (
    PersonalData(
        case_influence,
        lambda ids, keys: case_influence.c.case_id.in_(sa.select(cases.c.id).where(of_requester(ids, keys))),
        found_through=("cases",),
        description="how many followers they had where they wrote to us (kept only to measure equal service)",
    ),
)
