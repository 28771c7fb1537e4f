"""Customer access to the portal: one-time sign-in links (sent by email by privacy, or made by staff).

A link carries a signed nonce; redeeming it marks the nonce used, so a link works once and for
LINK_TTL only. Asking for a link never reveals whether an address is known.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Connection

from rapport.access.store import portal_links
from rapport.db.engine import Database
from rapport.identity.store import profiles
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Gone, Invalid, NotFound
from rapport.kernel.secrets import signing_secret

LINK_TTL = timedelta(minutes=30)
MAX_LINKS_PER_TTL = 3
SALT = "rapport.portal-link.v1"


def _serializer(db: Database) -> URLSafeSerializer:
    return URLSafeSerializer(signing_secret(db), salt=SALT)


def create_portal_link(db: Database, profile_id: str, *, created_by: str, via: str = "portal") -> str:
    """A one-time sign-in URL for the profile's owner, audited: whoever holds it signs in as them."""
    nonce = secrets.token_urlsafe(24)
    now = utcnow()
    with db.write() as conn:
        canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()
        if canonical is None:
            raise NotFound(f"profile {profile_id!r}")
        conn.execute(
            portal_links.insert().values(
                nonce=nonce, profile_id=canonical, created_at=now, expires_at=now + LINK_TTL, created_by=created_by
            )
        )
        record_audit(conn, actor=created_by, channel=via, action="portal_link.created", profile_id=canonical)
    return f"{db.settings.public_url}/portal/auth/{_serializer(db).dumps(nonce)}"


def signed_in_profile(conn: Connection, profile_id: str) -> str | None:
    """The profile a portal session signed in to, as it is now: its survivor once merged, None once erased."""
    return conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()


def _usable_link(conn: Connection, serializer: URLSafeSerializer, token: str) -> Any:
    try:
        nonce = str(serializer.loads(token))
    except BadSignature:
        raise Invalid("invalid_link", "this sign-in link is not valid") from None
    row = conn.execute(sa.select(portal_links).where(portal_links.c.nonce == nonce)).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise Gone("link_expired", "this sign-in link was used or has expired; ask for a new one")
    return row


def check_portal_link(db: Database, token: str) -> None:
    """Raise as `redeem_portal_link` would, without spending the link (a GET must not: mail scanners follow GETs)."""
    serializer = _serializer(db)
    with db.read() as conn:
        _usable_link(conn, serializer, token)


def redeem_portal_link(db: Database, token: str) -> str:
    """The profile a link signs in, marking it used. Raises Invalid or Gone for a bad or spent link."""
    serializer = _serializer(db)  # before the transaction: it may read the secret
    with db.write() as conn:
        row = _usable_link(conn, serializer, token)
        # Spent only if still unspent: two redemptions that both read it unused (PostgreSQL's read
        # committed lets them) cannot both win; the second updates nothing and is refused.
        unspent = sa.and_(portal_links.c.nonce == row.nonce, portal_links.c.used_at.is_(None))
        if conn.execute(portal_links.update().where(unspent).values(used_at=utcnow())).rowcount != 1:
            raise Gone("link_expired", "this sign-in link was used or has expired; ask for a new one")
        canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == row.profile_id)).scalar()
    if canonical is None:
        raise Gone("link_expired", "this sign-in link no longer leads anywhere")
    return str(canonical)
