"""Tables of the service desk: cases, their messages and attachments, their history, the mail that
came in, agents, SLA calendars and policies.

Follower counts and any other influence data are not here: they live in service/influence.py,
which the queue cannot import (an import contract and tests/unit/architecture/test_fair_queue.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(16), nullable=False, unique=True),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("priority_rank", sa.Integer, nullable=False),
    sa.Column("topic", sa.String(64)),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("assignee", sa.String(200)),  # the agent's name (a staff token's holder)
    sa.Column("tags", JSONDoc, nullable=False),
    # Who asked: their profile, or until the processor has made it, the bearer id that will name it
    # (an unknown sender's; service/requester.py). Only asserted identifiers ever choose a profile.
    sa.Column("requester_profile_id", sa.String(32), sa.ForeignKey("profiles.id"), index=True),
    sa.Column("requester_key", sa.String(400), index=True),
    # The address the customer wrote from on this case's thread: replies on the thread go there.
    sa.Column("requester_address", sa.String(360)),
    sa.Column("requester_name", sa.String(200)),  # as the mail or the agent gave it; shown, never matched
    sa.Column("policy", sa.String(64)),
    sa.Column("next_due_at", UTCDateTime),  # the SLA clocks' next due time, rewritten with every change
    sa.Column("waiting_since", UTCDateTime),  # the customer's oldest unanswered message
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("merged_into", BigId, sa.ForeignKey("cases.id")),
    sa.Column("follows", BigId, sa.ForeignKey("cases.id")),  # a follow-up of this closed case
    sa.Column("created_by", sa.String(200), nullable=False),
    sqlite_autoincrement=True,
)
sa.Index("ix_cases_queue", cases.c.status, cases.c.next_due_at, cases.c.priority_rank, cases.c.waiting_since)

case_messages = sa.Table(
    "case_messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("author_kind", sa.String(16), nullable=False),  # customer | agent | assistant (the chat before a handoff)
    sa.Column("author", sa.String(400), nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),  # False: an internal note, never shown to the customer
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(300)),
    sa.Column("text", sa.Text, nullable=False),  # the whole text
    sa.Column("display_text", sa.Text, nullable=False),  # without the quoted earlier mail
    sa.Column("from_html", sa.Boolean, nullable=False),  # the text was read out of HTML
    sa.Column("mail_message_id", sa.String(250), index=True),  # Message-ID, ours or the customer's
    sa.Column("delivery", sa.String(16)),  # a reply mailed: queued | suppressed | failed
    sa.Column("delivery_reason", sa.Text),
    sqlite_autoincrement=True,
)

case_attachments = sa.Table(
    "case_attachments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", BigId, sa.ForeignKey("case_messages.id"), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(127), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary),  # None when over the size limit: the raw mail still holds it
    sa.Column("note", sa.Text),
    sqlite_autoincrement=True,
)

# The case's whole history, in order: opened, every status, message, change, assignment (with its
# reason), policy applied and merge. The SLA clocks are computed from it.
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("data", JSONDoc, nullable=False),
    sqlite_autoincrement=True,
)

# Every mail that came in, as received, with what became of it: nothing is lost, and a mail that
# could not be read is kept with the reason.
inbound_mail = sa.Table(
    "inbound_mail",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("received_at", UTCDateTime, nullable=False, index=True),
    sa.Column("via", sa.String(16), nullable=False),  # smtp | pipe
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # opened | replied | unreadable | ignored
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("sender_key", sa.String(400), index=True),  # email:address, when one could be read
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), index=True),
    sqlite_autoincrement=True,
)

service_agents = sa.Table(
    "service_agents",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("capacity", sa.Integer, nullable=False),  # most active cases assigned at once
    sa.Column("teams", JSONDoc, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sla_calendars = sa.Table(
    "sla_calendars",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("document", JSONDoc, nullable=False),  # service.calendar.parse_calendar reads it
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

sla_policies = sa.Table(
    "sla_policies",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16)),
    sa.Column("topic", sa.String(64)),
    sa.Column("priority", sa.String(16)),
    sa.Column("calendar", sa.String(64), nullable=False),
    sa.Column("first_response_minutes", sa.Integer),
    sa.Column("next_response_minutes", sa.Integer),
    sa.Column("resolution_minutes", sa.Integer),
    sa.Column("warn_before_minutes", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)


def of_requester(profile_ids: list[str], keys: list[str]) -> sa.ColumnElement[bool]:
    """The cases a person asked: on one of their profiles, or named by a bearer id they now hold."""
    return sa.or_(cases.c.requester_profile_id.in_(profile_ids), cases.c.requester_key.in_(keys))


def _their_cases(profile_ids: list[str], keys: list[str]) -> sa.Select[tuple[int]]:
    return sa.select(cases.c.id).where(of_requester(profile_ids, keys))


def case_row(conn: Connection, case_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
    return dict(row._mapping) if row else None


def case_history(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    query = sa.select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def case_messages_of(conn: Connection, case_id: int, *, public_only: bool = False) -> list[dict[str, Any]]:
    query = sa.select(case_messages).where(case_messages.c.case_id == case_id).order_by(case_messages.c.id)
    if public_only:
        query = query.where(case_messages.c.public.is_(True))
    return [dict(r._mapping) for r in conn.execute(query)]


def attachments_of(conn: Connection, message_ids: list[int]) -> list[dict[str, Any]]:
    if not message_ids:
        return []
    columns = [c for c in case_attachments.c if c.name != "content"]
    query = sa.select(*columns).where(case_attachments.c.message_id.in_(message_ids)).order_by(case_attachments.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        cases,
        of_requester,
        description="what the person asked us for on any channel, and where each request stands",
    ),
    PersonalData(
        case_messages,
        lambda ids, keys: case_messages.c.case_id.in_(_their_cases(ids, keys)),
        found_through=("cases",),
        description="the messages of their requests: theirs, our replies and our internal notes",
    ),
    PersonalData(
        case_attachments,
        lambda ids, keys: case_attachments.c.message_id.in_(
            sa.select(case_messages.c.id).where(case_messages.c.case_id.in_(_their_cases(ids, keys)))
        ),
        found_through=("case_messages", "cases"),
        description="files they sent with their requests",
    ),
    PersonalData(
        case_events,
        lambda ids, keys: case_events.c.case_id.in_(_their_cases(ids, keys)),
        found_through=("cases",),
        description="the history of their requests: status, assignments, promises",
    ),
    PersonalData(
        inbound_mail,
        lambda ids, keys: sa.or_(
            inbound_mail.c.sender_key.in_(keys), inbound_mail.c.case_id.in_(_their_cases(ids, keys))
        ),
        found_through=("cases",),
        description="every mail they sent to the service address, as received",
    ),
)
