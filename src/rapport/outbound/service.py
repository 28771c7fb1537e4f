"""Sending a message to a customer: the permission check first, then the outbox, with its contact
history row in the same transaction. The request never talks to the SMTP server: the outbox worker
(outbound/worker.py) does, and records the final outcome with `record_outcome`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.engine import Connection

from rapport.collect.internal import record_event
from rapport.consent.model import PURPOSES, SERVICE
from rapport.consent.service import check_permission_for, verified_contact_points
from rapport.consent.store import contact_history
from rapport.consent.unsubscribe import UnsubscribeTarget, make_token
from rapport.db.engine import Database
from rapport.identity.model import ASSERTED, PROVEN
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.kernel.mail import header_text_problem, message_id_problem, new_message_id
from rapport.outbound.model import QUEUED_REASON, Mail
from rapport.outbound.store import insert_mail

CHANNELS = ("email",)


@dataclass(frozen=True)
class Outcome:
    status: str  # queued | suppressed | failed now; the worker later makes a queued one sent | suppressed | failed
    reason: str
    profile_id: str
    contact_point: str | None


def _history(conn: Connection, outcome: Outcome, *, channel: str, purpose: str, subject: str, actor: str) -> int:
    values = {
        "profile_id": outcome.profile_id,
        "at": utcnow(),
        "channel": channel,
        "purpose": purpose,
        "contact_point": outcome.contact_point,
        "subject": subject[:300],
        "status": outcome.status,
        "reason": outcome.reason,
        "actor": actor,
    }
    return int(conn.execute(contact_history.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def _event(
    conn: Connection,
    history_id: int,
    profile_id: str,
    channel: str,
    purpose: str,
    subject: str,
    status: str,
    reason: str,
) -> None:
    """The outcome on the person's timeline. Named by its profile, so it lands on exactly that one and
    joins nothing; the address stays out of it (the contact history holds it): one copy fewer of a
    contact point. Last in its transaction (record_event holds the log's lock until the commit)."""
    record_event(
        conn,
        "outbound",
        event=f"{channel.capitalize()} {status.capitalize()}",  # Email Sent, Email Suppressed ...
        profile_id=profile_id,
        properties={"purpose": purpose, "subject": subject[:300], "status": status, "reason": reason},
        message_id=f"contact-history-{history_id}",
    )


def record_outcome(conn: Connection, history_id: int, status: str, reason: str) -> None:
    """The final outcome of a queued message, in the worker's transaction: its contact history row
    moves from queued to `status` (at the time of the outcome, which frequency caps count from), and
    the outcome goes on the timeline as a message decided at once does."""
    row = conn.execute(
        contact_history.update()
        .where(contact_history.c.id == history_id)
        .values(status=status, reason=reason, at=utcnow())
        .returning(
            contact_history.c.profile_id,
            contact_history.c.channel,
            contact_history.c.purpose,
            contact_history.c.subject,
        )
    ).first()
    if row is not None:
        _event(conn, history_id, row.profile_id, row.channel, row.purpose, row.subject or "", status, reason)


def queue_mail(db: Database, mail: Mail) -> None:
    """Queue a mail that leaves no contact history (a sign-in link the customer asked for); the
    caller has asked the permission check, and the worker asks it again before sending."""
    with db.write() as conn:
        insert_mail(conn, mail, utcnow())


def unsubscribe_links(db: Database, target: UnsubscribeTarget) -> tuple[str, str]:
    token = make_token(db, target)
    domain = db.settings.mail_from.rsplit("@", 1)[-1].strip("> ")
    return f"{db.settings.public_url}/u/{token}", f"mailto:unsubscribe@{domain}?subject={quote('unsubscribe ' + token)}"


def recipient(addresses: list[tuple[str, str | None]], purpose: str) -> str | None:
    """Where a message goes, of the person's (address, verification) pairs, oldest first: the newest
    address a server source or staff asserted; for a purpose other than service, else the newest the
    customer proved by a confirmation link (the permission check then counts only what they agreed
    to at that address). Never one a client source only claimed (docs/threat-model.md)."""
    asserted = [a for a, v in addresses if v == ASSERTED]
    if asserted:
        return asserted[-1]
    proven = [a for a, v in addresses if v == PROVEN]
    return proven[-1] if proven and purpose != SERVICE else None


def send_message(
    db: Database,
    profile_id: str,
    *,
    channel: str,
    purpose: str,
    subject: str,
    text: str,
    actor: str,
    expires_at: datetime | None = None,
    thread_address: str | None = None,  # service only: the address the customer wrote from on this thread
    message_id: str | None = None,
    in_reply_to: str | None = None,  # the Message-ID this mail answers, for mail clients' threading
    references: Sequence[str] = (),  # the thread's Message-IDs, oldest first
) -> Outcome:
    """Decide, and queue the message when the permission check allows it: the answer is `queued`
    once it is in the outbox (committed with its contact history row), never after SMTP."""
    if channel not in CHANNELS:
        raise Invalid("unsupported_channel", f"channel must be one of {', '.join(CHANNELS)}")
    if purpose not in (SERVICE, *PURPOSES):
        raise Invalid("invalid_purpose", f"purpose must be one of {', '.join((SERVICE, *PURPOSES))}")
    if problem := header_text_problem(subject):
        raise Invalid("invalid_subject", f"the subject {problem}, which could forge a header of the mail")
    for thread_id in (*([in_reply_to] if in_reply_to else []), *references):
        if problem := message_id_problem(thread_id):
            raise Invalid("invalid_thread", f"a Message-ID to answer {problem}")
    with db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        to = thread_address if thread_address and purpose == SERVICE else None  # see docs/service.md
        to = to or recipient(verified_contact_points(conn, members, "email"), purpose)
        decision = check_permission_for(conn, canonical, purpose, channel, contact_point=to, outreach=True)
    if to is None:
        outcome = Outcome("suppressed", "the profile has no verified email address", canonical, None)
    elif not decision:
        outcome = Outcome("suppressed", decision.reason, canonical, to)
    elif not db.settings.smtp_url:
        outcome = Outcome("failed", "no SMTP server is configured (RAPPORT_SMTP_URL)", canonical, to)
    else:
        outcome = Outcome("queued", QUEUED_REASON, canonical, to)
    with db.write() as conn:
        history_id = _history(conn, outcome, channel=channel, purpose=purpose, subject=subject, actor=actor)
        if outcome.status == "queued" and to is not None:
            mail = Mail(
                profile_id=canonical,
                channel=channel,
                purpose=purpose,
                contact_point=to,
                subject=subject,
                text=text,
                actor=actor,
                outreach=True,
                message_id=message_id or new_message_id(db.settings.mail_from),
                expires_at=expires_at,
                in_reply_to=in_reply_to,
                references=" ".join(references) or None,
            )
            insert_mail(conn, mail, utcnow(), history_id=history_id)
        else:
            _event(conn, history_id, canonical, channel, purpose, subject, outcome.status, outcome.reason)
    return outcome
