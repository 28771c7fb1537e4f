"""Mail in: a customer's mail becomes a case, or a message on the case it answers.

Every mail is kept as received (`inbound_mail`) in the transaction that acts on it, with what became
of it: a case opened, a reply added, kept unread with the reason (it could not be read), or kept and
ignored (an auto-reply, a bounce, a duplicate, our own mail come back). Only a failure of the
database itself leaves a mail unanswered, and then the SMTP listener answers 451 and the pipe exits
75, so the sending server tries again: nothing is acknowledged that is not stored.

Threading: a mail answers the case of a message it names in `In-Reply-To` or `References` (the
Message-IDs of the customer's own mails and of our replies are kept), or whose reference (`[#K7P2QX9M]`)
is in its subject. It joins that case only when it comes from the case's own address (or one
asserted on the requester's profile): anyone can write a reference into a subject, and a stranger's
mail must not land on, or redirect the replies of, someone else's case. Such a mail opens a case of
its own, which says so in its history.

Authentication: with `RAPPORT_INBOUND_AUTHSERV_ID`, a mail the mail server in front of Rapport did
not authenticate (service/sender_auth.py) joins no case and no profile: it opens a case of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.identity.model import ASSERTED
from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError
from rapport.service import sender_auth
from rapport.service.mime import Mail, Unreadable, read_mail
from rapport.service.model import reference_in
from rapport.service.requester import for_address, for_unauthenticated
from rapport.service.service import Attachment, Message, NewCase, Work, customer_wrote_in, load_case, open_case_in
from rapport.service.store import case_messages, cases, inbound_mail

log = logging.getLogger("rapport.service.mail")


@dataclass(frozen=True)
class Received:
    outcome: str  # opened | replied | unreadable | ignored
    reason: str
    case_id: int | None = None
    reference: str | None = None


def receive_mail(db: Database, raw: bytes, *, via: str) -> Received:
    """Act on one mail, as received. Raises only when the database cannot take it (try again)."""
    try:
        return _receive(db, raw, via)
    except (sa.exc.OperationalError, sa.exc.InterfaceError):
        raise  # the database is down or busy: the sender keeps the mail and tries again
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the mail, nor bounce it forever
        log.exception("an inbound mail could not become a case; kept as received")
        reason = f"kept as received: it could not become a case ({type(exc).__name__})"
        with db.write() as conn:
            return _keep(conn, raw, via, Received("unreadable", reason), None)


def _receive(db: Database, raw: bytes, via: str) -> Received:
    try:
        mail: Mail | None = read_mail(raw)
        problem = None
    except Unreadable as exc:
        mail, problem = None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a mail must never be lost to a bug in reading it
        mail, problem = None, f"the mail could not be read ({type(exc).__name__}: {exc})"
    if mail is not None and mail.sender is None:
        mail, problem = None, "the mail has no sender address we can read (From:)"
    with db.write() as conn:
        if mail is None:
            return _keep(conn, raw, via, Received("unreadable", problem or "unreadable"), None)
        sender_key = f"email:{mail.sender}"
        ignored = _why_ignored(conn, db, mail)
        if ignored:
            return _keep(conn, raw, via, Received("ignored", ignored), sender_key)
        w = Work(conn, f"customer:email:{mail.sender}")
        try:
            received, touched = _act(w, mail, db.settings.inbound_authserv_id)
        except DomainError as exc:  # a rule refused it (too long a text ...): kept, with the reason
            return _keep(conn, raw, via, Received("unreadable", exc.message), sender_key)
        _keep(conn, raw, via, received, sender_key)
        w.finish(touched)  # its timeline event last (record_event holds the log's lock until the commit)
        return received


def _keep(conn: Connection, raw: bytes, via: str, received: Received, sender_key: str | None) -> Received:
    conn.execute(
        inbound_mail.insert().values(
            received_at=utcnow(),
            via=via,
            size=len(raw),
            raw=raw,
            outcome=received.outcome,
            reason=received.reason,
            sender_key=sender_key,
            case_id=received.case_id,
        )
    )
    return received


def _why_ignored(conn: Connection, db: Database, mail: Mail) -> str | None:
    if mail.automatic:
        return f"sent by a machine ({mail.automatic}): no case is opened, so two robots never answer each other"
    ours = db.settings.mail_from.rsplit("<", 1)[-1].strip("> ").lower()
    if mail.sender == ours:
        return "our own mail came back"
    if (
        mail.message_id
        and conn.execute(
            sa.select(case_messages.c.id).where(
                case_messages.c.mail_message_id == mail.message_id, case_messages.c.author_kind == "customer"
            )
        ).first()
    ):
        return f"already received ({mail.message_id})"
    return None


def _message(mail: Mail) -> Message:
    files = [Attachment(f.filename, f.content_type, f.size, f.content, f.note) for f in mail.files]
    text = mail.text or "(no text: see the attachments)"
    return Message(
        text=text,
        display_text=mail.display_text or text,
        subject=mail.subject,
        channel="email",
        from_html=mail.from_html,
        mail_message_id=mail.message_id,
        attachments=files,
    )


def _act(w: Work, mail: Mail, authserv_id: str | None) -> tuple[Received, dict[str, Any]]:
    assert mail.sender is not None
    conn = w.conn
    checked = sender_auth.verdict(mail.sender, mail.authentication, authserv_id)
    if checked.status == sender_auth.FAIL:  # a forged From joins nobody's case or profile
        requester = for_unauthenticated(conn, mail.sender, mail.sender_name, checked.detail)
        opened = open_case_in(w, requester, NewCase(subject=mail.subject, channel="email"), _message(mail), "customer")
        reason = f"opened case {opened['reference']} ({requester.how})"
        return Received("opened", reason, opened["id"], opened["reference"]), opened
    case, why = _answered_case(conn, mail)
    note = ""
    if case is not None and not _from_requester(conn, case, mail.sender):
        note, case = f"; it named case {case['reference']}, which is not this sender's", None
    if case is not None and case["status"] != "closed":
        customer_wrote_in(w, case, _message(mail))
        return Received("replied", f"added to case {case['reference']} ({why})", case["id"], case["reference"]), case
    follows = case["id"] if case is not None else None
    if follows is not None:
        note = f"; a follow-up of closed case {case['reference']}"  # type: ignore[index]
    requester = for_address(conn, mail.sender, mail.sender_name)
    new = NewCase(subject=mail.subject, channel="email", follows=follows)
    opened = open_case_in(w, requester, new, _message(mail), "customer")
    reason = f"opened case {opened['reference']} ({requester.how}){note}"
    return Received("opened", reason, opened["id"], opened["reference"]), opened


def _answered_case(conn: Connection, mail: Mail) -> tuple[dict[str, Any] | None, str]:
    """The case the mail answers, by the Message-IDs it names, else by the reference in its subject."""
    if mail.refers_to:
        row = conn.execute(
            sa.select(case_messages.c.case_id)
            .where(case_messages.c.mail_message_id.in_(mail.refers_to[:100]))
            .order_by(case_messages.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return _survivor(conn, row.case_id), "it answers a mail of the case"
    reference = reference_in(mail.subject)
    if reference:
        found = conn.execute(sa.select(cases.c.id).where(cases.c.reference == reference)).first()
        if found is not None:
            return _survivor(conn, found.id), "its subject names the case"
    return None, ""


def _survivor(conn: Connection, case_id: int) -> dict[str, Any]:
    case = load_case(conn, case_id)
    for _ in range(20):  # a merged case answers for the one it was merged into
        if case["merged_into"] is None:
            break
        case = load_case(conn, case["merged_into"])
    return case


def _from_requester(conn: Connection, case: dict[str, Any], sender: str) -> bool:
    """Whether the mail comes from the case's own address, or one asserted on the requester's profile."""
    if case["requester_address"] == sender:
        return True
    if case["requester_profile_id"] is None:
        return False
    _canonical, members = members_of(conn, case["requester_profile_id"])
    row = conn.execute(
        sa.select(identifiers.c.verification).where(
            identifiers.c.key == f"email:{sender}", identifiers.c.profile_id.in_(members)
        )
    ).first()
    return row is not None and row.verification == ASSERTED
