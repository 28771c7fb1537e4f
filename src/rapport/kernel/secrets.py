"""Secrets the server makes for itself: RAPPORT_SECRET_KEY, or one generated on first use and kept
in the database (table `app_secrets`), never in files or the repo."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.db.metadata import metadata

app_secrets = sa.Table(
    "app_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)


def signing_secret(db: Database) -> str:
    """RAPPORT_SECRET_KEY, or one generated on first use and kept in the database (never in the repo)."""
    if db.settings.secret_key:
        return db.settings.secret_key
    if "session_secret" in db.memo:
        return str(db.memo["session_secret"])
    with db.read() as conn:
        value = stored_secret(conn, "session")
    if value is None:
        with db.write() as conn:
            value = stored_secret(conn, "session", make=lambda: secrets.token_urlsafe(48))
    db.memo["session_secret"] = value
    return str(value)


def stored_secret(conn: Connection, name: str, make: Callable[[], str] | None = None) -> str | None:
    """The secret kept under `name`; made with `make` and kept when there is none yet (in a write
    transaction), else None."""
    value = conn.execute(sa.select(app_secrets.c.value).where(app_secrets.c.name == name)).scalar()
    if value is None and make is not None:
        value = make()
        conn.execute(app_secrets.insert().values(name=name, value=value))
    return None if value is None else str(value)
