"""Proving a social handle is the customer's: the one-time codes the portal gives, what a code in a
mention (or staff who saw it posted) does, and the proven handles a customer holds and may take off.

A proven handle is an identifier `social:<network>:<handle>` of the profile, verification `proven`
(identity.model.PROVEN), audited. Its type is one no event can carry, so no browser can claim it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, bump_version
from rapport.identity.model import PROVEN
from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound
from rapport.service import social_model
from rapport.service.social_model import SocialRuleError, identifier_key
from rapport.service.social_store import social_link_codes

CODE_TTL = timedelta(days=7)
MAX_PENDING_CODES = 5
PROOF_ACTOR = "customer:social-code"


def _rule(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except SocialRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None


def prove_by_codes(conn: Connection, network: str, handle: str, codes: list[str], now: datetime) -> str:
    """What the codes a mention from `handle` carries do: one issued for that very handle, unused
    and unexpired, links it to the profile that asked for it (in the caller's transaction)."""
    row = conn.execute(
        sa.select(social_link_codes).where(
            social_link_codes.c.code.in_(codes),
            social_link_codes.c.network == network,
            social_link_codes.c.handle == handle,
            social_link_codes.c.used_at.is_(None),
            social_link_codes.c.expires_at > now,
        )
    ).first()
    if row is None:
        return "a code that was not issued for this handle, or is spent or expired: nothing linked"
    outcome = link_handle(conn, row.profile_id, network, handle, by=PROOF_ACTOR, now=now)
    conn.execute(
        social_link_codes.update().where(social_link_codes.c.id == row.id).values(used_at=now, used_by=PROOF_ACTOR)
    )
    return outcome


def link_handle(conn: Connection, profile_id: str, network: str, handle: str, *, by: str, now: datetime) -> str:
    """Put the proven handle on the profile, in the caller's transaction (under the graph's lock)."""
    key = identifier_key(network, handle)
    try:
        canonical, members = members_of(conn, profile_id)
    except NotFound:
        return "the profile that asked for the code is gone: nothing linked"
    held = conn.execute(sa.select(identifiers.c.profile_id).where(identifiers.c.key == key)).scalar()
    if held is not None:
        return "linked already" if held in members else "the handle is proven on another profile: nothing linked"
    conn.execute(
        identifiers.insert().values(
            key=key,
            type="social",
            value=f"{network}:{handle}",
            profile_id=canonical,
            created_at=now,
            verification=PROVEN,
            verified_at=now,
            verified_by=by[:200],
        )
    )
    bump_version(conn)
    record_audit(
        conn,
        actor=by,
        action="identifier.proven",
        channel="social",
        profile_id=canonical,
        identifier_type="social",
        network=network,
    )
    return "linked: the handle is proven on the profile that asked for the code"


def issue_code(db: Database, profile_id: str, network: str, handle: str, *, actor: str) -> dict[str, Any]:
    """A one-time code for the customer to post or send from the handle, to prove it is theirs."""
    handle = _rule(social_model.normalize_handle, network, handle)
    now = utcnow()
    with db.write() as conn:
        pending = conn.execute(
            sa.select(sa.func.count()).where(
                social_link_codes.c.profile_id == profile_id,
                social_link_codes.c.used_at.is_(None),
                social_link_codes.c.expires_at > now,
            )
        ).scalar_one()
        if pending >= MAX_PENDING_CODES:
            raise Conflict("too_many_codes", f"at most {MAX_PENDING_CODES} codes wait at once; use or let one expire")
        values = {
            "code": social_model.new_code(),
            "profile_id": profile_id,
            "network": network,
            "handle": handle,
            "created_at": now,
            "expires_at": now + CODE_TTL,
        }
        conn.execute(social_link_codes.insert().values(**values))
        record_audit(
            conn, actor=actor, action="social.code_issued", channel="portal", profile_id=profile_id, network=network
        )
    return values


def confirm_code(db: Database, code: str, reason: str, *, actor: str) -> dict[str, Any]:
    """Staff saw the code posted or sent from its handle: the handle is linked as if a mention carried it."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise Invalid("invalid_reason", "say where you saw the code posted, in 1 to 500 characters")
    found = social_model.codes_in(code)
    if len(found) != 1:
        raise Invalid("invalid_code", "a code looks like RAPPORT-K7P2QX9M")
    now = utcnow()
    with db.write(lock=GRAPH_LOCK) as conn:
        row = conn.execute(sa.select(social_link_codes).where(social_link_codes.c.code == found[0])).first()
        if row is None:
            raise NotFound("code", "code_not_found")
        if row.used_at is not None or row.expires_at <= now:
            raise Conflict("code_spent", "the code was used already or has expired")
        outcome = link_handle(conn, row.profile_id, row.network, row.handle, by=actor, now=now)
        conn.execute(
            social_link_codes.update().where(social_link_codes.c.id == row.id).values(used_at=now, used_by=actor[:200])
        )
        record_audit(
            conn, actor=actor, action="social.code_confirmed", profile_id=row.profile_id, reason=reason, outcome=outcome
        )
    return {"network": row.network, "handle": row.handle, "profile_id": row.profile_id, "outcome": outcome}


def handles_of(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(identifiers.c.value, identifiers.c.verified_at, identifiers.c.verified_by).where(
            identifiers.c.profile_id.in_(members), identifiers.c.type == "social"
        )
    )
    return [
        {"network": r.value.partition(":")[0], "handle": r.value.partition(":")[2], "since": r.verified_at}
        for r in rows
    ]


def pending_codes(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(social_link_codes)
        .where(
            social_link_codes.c.profile_id.in_(members),
            social_link_codes.c.used_at.is_(None),
            social_link_codes.c.expires_at > utcnow(),
        )
        .order_by(social_link_codes.c.id.desc())
    )
    return [dict(r._mapping) for r in rows]


def unlink_handle(db: Database, profile_id: str, network: str, handle: str, *, actor: str) -> None:
    """The customer takes a handle off their profile: later mentions from it are a stranger's again."""
    handle = _rule(social_model.normalize_handle, network, handle)
    with db.write(lock=GRAPH_LOCK) as conn:
        _canonical, members = members_of(conn, profile_id)
        key = identifier_key(network, handle)
        if not conn.execute(
            identifiers.delete().where(identifiers.c.key == key, identifiers.c.profile_id.in_(members))
        ).rowcount:
            raise NotFound("handle", "handle_not_found")
        bump_version(conn)
        record_audit(
            conn,
            actor=actor,
            action="identifier.removed",
            channel="portal",
            profile_id=profile_id,
            identifier_type="social",
            network=network,
        )
