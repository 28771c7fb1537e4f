"""The audit log: one row for every change to a person's data or rights, written in the same
transaction as the change itself."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.clock import utcnow
from rapport.kernel.registry import PersonalData, by_profile

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


def record_audit(
    conn: Connection, *, actor: str, action: str, channel: str = "api", profile_id: str | None = None, **details: Any
) -> None:
    conn.execute(
        audit_log.insert().values(
            at=utcnow(), actor=actor, channel=channel, action=action, profile_id=profile_id, details=details
        )
    )


def audit_trail(conn: Connection, profile_ids: list[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if profile_ids is not None:
        query = query.where(audit_log.c.profile_id.in_(profile_ids))
    return [dict(r._mapping) for r in conn.execute(query)]


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        audit_log,
        by_profile(audit_log.c.profile_id),
        "retain",
        description="who changed the person's data or rights, and when (kept as proof; no contact data)",
    ),
)
