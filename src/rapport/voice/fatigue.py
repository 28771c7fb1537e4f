"""Ask or skip: the facts the fatigue rules read (voice/model.py, `ask_or_skip`), gathered in the
caller's transaction, and every decision logged with its reason (table `ask_decisions`, shown on
the Customer 360)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.store import events
from rapport.consent.model import Preferences
from rapport.db.metadata import UTCDateTime
from rapport.decide import contact
from rapport.decide.actions_model import Settings
from rapport.profiles.store import profile_events
from rapport.service.clock import TERMINAL
from rapport.service.store import case_events, case_messages, cases
from rapport.voice.model import AskDecision, AskFacts, FatiguePolicy, VoiceRuleError, ask_or_skip, parse_policy
from rapport.voice.store import ask_decisions, setting, setting_document, survey_invitations

# The timeline events that count as the customer using the service (the "use" of the ask/use ratio).
USE_EVENTS = ("Case Opened", "Case Message Received", "Order Completed", "Product Reviewed", "Survey Answered")
COMPLAINT = "complaint"  # a case with this topic or tag is a complaint
AUTOMATION_PREFIXES = ("auto", "system", "bot", "rule:")  # actors that are not a person


def _policy_of(document: Any) -> FatiguePolicy:
    if not isinstance(document, dict) or not document:
        return FatiguePolicy()
    try:
        return parse_policy(document)
    except VoiceRuleError:  # stored before a rule tightened: the defaults rather than a failure
        return FatiguePolicy()


def fatigue_policy(conn: Connection) -> FatiguePolicy:
    return _policy_of(setting(conn, "fatigue"))


def contact_policy(
    conn: Connection,
    profile_id: str,
    members: list[str],
    channel: str,
    now: datetime,
    *,
    inbound: bool = False,
    read: tuple[Settings, Preferences] | None = None,
) -> tuple[bool, str]:
    """The global contact policy shared with marketing (decide/contact.py): what decide presented and
    what the outbox sent on the channel count, survey invitations and reminders among them, against
    the business's limit and the customer's own frequency caps and quiet hours. `profile_id` is the
    canonical id and `members` its merge group, as the callers already read them (`members_of`);
    `read`: the contact settings and the person's preferences, when the caller read them already."""
    settings, prefs = read or (None, None)
    decided = contact.check(
        conn, profile_id, channel, now, inbound=inbound, members=(profile_id, members), settings=settings, prefs=prefs
    )
    return decided.allowed, decided.reason or "within the contact policy"


def _ids() -> sa.BindParameter[Any]:
    return sa.bindparam("ids", expanding=True)  # the person's merge group


def _since() -> sa.BindParameter[Any]:
    return sa.bindparam("since", type_=UTCDateTime)  # the start of the policy's window


# The rules' inputs in one round trip: the fatigue policy, the contact policy's settings and the
# person's preferences (bound as `pid`).
_INPUTS = contact.inputs(setting_document("fatigue").scalar_subquery().label("fatigue"))

# The person's facts in one round trip (the window's start depends on the policy, so it comes second).
_inv = survey_invitations.c
_REACHED = _inv.sent_status.not_in(("suppressed", "failed"))  # a survey that never reached them does not count
_SENT = (
    sa.select(
        sa.func.count().filter(_inv.created_at >= _since(), _REACHED).label("asked"),
        sa.func.count().filter(_inv.reminded_at >= _since(), _REACHED).label("reminded"),
        sa.func.max(_inv.created_at).filter(_REACHED).label("last_asked"),
        sa.func.max(_inv.reminded_at).filter(_REACHED).label("last_reminded"),
    )
    .where(_inv.profile_id.in_(_ids()))
    .subquery("sent")
)
_USES = (
    sa.select(sa.func.count())
    .select_from(profile_events.join(events, events.c.id == profile_events.c.event_id))
    .where(
        profile_events.c.profile_id.in_(_ids()),
        profile_events.c.timestamp >= _since(),
        events.c.event.in_(USE_EVENTS),
    )
    .scalar_subquery()
)
_LAST_MESSAGE = (  # when the customer last wrote on the case (its reply window)
    sa.select(sa.func.max(case_messages.c.at))
    .where(case_messages.c.case_id == sa.bindparam("case_id"), case_messages.c.author_kind == "customer")
    .scalar_subquery()
)
_FACTS = sa.select(_SENT, _USES.label("uses"), _LAST_MESSAGE.label("last_message")).select_from(_SENT)
_OPEN_CASES = sa.select(cases.c.reference, cases.c.topic, cases.c.tags).where(
    cases.c.requester_profile_id.in_(_ids()), cases.c.status.not_in(TERMINAL), cases.c.merged_into.is_(None)
)
_CLOSERS = (
    sa.select(case_events.c.actor, case_events.c.data)
    .where(case_events.c.case_id == sa.bindparam("case_id"), case_events.c.kind == "status")
    .order_by(case_events.c.id.desc())
)


def open_complaint(conn: Connection, members: list[str]) -> str | None:
    for reference, topic, tags in conn.execute(_OPEN_CASES, {"ids": members}):
        if topic == COMPLAINT or COMPLAINT in (tags or []):
            return str(reference)
    return None


def _closed_by_automation(conn: Connection, case_id: int | None) -> bool:
    if case_id is None:
        return False
    solved_by = conn.execute(_CLOSERS, {"case_id": case_id}).all()
    closer = next((actor for actor, data in solved_by if (data or {}).get("to") in TERMINAL), None)
    return closer is not None and str(closer).lower().startswith(AUTOMATION_PREFIXES)


def gather(
    conn: Connection,
    profile_id: str,
    members: list[str],
    now: datetime,
    *,
    channel: str | None,
    case_id: int | None,
    delivery: str = "email",
) -> tuple[FatiguePolicy, AskFacts]:
    """The policy and the facts of one ask-or-skip. `channel` is the touchpoint's (its reply window);
    the contact policy is asked for the channel the survey reaches the person on: a mail is outbound,
    a survey in the portal or embedded in a page or an app meets them where they already are."""
    inputs = conn.execute(_INPUTS, {"pid": profile_id}).one()
    policy = _policy_of(inputs.fatigue)
    since = now - timedelta(days=policy.window_days)
    facts = conn.execute(_FACTS, {"ids": members, "since": since, "case_id": case_id}).one()
    sent_last = max((t for t in (facts.last_asked, facts.last_reminded) if t is not None), default=None)
    return policy, AskFacts(
        sent_in_window=int(facts.asked) + int(facts.reminded),
        interactions_in_window=int(facts.uses),
        last_sent_at=sent_last,
        open_complaint=open_complaint(conn, members),
        auto_resolved=_closed_by_automation(conn, case_id),
        channel=channel,
        last_customer_message_at=facts.last_message,
        contact_policy=contact_policy(
            conn,
            profile_id,
            members,
            "email" if delivery == "email" else "web",
            now,
            inbound=delivery != "email",
            read=contact.inputs_of(inputs),
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
    policy, facts = gather(conn, profile_id, members, now, delivery=survey.get("delivery") or "email", **at)
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
