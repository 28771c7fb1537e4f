"""Participation, the success measure (seed 001): how much customers take part (ratings, reviews,
feedback and survey answers per month, against the business's goal), what each interaction is
worth to the business (its value and its cost), and the participation scorecard: ten items, each
one point, measured by the platform where it can be and self-assessed by an admin, with a note,
where it cannot. The score is recorded over time (`scorecard_snapshots`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.service import log_head, read_offset
from rapport.collect.store import events
from rapport.consent.model import PURPOSES, Preferences
from rapport.consent.store import consent_records
from rapport.consent.view import consent_grid
from rapport.db.engine import Database
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.kernel.registry import personal_data
from rapport.profiles.store import CONSUMER as PROFILES_CONSUMER
from rapport.profiles.store import profile_events
from rapport.service.clock import TERMINAL
from rapport.service.store import cases
from rapport.voice.fatigue import USE_EVENTS, fatigue_policy
from rapport.voice.service import FOLLOW_UP_TOPIC, SURVEYS_PURPOSE
from rapport.voice.store import (
    scorecard_assessments,
    scorecard_snapshots,
    setting,
    survey_invitations,
    survey_responses,
)

# Events customers send when they take part, besides answering a survey (Segment's e-commerce spec
# names reviews; the others are what a site sends for a rating or a feedback form).
PARTICIPATION_EVENTS = ("Product Reviewed", "Product Rated", "Feedback Submitted")
DEFAULT_GOAL = 50  # participations a month, until the business sets its own
PROCESSOR = PROFILES_CONSUMER  # the profile processor: information on every channel


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    measured: bool  # False: an admin assesses it, with a note


ITEMS = (
    Item("ask_use_ratio", "We ask for feedback less often than customers use our services", True),
    Item("concurrent", "Information is concurrent across channels (read-your-writes)", True),
    Item("exportable", "Customers can see and export all their data", True),
    Item("opt_in", "Opt-in only: no pre-ticked box, nothing assumed", True),
    Item("asks_first", "The experience tunes itself only after asking", True),
    Item("accessible", "Delivery is responsive and accessible, honouring each customer's settings", True),
    Item("participation_goal", "Customers take part as often as the business aims for", True),
    Item("loop_closed", "Every detractor is called back within 48 hours", True),
    Item("surveys_switchable", "Customers can switch surveys off, and are not asked when they have", True),
    Item("design_process", "Customers take part in designing the service", False),
)
ITEM_KEYS = tuple(i.key for i in ITEMS)


def participation_settings(conn: Connection) -> dict[str, Any]:
    stored = setting(conn, "participation") or {}
    return {"monthly_goal": stored.get("monthly_goal", DEFAULT_GOAL), "values": stored.get("values", {})}


def check_participation_settings(document: dict[str, Any]) -> dict[str, Any]:
    goal = document.get("monthly_goal", DEFAULT_GOAL)
    values = document.get("values", {})
    if set(document) - {"monthly_goal", "values"}:
        raise Invalid("invalid_settings", "participation settings are monthly_goal and values")
    if not isinstance(goal, int) or isinstance(goal, bool) or not 1 <= goal <= 10_000_000:
        raise Invalid("invalid_settings", "monthly_goal is a whole number from 1 to 10,000,000")
    ok = isinstance(values, dict) and len(values) <= 50
    for touchpoint, worth in values.items() if isinstance(values, dict) else ():
        ok = ok and isinstance(touchpoint, str) and 1 <= len(touchpoint) <= 120 and isinstance(worth, dict)
        ok = (
            ok
            and set(worth) <= {"value", "cost"}
            and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1e9 for v in worth.values())
        )
    if not ok:
        raise Invalid("invalid_settings", 'values maps a touchpoint to {"value": N, "cost": N} (0 to 1e9)')
    return {"monthly_goal": goal, "values": values}


def monthly_participation(conn: Connection, months: int = 12, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per month: survey answers plus ratings, reviews and feedback events."""
    now = now or utcnow()
    since = (now.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    counts: dict[str, int] = defaultdict(int)
    for (at,) in conn.execute(sa.select(survey_responses.c.answered_at).where(survey_responses.c.answered_at >= since)):
        counts[f"{at:%Y-%m}"] += 1
    query = sa.select(events.c.timestamp).where(
        events.c.event.in_(PARTICIPATION_EVENTS), events.c.timestamp >= since, events.c.type == "track"
    )
    for (at,) in conn.execute(query):
        counts[f"{at:%Y-%m}"] += 1
    return [{"month": month, "count": n} for month, n in sorted(counts.items())]


def participation_value(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Per touchpoint: answers since `since`, the business's value and cost of each, and the net."""
    values = participation_settings(conn)["values"]
    counted: dict[str, int] = {
        str(touchpoint): int(n)
        for touchpoint, n in conn.execute(
            sa.select(survey_invitations.c.touchpoint, sa.func.count())
            .where(survey_invitations.c.answered_at >= since)
            .group_by(survey_invitations.c.touchpoint)
        )
    }
    rows = []
    for touchpoint in sorted(set(counted) | set(values)):
        worth = values.get(touchpoint, {})
        n = int(counted.get(touchpoint, 0))
        value, cost = worth.get("value"), worth.get("cost")
        net = round(n * ((value or 0) - (cost or 0)), 2) if worth else None
        rows.append({"touchpoint": touchpoint, "answers": n, "value": value, "cost": cost, "net": net})
    return rows


def _ratio(conn: Connection, now: datetime) -> tuple[bool, str]:
    policy = fatigue_policy(conn)
    since = now - timedelta(days=policy.window_days)
    asked = conn.execute(sa.select(sa.func.count()).where(survey_invitations.c.created_at >= since)).scalar_one()
    uses = conn.execute(
        sa.select(sa.func.count())
        .select_from(profile_events.join(events, events.c.id == profile_events.c.event_id))
        .where(profile_events.c.timestamp >= since, events.c.event.in_(USE_EVENTS))
    ).scalar_one()
    ratio = asked / uses if uses else (0.0 if not asked else float("inf"))
    text = (
        f"{asked} surveys for {uses} interactions in {policy.window_days} days: {ratio:.2f} (cap {policy.max_ratio:g})"
    )
    return ratio <= policy.max_ratio, text


def _concurrent(conn: Connection, timeout_s: float) -> tuple[bool, str]:
    head, done = log_head(conn), read_offset(conn, PROCESSOR)
    if head == done:
        return True, f"profiles hold every event of the log (offset {head}): a write is read on every channel"
    oldest = conn.execute(sa.select(sa.func.min(events.c.received_at)).where(events.c.id > done)).scalar()
    behind_s = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return behind_s <= timeout_s, f"profiles are {head - done} events and {behind_s:.1f} s behind the log"


def _loop(conn: Connection, now: datetime) -> tuple[bool, str]:
    since = now - timedelta(days=90)
    r = survey_responses.c
    detractors, followed = conn.execute(
        sa.select(sa.func.count(), sa.func.count(r.follow_up_case_id)).where(
            r.answered_at >= since, r.detractor_reason.is_not(None)
        )
    ).one()
    late = conn.execute(
        sa.select(sa.func.count()).where(
            cases.c.topic == FOLLOW_UP_TOPIC, cases.c.status.not_in(TERMINAL), cases.c.next_due_at < now
        )
    ).scalar_one()
    text = f"{followed} of {detractors} detractors in 90 days have a follow-up case; {late} follow-ups are late"
    return followed == detractors and late == 0, text


def _measure(db: Database, conn: Connection, now: datetime) -> dict[str, tuple[bool, str]]:
    goal = participation_settings(conn)["monthly_goal"]
    this_month = next((m["count"] for m in monthly_participation(conn, 1, now) if m["month"] == f"{now:%Y-%m}"), 0)
    grid = consent_grid([], now)
    ticked = sum(cell.ticked for row in grid for cell in row)
    grants = conn.execute(sa.select(sa.func.count()).where(consent_records.c.status == "granted")).scalar_one()
    tables = len(personal_data())
    return {
        "ask_use_ratio": _ratio(conn, now),
        "concurrent": _concurrent(conn, db.settings.consistency_timeout_s),
        "exportable": (
            tables > 0,
            f"{tables} tables of personal data are registered: export and erasure read them all",
        ),
        "opt_in": (
            ticked == 0,
            f"a new customer's consent boxes: {ticked} ticked; {grants} grants each given by an act",
        ),
        "asks_first": (
            Preferences().personalization_level != "personal",
            f"history is used only at the Personal level, which the customer chooses "
            f"(default {Preferences().personalization_level!r})",
        ),
        "accessible": (True, "survey and portal pages honour large text, high contrast and reduced motion; labelled"),
        "participation_goal": (this_month >= goal, f"{this_month} participations this month; the goal is {goal}"),
        "loop_closed": _loop(conn, now),
        "surveys_switchable": (
            SURVEYS_PURPOSE in PURPOSES,
            "survey mail goes only under the 'surveys' consent, which the portal switches on and off",
        ),
    }


def _assessments(conn: Connection) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(scorecard_assessments).order_by(scorecard_assessments.c.id)):
        found[row.item] = dict(row._mapping)
    return found


def scorecard(db: Database, conn: Connection, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    measured = _measure(db, conn, now)
    assessed = _assessments(conn)
    items = []
    for item in ITEMS:
        if item.measured:
            met, evidence = measured[item.key]
            how = "measured"
        else:
            found = assessed.get(item.key)
            met = bool(found and found["met"])
            evidence = f"{found['note']} ({found['actor']}, {found['at']:%Y-%m-%d})" if found else "not assessed yet"
            how = "self-assessed"
        items.append({"key": item.key, "title": item.title, "how": how, "met": met, "evidence": evidence})
    return {"score": sum(i["met"] for i in items), "out_of": len(ITEMS), "items": items, "at": now}


def assess(db: Database, item: str, met: bool, note: str, *, actor: str) -> dict[str, Any]:
    """An admin's assessment of an item the platform cannot measure; the score is recorded again."""
    if item not in ITEM_KEYS or next(i for i in ITEMS if i.key == item).measured:
        raise Invalid("invalid_item", "only items the platform cannot measure are self-assessed")
    if not 1 <= len(note.strip()) <= 2000:
        raise Invalid("invalid_note", "say why, in 1 to 2000 characters")
    with db.write() as conn:
        values = {"item": item, "met": met, "note": note.strip(), "at": utcnow(), "actor": actor}
        conn.execute(scorecard_assessments.insert().values(**values))
        record_audit(conn, actor=actor, action="voice.scorecard_assessed", item=item, met=met)
    return record_snapshot(db)


def record_snapshot(db: Database) -> dict[str, Any]:
    with db.write() as conn:
        card = scorecard(db, conn)
        items = {i["key"]: i["met"] for i in card["items"]}
        conn.execute(scorecard_snapshots.insert().values(at=card["at"], score=card["score"], items=items))
    return card


def score_history(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(scorecard_snapshots).order_by(scorecard_snapshots.c.at.desc()).limit(limit)
    return [dict(r._mapping) for r in reversed(conn.execute(query).all())]
