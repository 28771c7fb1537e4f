"""Sending a message to a customer: the permission check first, then SMTP, then the contact history."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.engine import Connection

from rapport.collect.internal import record_event
from rapport.consent.model import PURPOSES, SERVICE
from rapport.consent.service import check_permission_for, contact_points
from rapport.consent.store import contact_history
from rapport.consent.unsubscribe import UnsubscribeTarget, make_token
from rapport.db.engine import Database
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.kernel.mail import MailError, build_email, dkim_of, header_text_problem, send_email

CHANNELS = ("email",)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | suppressed | failed
    reason: str
    profile_id: str
    contact_point: str | None


def _record(conn: Connection, outcome: Outcome, *, channel: str, purpose: str, subject: str, actor: str) -> None:
    """The contact history row and, in the same transaction, the event on the person's timeline."""
    history_id = conn.execute(
        contact_history.insert().values(
            profile_id=outcome.profile_id,
            at=utcnow(),
            channel=channel,
            purpose=purpose,
            contact_point=outcome.contact_point,
            subject=subject[:300],
            status=outcome.status,
            reason=outcome.reason,
            actor=actor,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    # Named by its profile, so it lands on exactly that one and joins nothing; the address stays
    # out of it (the contact history holds it): one copy fewer of a contact point.
    record_event(
        conn,
        "outbound",
        event=f"{channel.capitalize()} {outcome.status.capitalize()}",  # Email Sent, Email Suppressed ...
        profile_id=outcome.profile_id,
        properties={"purpose": purpose, "subject": subject[:300], "status": outcome.status, "reason": outcome.reason},
        message_id=f"contact-history-{history_id}",
    )


def unsubscribe_links(db: Database, target: UnsubscribeTarget) -> tuple[str, str]:
    token = make_token(db, target)
    domain = db.settings.mail_from.rsplit("@", 1)[-1].strip("> ")
    return f"{db.settings.public_url}/u/{token}", f"mailto:unsubscribe@{domain}?subject={quote('unsubscribe ' + token)}"


def send_message(
    db: Database, profile_id: str, *, channel: str, purpose: str, subject: str, text: str, actor: str
) -> Outcome:
    if channel not in CHANNELS:
        raise Invalid("unsupported_channel", f"channel must be one of {', '.join(CHANNELS)}")
    if purpose not in (SERVICE, *PURPOSES):
        raise Invalid("invalid_purpose", f"purpose must be one of {', '.join((SERVICE, *PURPOSES))}")
    if problem := header_text_problem(subject):
        raise Invalid("invalid_subject", f"the subject {problem}, which could forge a header of the mail")
    with db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        emails = contact_points(conn, members, "email")
        to = emails[-1] if emails else None
        decision = check_permission_for(conn, canonical, purpose, channel, contact_point=to, outreach=True)
    if to is None:
        outcome = Outcome("suppressed", "the profile has no email address", canonical, None)
    elif not decision:
        outcome = Outcome("suppressed", decision.reason, canonical, to)
    elif not db.settings.smtp_url:
        outcome = Outcome("failed", "no SMTP server is configured (RAPPORT_SMTP_URL)", canonical, to)
    else:
        outcome = _deliver(db, canonical, to, purpose, subject, text)
    with db.write() as conn:
        _record(conn, outcome, channel=channel, purpose=purpose, subject=subject, actor=actor)
    return outcome


def _deliver(db: Database, profile_id: str, to: str, purpose: str, subject: str, text: str) -> Outcome:
    url = mailto = None
    if purpose != SERVICE:
        url, mailto = unsubscribe_links(db, UnsubscribeTarget(profile_id, purpose, "email", to))
    try:
        links = {"unsubscribe_url": url, "unsubscribe_mailto": mailto}
        msg = build_email(sender=db.settings.mail_from, to=to, subject=subject, text=text, **links)
        send_email(db.settings.smtp_url or "", msg, dkim=dkim_of(db.settings))
    except MailError as exc:
        return Outcome("failed", f"SMTP delivery failed: {exc}", profile_id, to)
    return Outcome("sent", "permission granted; delivered to the SMTP server", profile_id, to)
