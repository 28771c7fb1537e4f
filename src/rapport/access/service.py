"""Write path of staff access: issuing, listing and revoking tokens, checking them, the console's
signing secret."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.access.model import ROLES, Staff
from rapport.access.store import sessions, tokens
from rapport.db.engine import Database
from rapport.db.metadata import MAX_INT_ID
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound

TOKEN_PREFIX = "rpt_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    db: Database, role: str, name: str | None = None, *, actor: str = "system", via: str = "cli"
) -> tuple[Staff, str]:
    """Issue a staff token, audited with who issued it; only its hash is stored, so the caller must
    show it now."""
    if role not in ROLES:
        raise Invalid("invalid_role", f"role must be one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    name = (name or role).strip() or role
    if len(name) > (most := tokens.c.name.type.length):  # type: ignore[attr-defined]
        raise Invalid("invalid_name", f"a token's name is at most {most} characters")
    with db.write() as conn:
        token_id: int = conn.execute(
            tokens.insert().values(name=name, role=role, token_hash=_hash(token), created_at=utcnow())
        ).inserted_primary_key[0]  # type: ignore[index]
        record_audit(conn, actor=actor, channel=via, action="token.created", token_id=token_id, name=name, role=role)
    return Staff(token_id, name, role), token


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    """Every token ever issued (never the token itself: only its hash is kept), oldest first."""
    columns = (tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.created_at, tokens.c.revoked_at)
    return [dict(r._mapping) for r in conn.execute(sa.select(*columns).order_by(tokens.c.id))]


def revoke_token(db: Database, token_id: int, actor: str, channel: str = "cli") -> dict[str, Any]:
    """Stop a token from working at once: API calls with it get 401, console sessions signed in
    with it are signed out on their next request (they hold only the token's id). Raises NotFound
    for an unknown id, Conflict for one revoked already."""
    if not 0 < token_id <= MAX_INT_ID:  # PostgreSQL would refuse to compare it
        raise NotFound(f"token {token_id}")
    with db.write() as conn:
        row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"token {token_id}")
        if row.revoked_at is not None:
            when = row.revoked_at.isoformat()
            raise Conflict("already_revoked", f"token {token_id} ({row.name}) was revoked at {when}")
        now = utcnow()
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked_at=now))
        end_sessions_of(conn, "console", str(token_id))
        record_audit(conn, actor=actor, channel=channel, action="token.revoked", token_id=token_id, name=row.name)
    return {"id": token_id, "name": row.name, "role": row.role, "revoked_at": now}


def authenticate(conn: Connection, token: str) -> Staff | None:
    row = conn.execute(
        sa.select(tokens.c.id, tokens.c.name, tokens.c.role).where(
            tokens.c.token_hash == _hash(token.strip()), tokens.c.revoked_at.is_(None)
        )
    ).first()
    return Staff(row.id, row.name, row.role) if row else None


def staff_by_id(conn: Connection, token_id: int) -> Staff | None:
    row = conn.execute(
        sa.select(tokens.c.id, tokens.c.name, tokens.c.role).where(
            tokens.c.id == token_id, tokens.c.revoked_at.is_(None)
        )
    ).first()
    return Staff(row.id, row.name, row.role) if row else None


def open_session(db: Database, site: str, subject: str, lifetime: timedelta) -> str:
    """A new signed-in session of `site` for `subject`; its id is the secret the cookie carries."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as conn:
        conn.execute(
            sessions.insert().values(
                id=session_id, site=site, subject=subject, created_at=now, expires_at=now + lifetime
            )
        )
    return session_id


def session_subject(conn: Connection, site: str, session_id: str) -> str | None:
    """Who a session of `site` signed in, while it has neither ended nor expired."""
    return conn.execute(
        sa.select(sessions.c.subject).where(
            sessions.c.id == session_id,
            sessions.c.site == site,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > utcnow(),
        )
    ).scalar()


def end_session(db: Database, session_id: str) -> None:
    """Sign a session out on the server: its cookie, copied or not, no longer signs anyone in."""
    with db.write() as conn:
        open_one = sa.and_(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
        conn.execute(sessions.update().where(open_one).values(ended_at=utcnow()))


def end_sessions_of(conn: Connection, site: str, subject: str) -> None:
    conn.execute(
        sessions.update()
        .where(sessions.c.site == site, sessions.c.subject == subject, sessions.c.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
