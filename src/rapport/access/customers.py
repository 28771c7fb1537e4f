"""Customer access to the portal: one-time sign-in links, sent by email or made by staff.

A link carries a signed nonce; redeeming it marks the nonce used, so a link works once and for
LINK_TTL only. Asking for a link never reveals whether an address is known.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Connection

from rapport.access.service import signing_secret
from rapport.access.store import portal_links
from rapport.consent.service import check_permission_for
from rapport.db.engine import Database
from rapport.db.metadata import utcnow
from rapport.errors import ApiError
from rapport.identity.model import normalize_email
from rapport.identity.store import identifiers, profiles
from rapport.outbound.mail import MailError, build_email, send_email

LINK_TTL = timedelta(minutes=30)
MAX_LINKS_PER_TTL = 3
SALT = "rapport.portal-link.v1"
log = logging.getLogger("rapport.portal")


def _serializer(db: Database) -> URLSafeSerializer:
    return URLSafeSerializer(signing_secret(db), salt=SALT)


def create_portal_link(db: Database, profile_id: str, *, created_by: str) -> str:
    """A one-time sign-in URL for the profile's owner."""
    nonce = secrets.token_urlsafe(24)
    now = utcnow()
    with db.write() as conn:
        canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()
        if canonical is None:
            raise ApiError(404, "not_found", f"profile {profile_id!r} not found")
        conn.execute(
            portal_links.insert().values(
                nonce=nonce, profile_id=canonical, created_at=now, expires_at=now + LINK_TTL, created_by=created_by
            )
        )
    return f"{db.settings.public_url}/portal/auth/{_serializer(db).dumps(nonce)}"


def _usable_link(conn: Connection, serializer: URLSafeSerializer, token: str) -> Any:
    try:
        nonce = str(serializer.loads(token))
    except BadSignature:
        raise ApiError(400, "invalid_link", "this sign-in link is not valid") from None
    row = conn.execute(sa.select(portal_links).where(portal_links.c.nonce == nonce)).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise ApiError(410, "link_expired", "this sign-in link was used or has expired; ask for a new one")
    return row


def check_portal_link(db: Database, token: str) -> None:
    """Raise as `redeem_portal_link` would, without spending the link (a GET must not: mail scanners follow GETs)."""
    serializer = _serializer(db)
    with db.read() as conn:
        _usable_link(conn, serializer, token)


def redeem_portal_link(db: Database, token: str) -> str:
    """The profile a link signs in, marking it used. Raises ApiError(400/410) for a bad or spent link."""
    serializer = _serializer(db)  # before the transaction: it may read the secret
    with db.write() as conn:
        row = _usable_link(conn, serializer, token)
        conn.execute(portal_links.update().where(portal_links.c.nonce == row.nonce).values(used_at=utcnow()))
        canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == row.profile_id)).scalar()
    if canonical is None:
        raise ApiError(410, "link_expired", "this sign-in link no longer leads anywhere")
    return str(canonical)


def _recent_links(conn: Connection, profile_id: str) -> int:
    since = utcnow() - LINK_TTL
    query = sa.select(sa.func.count()).where(
        portal_links.c.profile_id == profile_id, portal_links.c.created_at >= since
    )
    return int(conn.execute(query).scalar_one())


def request_sign_in_link(db: Database, email: str) -> str | None:
    """Email a sign-in link to a known address (in demo mode also log it). Answers the URL or None;
    the caller must say the same thing to the visitor either way."""
    address = normalize_email(email)
    if address is None:
        return None
    with db.read() as conn:
        profile_id = conn.execute(
            sa.select(identifiers.c.profile_id).where(identifiers.c.key == f"email:{address}")
        ).scalar()
        recent = _recent_links(conn, profile_id) if profile_id else 0
    if profile_id is None or recent >= MAX_LINKS_PER_TTL:  # no flood of mail to a known address
        return None
    url = create_portal_link(db, profile_id, created_by="customer:email-link")
    if db.settings.demo:
        print(f"[demo] portal sign-in link for {address}: {url}", flush=True)
    with db.read() as conn:  # a service message, but still through the one check (erasure, suppression)
        allowed = check_permission_for(conn, profile_id, "service", "email", contact_point=address)
    if db.settings.smtp_url and allowed:
        msg = build_email(
            sender=db.settings.mail_from,
            to=address,
            subject="Your sign-in link",
            text=f"Sign in to see and manage your data:\n\n{url}\n\nThe link works once, for 30 minutes.",
            unsubscribe_url=None,
            unsubscribe_mailto=None,
        )
        try:
            send_email(db.settings.smtp_url, msg)
        except MailError:
            log.exception("could not send the portal sign-in link")
    return url
