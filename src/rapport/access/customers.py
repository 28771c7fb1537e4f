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
CONFIRM_TTL = timedelta(days=2)  # a confirmation waits in an inbox longer than a sign-in does
MAX_LINKS_PER_TTL = 3
SALT = "rapport.portal-link.v1"
# What a link does: SIGN_IN opens the portal on its profile; CONFIRM proves that whoever follows it
# holds `contact_point` (privacy/confirm.py), and opens nothing.
SIGN_IN, CONFIRM = "sign_in", "confirm"
PATHS = {SIGN_IN: "/portal/auth/", CONFIRM: "/portal/confirm/"}


def link_serializer(db: Database) -> URLSafeSerializer:
    """Signs link nonces. Make it outside a write transaction: the first call may store the secret."""
    return URLSafeSerializer(signing_secret(db), salt=SALT)


def create_portal_link(db: Database, profile_id: str, *, created_by: str, via: str = "portal") -> str:
    """A one-time sign-in URL for the profile's owner, audited: whoever holds it signs in as them."""
    serializer = link_serializer(db)
    with db.write() as conn:
        return insert_link(conn, serializer, db.settings.public_url, profile_id, created_by=created_by, via=via)


def insert_link(
    conn: Connection,
    serializer: URLSafeSerializer,
    public_url: str,
    profile_id: str,
    *,
    created_by: str,
    via: str,
    kind: str = SIGN_IN,
    contact_point: str | None = None,
) -> str:
    """A one-time link of `kind` for the profile, in the caller's transaction, audited."""
    nonce = secrets.token_urlsafe(24)
    now = utcnow()
    canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()
    if canonical is None:
        raise NotFound(f"profile {profile_id!r}")
    conn.execute(
        portal_links.insert().values(
            nonce=nonce,
            profile_id=canonical,
            created_at=now,
            expires_at=now + (LINK_TTL if kind == SIGN_IN else CONFIRM_TTL),
            created_by=created_by,
            kind=kind,
            contact_point=contact_point,
        )
    )
    action = "portal_link.created" if kind == SIGN_IN else "confirmation_link.created"
    record_audit(conn, actor=created_by, channel=via, action=action, profile_id=canonical)
    return f"{public_url}{PATHS[kind]}{serializer.dumps(nonce)}"


def recent_links(conn: Connection, profile_id: str) -> int:
    """Links of any kind made for the profile within the last LINK_TTL: a flood of mail is refused."""
    since = utcnow() - LINK_TTL
    query = sa.select(sa.func.count()).where(
        portal_links.c.profile_id == profile_id, portal_links.c.created_at >= since
    )
    return int(conn.execute(query).scalar_one())


def signed_in_profile(conn: Connection, profile_id: str) -> str | None:
    """The profile a portal session signed in to, as it is now: its survivor once merged, None once erased."""
    return conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()


def _usable_link(conn: Connection, serializer: URLSafeSerializer, token: str, kind: str) -> Any:
    try:
        nonce = str(serializer.loads(token))
    except BadSignature:
        raise Invalid("invalid_link", "this link is not valid") from None
    row = conn.execute(
        sa.select(portal_links).where(portal_links.c.nonce == nonce, portal_links.c.kind == kind)
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise Gone("link_expired", "this link was used or has expired; ask for a new one")
    return row


def check_portal_link(db: Database, token: str, kind: str = SIGN_IN) -> None:
    """Raise as `redeem_portal_link` would, without spending the link (a GET must not: mail scanners follow GETs)."""
    serializer = link_serializer(db)
    with db.read() as conn:
        _usable_link(conn, serializer, token, kind)


def redeem_portal_link(db: Database, token: str) -> str:
    """The profile a sign-in link signs in, marking it used. Raises Invalid or Gone for a bad or spent link."""
    serializer = link_serializer(db)  # before the transaction: it may read the secret
    with db.write() as conn:
        canonical, _ = spend_link(conn, serializer, token, SIGN_IN)
    return canonical


def spend_link(conn: Connection, serializer: URLSafeSerializer, token: str, kind: str) -> tuple[str, str | None]:
    """Mark a link of `kind` used, in the caller's write transaction: the profile it was made for, as
    it is now, and its contact point. Raises Invalid or Gone for a bad, spent or expired link."""
    row = _usable_link(conn, serializer, token, kind)
    # Spent only if still unspent: two redemptions that both read it unused (PostgreSQL's read
    # committed lets them) cannot both win; the second updates nothing and is refused.
    unspent = sa.and_(portal_links.c.nonce == row.nonce, portal_links.c.used_at.is_(None))
    if conn.execute(portal_links.update().where(unspent).values(used_at=utcnow())).rowcount != 1:
        raise Gone("link_expired", "this link was used or has expired; ask for a new one")
    canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == row.profile_id)).scalar()
    if canonical is None:
        raise Gone("link_expired", "this link no longer leads anywhere")
    return str(canonical), row.contact_point
