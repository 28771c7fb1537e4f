"""Next best actions for one decision: every enabled action goes through the engagement policies
(eligibility, applicability, suitability), the suppression after a "no" and the contact policy;
those left are ranked by propensity x value x lever x context weight, and shown when they outrank
"do nothing", which is always there.

What it reads of the person follows the decision's scope (decide/service.py `scope_of`, the one
permission check): traits and what they own only at level `personal`, and an offer whose
eligibility reads the profile also needs `profiling` consent (the check again). Service cases and a
detractor's answer are read at every level: they only ever hold an offer back, in the customer's
interest. A stranger (no profile) gets only actions that read nothing of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.collect.store import events
from rapport.consent.service import check_permission_for
from rapport.decide import actions_model as am
from rapport.decide import contact, model
from rapport.decide.actions_store import (
    action_stats,
    answers_of,
    load_actions,
    load_policies,
    load_settings,
    load_stats,
    presentations,
)
from rapport.decide.service import CONSENT_CHANNELS, Ask, Person, Scope
from rapport.decide.store import load_items
from rapport.profiles.store import profile_events, profile_traits

SHOWN = 3  # actions shown at most, besides "do nothing"
INBOUND = frozenset({"web", "mobile", "in_store", "phone"})  # the customer is with us on these


@dataclass
class Chosen:
    shown: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)  # what was not shown, and why
    contact: str | None = None


def traits_of(conn: Connection, members: list[str]) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(
            profile_traits.c.key, profile_traits.c.value, profile_traits.c.asserted, profile_traits.c.observed_at
        ).where(profile_traits.c.profile_id.in_(members))
    ).all()
    latest: dict[str, Any] = {}
    for row in rows:  # asserted first, then newest, as the Customer 360 shows them
        if row.key not in latest or (latest[row.key].asserted, latest[row.key].observed_at) < (
            row.asserted,
            row.observed_at,
        ):
            latest[row.key] = row
    return {k: r.value for k, r in latest.items()}


def signal_events(conn: Connection, members: list[str]) -> list[tuple[str, dict[str, Any], datetime]]:
    """The person's case and survey events, oldest first."""
    rows = conn.execute(
        sa.select(events.c.event, events.c.payload, events.c.timestamp)
        .select_from(profile_events.join(events, events.c.id == profile_events.c.event_id))
        .where(
            profile_events.c.profile_id.in_(members),
            sa.or_(events.c.event.like("Case %"), events.c.event == "Survey Answered"),
        )
        .order_by(events.c.timestamp, events.c.id)
    )
    found = []
    for name, payload, at in rows:
        if isinstance(payload, str | bytes):
            payload = orjson.loads(payload)
        properties = payload.get("properties") if isinstance(payload, dict) else None
        found.append((name, properties if isinstance(properties, dict) else {}, at))
    return found


def _facts(conn: Connection, person: Person, scope: Scope, now: datetime) -> am.Facts:
    if person.profile_id is None or scope.level != "personal":
        return am.Facts()
    owned = model.ownership(scope.lines)
    catalog = load_items(conn, sorted(owned))
    due = {item_id: model.due(o, None, now) for item_id, o in owned.items()}
    kinds = {item_id: item.kind for item_id, item in catalog.items()}
    return am.Facts(traits_of(conn, list(person.members)), owned, kinds, due)


def next_best_actions(conn: Connection, person: Person, ask: Ask, scope: Scope, now: datetime) -> Chosen:
    catalogue = [a for a in load_actions(conn) if a.enabled]
    chosen = Chosen()
    if not catalogue:  # nothing to arbitrate: read nothing more
        chosen.shown = _shown([am.rank(am.DO_NOTHING_ACTION, am.Stats(), ask.placement, ask.channel)])
        return chosen
    settings = load_settings(conn)
    policies = [p for p in load_policies(conn) if p.enabled]
    channel = CONSENT_CHANNELS.get(ask.channel, ask.channel)
    facts = _facts(conn, person, scope, now)
    signals, answers = am.Signals(), {}
    if person.profile_id is not None:
        members = list(person.members)
        signals = am.signals_of(signal_events(conn, members), settings, now)
        longest = max(settings.suppress_days.values(), default=0)
        answers = answers_of(conn, members, now - timedelta(days=longest))
        inbound = channel in INBOUND and ask.placement != "email"
        group = (person.profile_id, members)
        allowed = contact.check(
            conn, person.profile_id, channel, now, inbound=inbound, settings=settings, members=group
        )
        if not allowed:
            chosen.contact = allowed.reason
    stats = load_stats(conn, [a.id for a in catalogue])
    prices = {i.id: i.price for i in load_items(conn, sorted({a.item_id for a in catalogue if a.item_id})).values()}
    situation = am.Situation(
        ask.placement, ask.channel, now, facts, signals, answers, stats, prices, chosen.contact, settings
    )
    profiling: list[bool] = []

    def may_profile() -> bool:  # asked once, and only when an offer's eligibility was met
        if not profiling:
            assert person.profile_id is not None  # eligibility was met: the profile was read
            profiling.append(bool(check_permission_for(conn, person.profile_id, "profiling", channel, now=now)))
        return profiling[0]

    ranked, chosen.held = am.choose(catalogue, policies, situation, may_profile, SHOWN)
    chosen.shown = _shown(ranked)
    return chosen


def _shown(ranked: list[am.Ranked]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.action.id,
            "kind": r.action.kind,
            "title": r.action.title,
            "text": r.action.text,
            "url": r.action.url,
            "factors": dict(r.factors),
        }
        for r in ranked
    ]


PUBLIC = ("id", "kind", "title", "text", "url")


def public_actions(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: a[k] for k in PUBLIC} for a in shown]


def record_presentations(conn: Connection, profile_id: str | None, decision: dict[str, Any]) -> None:
    """The actions a decision presented (not "do nothing"): the contact policy counts them and each
    counts once as shown for its propensity. In the decision's transaction."""
    shown = [a["id"] for a in decision.get("actions", []) if a["id"] != am.DO_NOTHING]
    if not shown or profile_id is None:
        return
    channel = CONSENT_CHANNELS.get(decision["channel"], decision["channel"])
    conn.execute(
        presentations.insert(),
        [
            {
                "decision_id": decision["decision_id"],
                "action_id": action_id,
                "profile_id": profile_id,
                "channel": channel,
                "placement": decision["placement"],
                "at": decision["decided_at"],
            }
            for action_id in shown
        ],
    )
    count(conn, shown, "shown")


_ZERO = {"shown": 0, "accepted": 0, "dismissed": 0, "not_interested": 0}
_COUNTS: dict[tuple[str, str], Any] = {}  # (dialect, column) -> the upsert, built once so its compiled form is cached


def _upsert(dialect: str, column: str) -> Any:
    statement = _COUNTS.get((dialect, column))
    if statement is None:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(action_stats)
        statement = insert.on_conflict_do_update(
            index_elements=["action_id"], set_={column: action_stats.c[column] + 1}
        )
        _COUNTS[(dialect, column)] = statement
    return statement


def count(conn: Connection, action_ids: list[str], column: str) -> None:
    """Add one to `column` of each action's counts (the row made at its first count)."""
    if action_ids:
        rows = [{"action_id": a, **_ZERO, column: 1} for a in action_ids]
        conn.execute(_upsert(conn.dialect.name, column), rows)
