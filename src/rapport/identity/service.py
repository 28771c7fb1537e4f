"""Write path of the identity graph outside the processor: staff merging two profiles on purpose,
and undoing a merge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, bump_version, load_limited_values
from rapport.identity.model import ASSERTED, Identifier, limits_broken
from rapport.identity.store import MERGE_GROUP, identifiers, merges, profiles
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound

MAX_REASON = 500


def _descendants(conn: Connection, root: str) -> list[str]:
    """The profile and every profile merged into it, directly or through others."""
    found, frontier = [root], [root]
    while frontier:
        rows = conn.execute(sa.select(profiles.c.id).where(profiles.c.merged_into.in_(frontier))).scalars().all()
        frontier = [r for r in rows if r not in found]
        found.extend(frontier)
    return found


def merge_profiles(
    db: Database,
    survivor: str,
    absorbed: str,
    *,
    reason: str,
    actor: str,
    limits: Mapping[str, int],
    channel: str = "api",
) -> dict[str, Any]:
    """Join two profiles (any member of each group) that identity resolution kept separate: a person
    with two accounts, or two profiles kept apart since staff undid their merge, which only a merge
    made on purpose joins again. The absorbed group shows as the survivor's from now on; undoing
    this merge splits it back out, as for any merge.

    Refused (409) when the groups already are one, or when joining them would hold more identifiers
    of a limited type than the rules allow (by default two user ids): those are different
    people's accounts as far as the rules know, and a rule is changed in the settings, not by a
    merge."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("invalid_reason", f"say why the profiles are one person, in 1 to {MAX_REASON} characters")
    with db.write(lock=GRAPH_LOCK) as conn:
        found = dict(
            conn.execute(
                sa.select(profiles.c.id, profiles.c.canonical_id).where(profiles.c.id.in_([survivor, absorbed]))
            )
            .tuples()
            .all()
        )
        for pid in (survivor, absorbed):
            if pid not in found:
                raise NotFound(f"profile {pid!r}")
        keep, join = found[survivor], found[absorbed]
        if keep == join:
            raise Conflict("already_merged", f"profiles {survivor} and {absorbed} already show as one customer")
        held = load_limited_values(conn, [keep, join], list(limits))
        if broken := limits_broken(held[keep], held[join], limits):
            raise Conflict(
                "identifier_limit",
                f"joined, the profiles would hold more {', '.join(broken)} identifiers than the rules allow",
            )
        conn.execute(profiles.update().where(profiles.c.canonical_id == join).values(canonical_id=keep))
        conn.execute(profiles.update().where(profiles.c.id == join).values(merged_into=keep))
        now = utcnow()
        row = {
            "survivor_id": keep,
            "absorbed_id": join,
            "identifiers": [],  # none linked them: staff did
            "event_id": None,
            "message_id": None,
            "reason": reason,
            "created_at": now,
            "made_by": actor,
        }
        merge_id = conn.execute(merges.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
        bump_version(conn)
        for pid in (keep, join):
            record_audit(
                conn,
                actor=actor,
                channel=channel,
                action="merge.made",
                profile_id=pid,
                merge_id=merge_id,
                survivor_id=keep,
                absorbed_id=join,
                reason=reason,
            )
    return {"id": merge_id, **row, "undone_at": None, "undone_by": None}


def undo_merge(db: Database, merge_id: int, actor: str, channel: str = "api") -> dict[str, Any]:
    """Split the absorbed profile (with everything it had absorbed) back out of the survivor."""
    with db.write(lock=GRAPH_LOCK) as conn:
        merge = conn.execute(sa.select(merges).where(merges.c.id == merge_id)).first()
        if merge is None:
            raise NotFound(f"merge {merge_id}")
        if merge.undone_at is not None:
            raise Conflict("already_undone", f"merge {merge_id} was undone at {merge.undone_at.isoformat()}")
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


def verify_identifier(
    db: Database, profile_id: str, ident: Identifier, *, reason: str, actor: str, channel: str = "api"
) -> dict[str, Any]:
    """Staff assert that an identifier of the profile is the customer's (they checked: a call, a
    document, the customer in the store). From then on it is as good as a server source's: mail
    may go to it and it opens the portal. Audited with the reason; raises NotFound when the profile
    does not hold it, Conflict when it is asserted already."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("invalid_reason", f"say how you know it is theirs, in 1 to {MAX_REASON} characters")
    with db.write(lock=GRAPH_LOCK) as conn:
        canonical, members = members_of(conn, profile_id)
        row = conn.execute(
            sa.select(identifiers.c.verification).where(
                identifiers.c.key == ident.key, identifiers.c.profile_id.in_(members)
            )
        ).first()
        if row is None:
            raise NotFound(f"identifier {ident.key!r} on profile {profile_id!r}")
        if row.verification == ASSERTED:
            raise Conflict("already_verified", f"{ident.key} is asserted already")
        now = utcnow()
        by = actor  # "staff:<token>:<name>"
        conn.execute(
            identifiers.update()
            .where(identifiers.c.key == ident.key)
            .values(verification=ASSERTED, verified_at=now, verified_by=by)
        )
        bump_version(conn)  # the processor caches how identifiers are verified
        record_audit(
            conn,
            actor=actor,
            channel=channel,
            action="identifier.verified",
            profile_id=canonical,
            identifier_type=ident.type,
            was=row.verification or "claimed",
            reason=reason,
        )
    return {"type": ident.type, "value": ident.value, "verification": ASSERTED, "verified_by": by, "verified_at": now}
