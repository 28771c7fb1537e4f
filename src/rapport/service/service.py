"""The write path of the service desk: open a case, add what the customer wrote, reply, change, assign
and merge cases. Each change runs in one transaction with its history rows (`case_events`), the
case's due time for the queue, and last its event on the customer's timeline (record_event).

Replies by email go out through outbound's send path as `service` messages: the one permission
check, the outbox, the contact history. Where a case came in by mail, the reply goes to the address
the customer wrote from on it (see docs/service.md, "Who gets the reply").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.internal import record_event
from rapport.db.engine import Database
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound
from rapport.kernel.mail import header_text_problem, message_id_problem, new_message_id
from rapport.outbound.service import send_message
from rapport.service import model
from rapport.service.clock import TERMINAL, apply_policy, refresh
from rapport.service.model import ACTIVE, CaseRuleError
from rapport.service.requester import Requester, profile_of
from rapport.service.store import case_attachments, case_events, case_messages, cases, service_agents

MAX_SUBJECT = 300
MAX_TEXT = 200_000
DEFAULT_CAPACITY = 20  # active cases an agent without a row in service_agents may hold


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None  # None: over the size limit (the raw mail keeps it)
    note: str | None = None


@dataclass(frozen=True)
class Message:
    """What someone wrote on a case."""

    text: str
    display_text: str | None = None  # without the quoted earlier mail; the text itself if None
    subject: str | None = None
    channel: str | None = None  # the case's own if None
    from_html: bool = False
    mail_message_id: str | None = None
    attachments: Sequence[Attachment] = ()


@dataclass
class NewCase:
    subject: str
    channel: str
    priority: str = "normal"
    topic: str | None = None
    tags: Sequence[str] = ()
    team: str | None = None
    follows: int | None = None


@dataclass
class Work:
    """One transaction's changes to cases: their history rows, then their timeline events, last."""

    conn: Connection
    actor: str
    now: datetime = field(default_factory=utcnow)
    timeline: list[tuple[dict[str, Any], str, int]] = field(default_factory=list)

    def history(self, case: dict[str, Any], kind: str, **data: Any) -> int:
        values = {"case_id": case["id"], "at": self.now, "kind": kind, "actor": self.actor, "data": data}
        return int(self.conn.execute(case_events.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]

    def tell(self, case: dict[str, Any], event: str, history_id: int) -> None:
        self.timeline.append((case, event, history_id))

    def finish(self, *changed: dict[str, Any]) -> None:
        for case in changed:
            refresh(self.conn, case["id"], self.now)
        for case, event, history_id in self.timeline:  # last: record_event holds the log's lock until commit
            _on_timeline(self.conn, case, event, history_id)


def _on_timeline(conn: Connection, case: dict[str, Any], event: str, history_id: int) -> None:
    """The case's event on the customer's timeline: named by their profile, or by the bearer id that
    makes an unknown sender's profile. The text stays in the case (one copy fewer of it)."""
    properties = {
        "case_id": case["id"],
        "reference": case["reference"],
        "channel": case["channel"],
        "status": case["status"],
        "priority": case["priority"],
        "topic": case["topic"],
    }
    profile_id, bearer = case["requester_profile_id"], None
    if profile_id is None and case["requester_key"]:
        bearer = str(case["requester_key"]).partition(":")[2]
    if profile_id is None and bearer is None:
        return  # erased: nobody to tell
    record_event(
        conn,
        "service",
        event=event,
        profile_id=profile_id,
        anonymous_id=bearer,
        properties=properties,
        message_id=f"case-history-{history_id}",
    )


def _rule(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except CaseRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None


def _check_text(subject: str | None, text: str) -> None:
    if subject is not None and not 1 <= len(subject.strip()) <= MAX_SUBJECT:
        raise Invalid("invalid_subject", f"a subject is 1 to {MAX_SUBJECT} characters")
    if subject is not None and (problem := header_text_problem(subject)):
        raise Invalid("invalid_subject", f"the subject {problem}")
    if len(text) > MAX_TEXT:
        raise Invalid("text_too_long", f"a message is at most {MAX_TEXT} characters")


def load_case(conn: Connection, case_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id}", "case_not_found")
    case = dict(row._mapping)
    if case["requester_profile_id"] is None and case["requester_key"]:
        found = profile_of(conn, case)  # the processor has made the sender's profile since
        if found is not None:
            conn.execute(cases.update().where(cases.c.id == case_id).values(requester_profile_id=found))
            case["requester_profile_id"] = found
    return case


def _writable(case: dict[str, Any]) -> None:
    if case["merged_into"] is not None:
        raise Conflict("case_merged", f"the case was merged into case {case['merged_into']}; work on that one")
    if case["status"] == "closed":
        raise Conflict("case_closed", "a closed case cannot change; open a follow-up case")


def open_case_in(w: Work, requester: Requester, new: NewCase, first: Message, author_kind: str) -> dict[str, Any]:
    """Open a case in the caller's transaction; the first message is the customer's request (told by
    the customer, or written down by an agent from a call or a visit)."""
    _check_text(new.subject, first.text)
    rank = _rule(model.check_priority, new.priority)
    values = {
        "reference": model.new_reference(),
        "subject": new.subject.strip(),
        "status": "new",
        "priority": new.priority,
        "priority_rank": rank,
        "topic": _rule(model.clean_topic, new.topic),
        "channel": _rule(model.check_channel, new.channel),
        "team": new.team,
        "assignee": None,
        "tags": _rule(model.clean_tags, new.tags),
        "requester_profile_id": requester.profile_id,
        "requester_key": None if requester.profile_id else requester.key,
        "requester_address": requester.address,
        "requester_name": (requester.name or "")[:200] or None,
        "waiting_since": w.now,
        "opened_at": w.now,
        "updated_at": w.now,
        "follows": new.follows,
        "created_by": w.actor,
    }
    case_id = int(w.conn.execute(cases.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    case = {"id": case_id, "policy": None, "merged_into": None, "next_due_at": None, **values}
    opened = w.history(case, "opened", channel=case["channel"], requester=requester.how, follows=new.follows)
    apply_policy(w.conn, case, w.actor, w.now)
    _insert_message(w, case, first, author_kind, public=True)
    w.tell(case, "Case Opened", opened)
    return case


def _insert_message(w: Work, case: dict[str, Any], message: Message, author_kind: str, *, public: bool) -> int:
    text = message.text
    values = {
        "case_id": case["id"],
        "at": w.now,
        "author_kind": author_kind,
        "author": w.actor,
        "public": public,
        "channel": message.channel or case["channel"],
        "subject": message.subject[:MAX_SUBJECT] if message.subject else None,
        "text": text,
        "display_text": message.display_text if message.display_text is not None else text,
        "from_html": message.from_html,
        "mail_message_id": message.mail_message_id,
    }
    message_id = int(w.conn.execute(case_messages.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    for item in message.attachments:
        w.conn.execute(case_attachments.insert().values(message_id=message_id, **item.__dict__))
    w.history(case, "message", message_id=message_id, author_kind=author_kind, public=public)
    return message_id


def _set_status(w: Work, case: dict[str, Any], status: str) -> int | None:
    if status == case["status"]:
        return None
    before = case["status"]
    case["status"] = status
    values: dict[str, Any] = {"status": status}
    if status in TERMINAL:
        values["waiting_since"] = None
        case["waiting_since"] = None
    w.conn.execute(cases.update().where(cases.c.id == case["id"]).values(**values))
    history_id = w.history(case, "status", **{"from": before, "to": status})
    event = {"solved": "Case Solved", "closed": "Case Closed"}.get(status)
    if before in TERMINAL and status not in TERMINAL:
        event = "Case Reopened"
    if event:
        w.tell(case, event, history_id)
    return history_id


def customer_wrote_in(w: Work, case: dict[str, Any], message: Message) -> int:
    """What the customer wrote on their case (a mail reply, the portal, a call written down): it
    wakes a pending or solved case, and their wait starts if it had not."""
    _writable(case)
    _check_text(None, message.text)
    message_id = _insert_message(w, case, message, "customer", public=True)
    if case["waiting_since"] is None:
        w.conn.execute(cases.update().where(cases.c.id == case["id"]).values(waiting_since=w.now))
        case["waiting_since"] = w.now
    _set_status(w, case, model.status_after_customer_message(case["status"]))
    w.tell(case, "Case Message Received", w.history(case, "customer_wrote", message_id=message_id))
    return message_id


def open_case(
    db: Database, requester_of: Any, new: NewCase, first: Message, *, actor: str, author_kind: str = "customer"
) -> dict[str, Any]:
    """Open a case; `requester_of(conn)` resolves who asked, in the same transaction."""
    with db.write() as conn:
        w = Work(conn, actor)
        requester = requester_of(conn)
        case = open_case_in(w, requester, new, first, author_kind)
        w.finish(case)
    return case


@dataclass(frozen=True)
class TranscriptLine:
    """One turn of a conversation that becomes a case (the assistant's handoff): who wrote it, when."""

    at: datetime
    author_kind: str  # customer | assistant
    text: str


def open_case_from_transcript(
    db: Database, requester_of: Any, new: NewCase, transcript: Sequence[TranscriptLine], *, actor: str, note: str
) -> dict[str, Any]:
    """Open a case from a conversation the customer had before a person joined (the assistant's chat):
    it is opened at the customer's first message, so their wait and every clock count from then, and
    each line keeps its own time. The assistant's lines are public (the customer saw them) but are no
    reply of ours: the clocks do not stop for them (clock.py). `note` is an internal note on why."""
    lines = sorted(transcript, key=lambda line: line.at)
    if not lines or lines[0].author_kind != "customer":
        raise Invalid("invalid_transcript", "a transcript starts with what the customer wrote")
    if any(line.author_kind not in ("customer", "assistant") for line in lines):
        raise Invalid("invalid_transcript", "a transcript holds the customer's and the assistant's lines only")
    now = utcnow()
    with db.write() as conn:
        w = Work(conn, actor, now=min(lines[0].at, now))
        case = open_case_in(w, requester_of(conn), new, Message(lines[0].text), "customer")
        for line in lines[1:]:
            w.now = min(max(line.at, w.now), now)
            _check_text(None, line.text)
            _insert_message(w, case, Message(line.text), line.author_kind, public=True)
        w.now = now
        _insert_message(w, case, Message(note), "assistant", public=False)
        w.finish(case)
    return case


def add_customer_message(db: Database, case_id: int, message: Message, *, actor: str) -> int:
    with db.write() as conn:
        w = Work(conn, actor)
        case = load_case(conn, case_id)
        message_id = customer_wrote_in(w, case, message)
        w.finish(case)
    return message_id


def reply(
    db: Database, case_id: int, text: str, *, actor: str, public: bool = True, status: str | None = None
) -> dict[str, Any]:
    """An agent's reply (public: mailed on an email case) or internal note, with the status the case
    takes. A public reply answers the customer's wait."""
    if not text.strip():
        raise Invalid("empty_message", "write something")
    _check_text(None, text)
    mail_id: str | None = None
    answers: str | None = None
    with db.write() as conn:
        w = Work(conn, actor)
        case = load_case(conn, case_id)
        _writable(case)
        mailed = public and case["channel"] == "email"
        if mailed and case["requester_profile_id"] is None:
            raise Conflict("requester_not_ready", "the sender's profile is still being made; try again in a moment")
        if mailed:
            mail_id = new_message_id(db.settings.mail_from)
            answers = _last_customer_mail(conn, case_id)
        next_status = _rule(model.status_after_reply, case["status"], status) if public else case["status"]
        if not public and status is not None:
            _rule(model.check_transition, case["status"], status)
            next_status = status
        message = Message(text, mail_message_id=mail_id)
        message_id = _insert_message(w, case, message, "agent", public=public)
        if public:
            conn.execute(cases.update().where(cases.c.id == case_id).values(waiting_since=None))
            case["waiting_since"] = None
            w.tell(case, "Case Replied", w.history(case, "replied", message_id=message_id))
        _set_status(w, case, next_status)
        if mailed:
            conn.execute(case_messages.update().where(case_messages.c.id == message_id).values(delivery="sending"))
        w.finish(case)
    if mailed:
        _mail_reply(db, case, message_id, text, actor, mail_id, answers)
    return {"message_id": message_id, "status": case["status"]}


def _last_customer_mail(conn: Connection, case_id: int) -> str | None:
    """The Message-ID of the customer's last mail on the case, for the reply's In-Reply-To and
    References (so mail clients thread it); None when they never mailed, or when it is not one a
    header can safely carry (it came from outside: it is written into no header unless well formed)."""
    found = conn.execute(
        sa.select(case_messages.c.mail_message_id)
        .where(
            case_messages.c.case_id == case_id,
            case_messages.c.author_kind == "customer",
            case_messages.c.mail_message_id.is_not(None),
        )
        .order_by(case_messages.c.at.desc(), case_messages.c.id.desc())
        .limit(1)
    ).scalar()
    return found if found and message_id_problem(found) is None else None


def _mail_reply(
    db: Database,
    case: dict[str, Any],
    message_id: int,
    text: str,
    actor: str,
    mail_id: str | None,
    answers: str | None = None,
) -> None:
    subject = f"Re: {case['subject']} {model.subject_tag(case['reference'])}"
    if header_text_problem(subject) or len(subject) > MAX_SUBJECT:
        subject = f"Your request {model.subject_tag(case['reference'])}"
    outcome = send_message(
        db,
        case["requester_profile_id"],
        channel="email",
        purpose="service",
        subject=subject,
        text=text,
        actor=actor,
        thread_address=case["requester_address"],
        message_id=mail_id,
        in_reply_to=answers,
        references=[answers] if answers else [],
    )
    with db.write() as conn:
        conn.execute(
            case_messages.update()
            .where(case_messages.c.id == message_id)
            .values(delivery=outcome.status, delivery_reason=outcome.reason)
        )


@dataclass
class Changes:
    status: str | None = None
    priority: str | None = None
    topic: str | None = None
    clear_topic: bool = False
    tags: Sequence[str] | None = None
    team: str | None = None
    clear_team: bool = False
    assignee: str | None = None
    unassign: bool = False
    reason: str | None = None


def update_case(db: Database, case_id: int, changes: Changes, *, actor: str) -> dict[str, Any]:
    with db.write() as conn:
        w = Work(conn, actor)
        case = load_case(conn, case_id)
        _writable(case)
        _change_fields(w, case, changes)
        if changes.status is not None:
            _rule(model.check_transition, case["status"], changes.status)
            _set_status(w, case, changes.status)
        if changes.assignee is not None or changes.unassign:
            assign_in(w, case, None if changes.unassign else changes.assignee, changes.reason or "assigned by staff")
        w.finish(case)
    return case


def _change_fields(w: Work, case: dict[str, Any], changes: Changes) -> None:
    updates: dict[str, Any] = {}
    if changes.priority is not None and changes.priority != case["priority"]:
        updates |= {"priority": changes.priority, "priority_rank": _rule(model.check_priority, changes.priority)}
    if changes.topic is not None or changes.clear_topic:
        topic = None if changes.clear_topic else _rule(model.clean_topic, changes.topic)
        if topic != case["topic"]:
            updates["topic"] = topic
    if changes.tags is not None:
        tags = _rule(model.clean_tags, changes.tags)
        if tags != case["tags"]:
            updates["tags"] = tags
    if changes.team is not None or changes.clear_team:
        team = None if changes.clear_team else changes.team
        if team != case["team"]:
            updates["team"] = team
    if not updates:
        return
    w.conn.execute(cases.update().where(cases.c.id == case["id"]).values(**updates))
    w.history(case, "changed", **{k: {"from": case[k], "to": v} for k, v in updates.items() if k != "priority_rank"})
    case.update(updates)
    if {"priority", "topic"} & set(updates):
        apply_policy(w.conn, case, w.actor, w.now)


def capacity_of(conn: Connection, agent: str) -> tuple[int, list[str]]:
    row = conn.execute(sa.select(service_agents).where(service_agents.c.name == agent)).first()
    return (row.capacity, list(row.teams)) if row else (DEFAULT_CAPACITY, [])


def active_load(conn: Connection, agent: str) -> int:
    query = sa.select(sa.func.count()).where(cases.c.assignee == agent, cases.c.status.not_in(TERMINAL))
    return int(conn.execute(query).scalar_one())


def assign_in(w: Work, case: dict[str, Any], agent: str | None, reason: str) -> None:
    """Give the case to `agent` (None: nobody), within the agent's capacity, logged with the reason."""
    if agent == case["assignee"]:
        return
    if agent is not None:
        if not 1 <= len(agent) <= 200:
            raise Invalid("invalid_assignee", "an assignee is a staff member's name (1 to 200 characters)")
        capacity, _teams = capacity_of(w.conn, agent)
        if case["status"] not in TERMINAL and active_load(w.conn, agent) >= capacity:
            raise Conflict("at_capacity", f"{agent} already holds {capacity} active cases, their limit")
    w.conn.execute(cases.update().where(cases.c.id == case["id"]).values(assignee=agent))
    w.history(case, "assigned", assignee=agent, previous=case["assignee"], reason=reason[:500])
    case["assignee"] = agent


def set_agent(db: Database, name: str, capacity: int, teams: Sequence[str], *, actor: str) -> dict[str, Any]:
    if not 1 <= len(name) <= 200:
        raise Invalid("invalid_agent", "an agent is named as their staff token's holder (1 to 200 characters)")
    if not 0 <= capacity <= 1000 or len(teams) > 50 or any(not 1 <= len(t) <= 64 for t in teams):
        raise Invalid("invalid_agent", "capacity is 0 to 1000 cases; teams at most 50 names of 1 to 64 characters")
    values = {"capacity": capacity, "teams": sorted(set(teams)), "updated_at": utcnow()}
    with db.write() as conn:
        if not conn.execute(service_agents.update().where(service_agents.c.name == name).values(**values)).rowcount:
            conn.execute(service_agents.insert().values(name=name, **values))
    return {"name": name, **values}


def merge_cases(db: Database, case_id: int, into_id: int, *, actor: str) -> dict[str, Any]:
    """Merge a duplicate into the case that stays: its messages move over, the customer's wait
    counts from the earlier of the two, and the duplicate is closed pointing at the other."""
    if case_id == into_id:
        raise Invalid("same_case", "a case cannot be merged into itself")
    with db.write() as conn:
        w = Work(conn, actor)
        duplicate, survivor = load_case(conn, case_id), load_case(conn, into_id)
        _writable(duplicate)
        _writable(survivor)
        same = (duplicate["requester_profile_id"] or duplicate["requester_key"]) == (
            survivor["requester_profile_id"] or survivor["requester_key"]
        )
        if not same:
            raise Conflict("different_requesters", "only cases of the same customer can be merged")
        conn.execute(case_messages.update().where(case_messages.c.case_id == case_id).values(case_id=into_id))
        waited = duplicate["waiting_since"] and duplicate["opened_at"]
        if waited and (survivor["waiting_since"] is None or waited < survivor["waiting_since"]):
            conn.execute(cases.update().where(cases.c.id == into_id).values(waiting_since=waited))
            survivor["waiting_since"] = waited
        w.history(survivor, "merged_in", case_id=case_id, waiting_since=waited.isoformat() if waited else None)
        conn.execute(cases.update().where(cases.c.id == case_id).values(merged_into=into_id, assignee=None))
        w.history(duplicate, "merged_into", case_id=into_id)
        _set_status(w, duplicate, "closed")
        duplicate["merged_into"] = into_id
        w.finish(duplicate, survivor)
    return survivor


def active(case: dict[str, Any]) -> bool:
    return case["status"] in ACTIVE and case["merged_into"] is None
