"""Asking a customer to confirm an address, and what their confirmation does.

An address a client source (a public write key) claimed receives one kind of mail: a link that
asks its holder to confirm it (double opt-in). Following the link proves that whoever clicked holds
the mailbox, so the address becomes `proven`: grants that were waiting at it come into force, and
mail they agreed to there may go to it. It proves nothing about whose profile the address was
claimed onto, so it never opens the portal: only an address a server source or staff asserted
does (docs/decisions/0010-claims-and-assertions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import URLSafeSerializer
from sqlalchemy.engine import Connection

from rapport.access.customers import (
    CONFIRM,
    CONFIRM_TTL,
    MAX_LINKS_PER_TTL,
    insert_link,
    link_serializer,
    recent_links,
    spend_link,
)
from rapport.access.store import portal_links
from rapport.consent.model import ANY, CONFIRMATION, PENDING, current_state
from rapport.consent.service import append_consent, check_permission_for, consent_ledger
from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, bump_version
from rapport.identity.model import ASSERTED, PROVEN
from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Gone
from rapport.kernel.mail import new_message_id
from rapport.outbound.model import Mail
from rapport.outbound.store import insert_mail
from rapport.settings import Settings

SUBJECT = "Confirm your email address"
ACTOR = "customer:confirmation-link"


@dataclass(frozen=True)
class Confirmed:
    profile_id: str
    address: str
    granted: list[str]  # the purposes that came into force at the address


def queue_confirmation(
    conn: Connection,
    serializer: URLSafeSerializer,
    settings: Settings,
    profile_id: str,
    address: str | None,
    *,
    why: str,
) -> str | None:
    """Put a mail in the outbox, in the caller's transaction, asking the holder of `address` (one of
    the profile's; None: its best, see `_best_address`) to confirm it. `why` is the first paragraph,
    saying what asked for it. Answers the link, or None when nothing was asked: the address is not
    the profile's, or it or the profile was asked lately (no flood of mail to one mailbox)."""
    _, members = members_of(conn, profile_id)
    held = dict(
        conn.execute(
            sa.select(identifiers.c.value, identifiers.c.verification).where(
                identifiers.c.profile_id.in_(members), identifiers.c.type == "email"
            )
        )
        .tuples()
        .all()
    )
    address = address if address in held else (_best_address(held) if address is None else None)
    if address is None or recent_links(conn, profile_id) >= MAX_LINKS_PER_TTL or _asked_lately(conn, address):
        return None
    if not check_permission_for(conn, profile_id, CONFIRMATION, "email", contact_point=address):
        return None  # a suppressed address (an erased person's) is not asked either
    url = insert_link(
        conn,
        serializer,
        settings.public_url,
        profile_id,
        created_by=ACTOR,
        via="email",
        kind=CONFIRM,
        contact_point=address,
    )
    if settings.demo:
        print(f"[demo] confirmation link for {address}: {url}", flush=True)
    text = (
        f"{why}\n\nIf that was you, confirm this address here:\n\n{url}\n\n"
        "If it was not you, ignore this mail: nothing is sent to this address until it is confirmed. "
        f"The link works once, for {CONFIRM_TTL.days} days."
    )
    mail = Mail(
        profile_id=profile_id,
        channel="email",
        purpose=CONFIRMATION,
        contact_point=address,
        subject=SUBJECT,
        text=text,
        actor=ACTOR,
        outreach=False,
        message_id=new_message_id(settings.mail_from),
        expires_at=utcnow() + CONFIRM_TTL,
    )
    insert_mail(conn, mail, utcnow())
    return url


def _best_address(held: dict[str, str | None]) -> str | None:
    """Where a grant stated without an address is confirmed: an address a server source or staff
    asserted, so that only the customer's own mailbox can confirm what a browser said; else one the
    browser itself claimed (a newsletter form)."""
    asserted = sorted(a for a, v in held.items() if v == ASSERTED)
    candidates = asserted or sorted(held)
    return candidates[0] if candidates else None


def _asked_lately(conn: Connection, address: str) -> bool:
    """Whether the address was asked to confirm within a day: anyone may claim any address with the
    public key, on as many new profiles as they like, so the limit is the address's own."""
    since = utcnow() - timedelta(days=1)
    query = sa.select(portal_links.c.nonce).where(
        portal_links.c.kind == CONFIRM, portal_links.c.contact_point == address, portal_links.c.created_at >= since
    )
    return conn.execute(query.limit(1)).first() is not None


def confirm_address(db: Database, token: str) -> Confirmed:
    """Spend a confirmation link: its address becomes proven (unless a server source or staff asserted
    it already), and the grants waiting at it, or at no address on email, come into force at it.
    Raises Invalid or Gone for a bad, spent or expired link, or an address no longer on record."""
    serializer = link_serializer(db)  # before the transaction: it may store the secret
    now = utcnow()
    with db.write(lock=GRAPH_LOCK) as conn:
        profile_id, address = spend_link(conn, serializer, token, CONFIRM)
        canonical, members = members_of(conn, profile_id)
        key = f"email:{address}"
        row = conn.execute(
            sa.select(identifiers.c.verification).where(identifiers.c.key == key, identifiers.c.profile_id.in_(members))
        ).first()
        if address is None or row is None:
            raise Gone("address_gone", "this address is no longer on record")
        if row.verification is None:
            conn.execute(
                identifiers.update()
                .where(identifiers.c.key == key)
                .values(verification=PROVEN, verified_at=now, verified_by=ACTOR)
            )
            bump_version(conn)  # the profile processor caches how identifiers are verified
        granted = []
        for (purpose, channel, contact), record in current_state(consent_ledger(conn, members)).items():
            if record.status == PENDING and channel in ("email", ANY) and contact in (None, address):
                confirmed = replace(record, status="granted", channel="email", contact_point=address, recorded_at=now)
                append_consent(
                    conn,
                    canonical,
                    replace(confirmed, source=f"confirmation-link:{record.source}"),
                    actor=ACTOR,
                    via="email",
                )
                granted.append(purpose)
        record_audit(
            conn, actor=ACTOR, channel="email", action="identifier.proven", profile_id=canonical, granted=granted
        )
    return Confirmed(canonical, address, sorted(set(granted)))
