"""Ask or skip: the facts the fatigue rules read (voice/model.py, `ask_or_skip`), gathered in the
caller's transaction, and every decision logged with its reason (table `ask_decisions`, shown on
the Customer 360)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.store import events
from rapport.decide import contact
from rapport.profiles.store import profile_events
from rapport.service.clock import TERMINAL
from rapport.service.store import case_events, case_messages, cases
from rapport.voice.model import AskDecision, AskFacts, FatiguePolicy, VoiceRuleError, ask_or_skip, parse_policy
from rapport.voice.store import ask_decisions, setting, survey_invitations

# The timeline events that count as the customer using the service (the "use" of the ask/use ratio).
USE_EVENTS = ("Case Opened", "Case Message Received", "Order Completed", "Product Reviewed", "Survey Answered")
COMPLAINT = "complaint"  # a case with this topic or tag is a complaint
AUTOMATION_PREFIXES = ("auto", "system", "bot", "rule:")  # actors that are not a person


def fatigue_policy(conn: Connection) -> FatiguePolicy:
    stored = setting(conn, "fatigue")
    if not stored:
        return FatiguePolicy()
    try:
        return parse_policy(stored)
    except VoiceRuleError:  # stored before a rule tightened: the defaults rather than a failure
        return FatiguePolicy()


def contact_policy(
    conn: Connection, profile_id: str, members: list[str], channel: str, now: datetime, *, inbound: bool = False
) -> tuple[bool, str]:
    """The global contact policy shared with marketing (decide/contact.py): what decide presented and
    what the outbox sent on the channel count, survey invitations and reminders among them, against
    the business's limit and the customer's own frequency caps and quiet hours. `profile_id` is the
    canonical id and `members` its merge group, as the callers already read them (`members_of`)."""
    decided = contact.check(conn, profile_id, channel, now, inbound=inbound, members=(profile_id, members))
    return decided.allowed, decided.reason or "within the contact policy"


def _interactions(conn: Connection, members: list[str], since: datetime) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(profile_events.join(events, events.c.id == profile_events.c.event_id))
        .where(
            profile_events.c.profile_id.in_(members),
            profile_events.c.timestamp >= since,
            events.c.event.in_(USE_EVENTS),
        )
    )
    return int(conn.execute(query).scalar_one())


def _sent(conn: Connection, members: list[str], since: datetime) -> tuple[int, datetime | None]:
    """Surveys and reminders that reached them (or were shown) in the window, and when they were
    last asked: one query. A survey that never reached them (suppressed, failed) does not count."""
    inv = survey_invitations.c
    reached = inv.sent_status.not_in(("suppressed", "failed"))
    asked, reminded, last, last_reminder = conn.execute(
        sa.select(
            sa.func.count().filter(inv.created_at >= since, reached),
            sa.func.count().filter(inv.reminded_at >= since, reached),
            sa.func.max(inv.created_at).filter(reached),
            sa.func.max(inv.reminded_at).filter(reached),
        ).where(inv.profile_id.in_(members))
    ).one()
    latest = max((t for t in (last, last_reminder) if t is not None), default=None)
    return int(asked) + int(reminded), latest


def open_complaint(conn: Connection, members: list[str]) -> str | None:
    rows = conn.execute(
        sa.select(cases.c.reference, cases.c.topic, cases.c.tags).where(
            cases.c.requester_profile_id.in_(members), cases.c.status.not_in(TERMINAL), cases.c.merged_into.is_(None)
        )
    )
    for reference, topic, tags in rows:
        if topic == COMPLAINT or COMPLAINT in (tags or []):
            return str(reference)
    return None


def _case_facts(conn: Connection, case_id: int | None) -> tuple[bool, datetime | None]:
    """Whether automation closed the case, and when the customer last wrote on it."""
    if case_id is None:
        return False, None
    solved_by = conn.execute(
        sa.select(case_events.c.actor, case_events.c.data)
        .where(case_events.c.case_id == case_id, case_events.c.kind == "status")
        .order_by(case_events.c.id.desc())
    ).all()
    closer = next((actor for actor, data in solved_by if (data or {}).get("to") in TERMINAL), None)
    automatic = closer is not None and str(closer).lower().startswith(AUTOMATION_PREFIXES)
    last = conn.execute(
        sa.select(sa.func.max(case_messages.c.at)).where(
            case_messages.c.case_id == case_id, case_messages.c.author_kind == "customer"
        )
    ).scalar()
    return automatic, last


def gather(
    conn: Connection,
    profile_id: str,
    members: list[str],
    policy: FatiguePolicy,
    now: datetime,
    *,
    channel: str | None,
    case_id: int | None,
    delivery: str = "email",
) -> AskFacts:
    """The facts of one ask-or-skip. `channel` is the touchpoint's (its reply window); the contact
    policy is asked for the channel the survey reaches the person on: a mail is outbound, a survey in
    the portal or embedded in a page or an app meets them where they already are."""
    since = now - timedelta(days=policy.window_days)
    sent, last = _sent(conn, members, since)
    automatic, last_message = _case_facts(conn, case_id)
    return AskFacts(
        sent_in_window=sent,
        interactions_in_window=_interactions(conn, members, since),
        last_sent_at=last,
        open_complaint=open_complaint(conn, members),
        auto_resolved=automatic,
        channel=channel,
        last_customer_message_at=last_message,
        contact_policy=contact_policy(
            conn, profile_id, members, "email" if delivery == "email" else "web", now, inbound=delivery != "email"
        ),
    )


def decide(
    conn: Connection,
    profile_id: str,
    members: list[str],
    survey: dict[str, Any],
    touchpoint: str,
    now: datetime,
    **at: Any,
) -> tuple[AskDecision, int]:
    """Ask or skip, logged with its reason in the caller's (write) transaction: the decision and its row id."""
    policy = fatigue_policy(conn)
    facts = gather(conn, profile_id, members, policy, now, delivery=survey.get("delivery") or "email", **at)
    decision = ask_or_skip(facts, policy, now)
    values = {
        "profile_id": profile_id,
        "at": now,
        "survey_id": survey["id"],
        "touchpoint": touchpoint[:120],
        "asked": decision.ask,
        "rule": decision.rule,
        "reason": decision.reason,
    }
    row_id = int(conn.execute(ask_decisions.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    return decision, row_id


def decide_reminder(
    conn: Connection, profile_id: str, members: list[str], invitation_id: int, now: datetime
) -> AskDecision:
    """The one reminder of an unanswered survey: a contact like any other, so the contact policy and
    an open complaint can stop it; logged as a decision on the invitation (touchpoint `reminder`)."""
    complaint = open_complaint(conn, members)
    allowed, why = contact_policy(conn, profile_id, members, "email", now)
    if complaint:
        decision = AskDecision(False, "open_complaint", f"a complaint is open (case {complaint})")
    elif not allowed:
        decision = AskDecision(False, "contact_policy", f"the contact policy refuses: {why}")
    else:
        decision = AskDecision(True, "asked", "one reminder of a survey not answered yet")
    survey_id = conn.execute(
        sa.select(survey_invitations.c.survey_id).where(survey_invitations.c.id == invitation_id)
    ).scalar_one()
    values = {
        "profile_id": profile_id,
        "at": now,
        "survey_id": survey_id,
        "touchpoint": "reminder",
        "asked": decision.ask,
        "rule": decision.rule,
        "reason": decision.reason,
        "invitation_id": invitation_id,
    }
    conn.execute(ask_decisions.insert().values(**values))
    return decision
