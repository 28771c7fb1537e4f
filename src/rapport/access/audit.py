"""The audit log: one row for every change to a person's data or rights, written in the same
transaction as the change itself."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.access.store import audit_log
from rapport.db.metadata import utcnow


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
