"""Write path of staff access: issuing tokens, checking them, the console's signing secret."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.access.model import ROLES, Staff
from rapport.access.store import app_secrets, tokens
from rapport.db.engine import Database
from rapport.db.metadata import utcnow

TOKEN_PREFIX = "rpt_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, role: str, name: str | None = None) -> tuple[Staff, str]:
    """Issue a staff token; only its hash is stored, so the caller must show it now."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    name = (name or role).strip() or role
    with db.write() as conn:
        token_id: int = conn.execute(
            tokens.insert().values(name=name, role=role, token_hash=_hash(token), created_at=utcnow())
        ).inserted_primary_key[0]  # type: ignore[index]
    return Staff(token_id, name, role), token


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


def signing_secret(db: Database) -> str:
    """RAPPORT_SECRET_KEY, or one generated on first use and kept in the database (never in the repo)."""
    if db.settings.secret_key:
        return db.settings.secret_key
    if "session_secret" in db.memo:
        return str(db.memo["session_secret"])
    with db.read() as conn:
        value = conn.execute(sa.select(app_secrets.c.value).where(app_secrets.c.name == "session")).scalar()
    if value is None:
        with db.write() as conn:
            value = conn.execute(sa.select(app_secrets.c.value).where(app_secrets.c.name == "session")).scalar()
            if value is None:
                value = secrets.token_urlsafe(48)
                conn.execute(app_secrets.insert().values(name="session", value=value))
    db.memo["session_secret"] = value
    return str(value)
