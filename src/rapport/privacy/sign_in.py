"""A customer asking for a portal sign-in link: mailed to a known address, through the one permission
check. Asking never reveals whether an address is known. The mail goes through the outbox (the
worker in outbound/worker.py sends it), so a hung mail server never holds a request's thread."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.access.customers import LINK_TTL, MAX_LINKS_PER_TTL, create_portal_link, link_serializer, recent_links
from rapport.consent.model import SERVICE
from rapport.consent.service import check_permission_for
from rapport.db.engine import Database
from rapport.identity.model import ASSERTED, normalize_email
from rapport.identity.store import identifiers
from rapport.kernel.clock import utcnow
from rapport.kernel.mail import new_message_id
from rapport.outbound.confirm import queue_confirmation
from rapport.outbound.model import Mail
from rapport.outbound.service import Outcome, queue_mail, send_message

SUBJECT = "Your sign-in link"


# Why a confirmation mail came when the portal was asked for a sign-in link.
WHY_SIGN_IN = (
    "Someone, we hope you, asked to sign in to see their data with this address. We have not yet "
    "confirmed that this address is yours, so it cannot open your data: sign in with the address you "
    "gave us when you bought from us or called us, or ask us to confirm this one."
)


def request_sign_in_link(db: Database, email: str) -> str | None:
    """Email a link to a known address (in demo mode also log it); the caller must say the same thing
    to the visitor whatever happens. An address a server source or staff asserted gets a sign-in
    link; an address a client source only claimed (or the customer proved) gets a confirmation link,
    which opens nothing (outbound/confirm.py). Answers the URL, or None when nothing was sent."""
    address = normalize_email(email)
    if address is None:
        return None
    with db.read() as conn:
        row = conn.execute(
            sa.select(identifiers.c.profile_id, identifiers.c.verification).where(
                identifiers.c.key == f"email:{address}"
            )
        ).first()
        recent = recent_links(conn, row.profile_id) if row else 0
    if row is None or recent >= MAX_LINKS_PER_TTL:  # no flood of mail to a known address
        return None
    if row.verification != ASSERTED:
        serializer = link_serializer(db)
        with db.write() as conn:
            return queue_confirmation(conn, serializer, db.settings, row.profile_id, address, why=WHY_SIGN_IN)
    profile_id = row.profile_id
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
