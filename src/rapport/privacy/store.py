"""Tables of privacy: the customers' export and erasure requests, with their receipts."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData, by_profile

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

PERSONAL_DATA = (
    PersonalData(
        data_requests,
        by_profile(data_requests.c.profile_id),
        "retain",
        description="the person's export and erasure requests (kept as proof; no contact data)",
    ),
)
