"""A customer asking for a portal sign-in link: mailed to a known address, through the one permission
check. Asking never reveals whether an address is known. The mail goes through the outbox (the
worker in outbound/worker.py sends it), so a hung mail server never holds a request's thread."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.access.customers import LINK_TTL, MAX_LINKS_PER_TTL, create_portal_link
from rapport.access.store import portal_links
from rapport.consent.model import SERVICE
from rapport.consent.service import check_permission_for
from rapport.db.engine import Database
from rapport.identity.model import normalize_email
from rapport.identity.store import identifiers
from rapport.kernel.clock import utcnow
from rapport.kernel.mail import new_message_id
from rapport.outbound.model import Mail
from rapport.outbound.service import Outcome, queue_mail, send_message

SUBJECT = "Your sign-in link"


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
        # No contact history, as before: the customer asked for it, and it is no contact we made.
        mail = Mail(
            profile_id=profile_id,
            channel="email",
            purpose=SERVICE,
            contact_point=address,
            subject=SUBJECT,
            text=f"Sign in to see and manage your data:\n\n{url}\n\nThe link works once, for 30 minutes.",
            actor="customer:email-link",
            outreach=False,
            message_id=new_message_id(db.settings.mail_from),
            expires_at=utcnow() + LINK_TTL,
        )
        queue_mail(db, mail)
    return url


def mail_portal_link(db: Database, profile_id: str, *, actor: str) -> tuple[str, Outcome]:
    """A sign-in link that staff had made for a customer, mailed to the customer like any service
    message (and recorded in their contact history); the link and what became of the mail."""
    url = create_portal_link(db, profile_id, created_by=actor, via="api")
    text = f"You asked us for a link to sign in and see or manage your data:\n\n{url}\n\nIt works once, for 30 minutes."
    expires_at = utcnow() + LINK_TTL  # the mail is given up once the link in it would not work
    outcome = send_message(
        db, profile_id, channel="email", purpose=SERVICE, subject=SUBJECT, text=text, actor=actor, expires_at=expires_at
    )
    return url, outcome
