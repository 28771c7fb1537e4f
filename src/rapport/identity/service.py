"""Write path of the identity graph outside the processor: undoing a merge."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.access.audit import record_audit
from rapport.db.engine import Database
from rapport.db.metadata import utcnow
from rapport.errors import ApiError, NotFound
from rapport.identity.graph import bump_version
from rapport.identity.store import MERGE_GROUP, merges, profiles

GRAPH_LOCK = "rapport:identity-graph"


def _descendants(conn: Connection, root: str) -> list[str]:
    """The profile and every profile merged into it, directly or through others."""
    found, frontier = [root], [root]
    while frontier:
        rows = conn.execute(sa.select(profiles.c.id).where(profiles.c.merged_into.in_(frontier))).scalars().all()
        frontier = [r for r in rows if r not in found]
        found.extend(frontier)
    return found


def undo_merge(db: Database, merge_id: int, actor: str, channel: str = "api") -> dict[str, Any]:
    """Split the absorbed profile (with everything it had absorbed) back out of the survivor."""
    with db.write(lock=GRAPH_LOCK) as conn:
        merge = conn.execute(sa.select(merges).where(merges.c.id == merge_id)).first()
        if merge is None:
            raise NotFound(f"merge {merge_id}")
        if merge.undone_at is not None:
            raise ApiError(409, "already_undone", f"merge {merge_id} was undone at {merge.undone_at.isoformat()}")
        restored = _descendants(conn, merge.absorbed_id)
        conn.execute(profiles.update().where(profiles.c.id == merge.absorbed_id).values(merged_into=None))
        conn.execute(profiles.update().where(profiles.c.id.in_(restored)).values(canonical_id=merge.absorbed_id))
        now = utcnow()
        conn.execute(merges.update().where(merges.c.id == merge_id).values(undone_at=now, undone_by=actor))
        bump_version(conn)
        for pid in (merge.survivor_id, merge.absorbed_id):
            record_audit(
                conn,
                actor=actor,
                channel=channel,
                action="merge.undone",
                profile_id=pid,
                merge_id=merge_id,
                survivor_id=merge.survivor_id,
                absorbed_id=merge.absorbed_id,
            )
    return {"id": merge_id, "survivor_id": merge.survivor_id, "restored_id": merge.absorbed_id, "undone_at": now}


def members_of(conn: Connection, profile_id: str) -> tuple[str, list[str]]:
    """The canonical id of a profile and every profile merged into it. Raises NotFound."""
    rows = conn.execute(MERGE_GROUP, {"pid": profile_id}).all()
    if not rows:
        raise NotFound(f"profile {profile_id!r}")
    return rows[0].canonical_id, [r.id for r in rows]


def merge_history(conn: Connection, member_ids: list[str]) -> list[dict[str, Any]]:
    query = (
        sa.select(merges)
        .where(sa.or_(merges.c.survivor_id.in_(member_ids), merges.c.absorbed_id.in_(member_ids)))
        .order_by(merges.c.id.desc())
    )
    return [dict(r._mapping) for r in conn.execute(query)]
