"""A case's SLA clocks, read from its history; the policy that applies to it; its due time kept for
the queue's index.

The clocks themselves are computed when read (service/sla.py). The one thing stored is the next due
time (`cases.next_due_at`), rewritten in the transaction of every change to the case or to the
policies and calendars, so that the queue can order a hundred thousand open cases by an index. It
only moves when something happens: due times are instants fixed by the history and the calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.kernel.clock import utcnow
from rapport.service.model import choose_policy
from rapport.service.policies import load_calendars, load_policies
from rapport.service.sla import Moment, SlaState, Targets, compute
from rapport.service.store import case_events, case_history, cases

TERMINAL = ("solved", "closed")


def _moment(event: dict[str, Any]) -> Moment | None:
    kind, data, at = event["kind"], event["data"] or {}, event["at"]
    if kind == "opened":
        return Moment(at, "status", status="new")
    if kind == "status":
        return Moment(at, "status", status=data.get("to"))
    if kind == "message" and data.get("public") and data.get("author_kind") != "assistant":  # a bot is no reply
        return Moment(at, "customer" if data.get("author_kind") == "customer" else "reply")
    if kind == "policy":
        targets = Targets(**data["targets"]) if data.get("targets") else None
        return Moment(at, "policy", targets=targets, calendar=data.get("calendar"), policy=data.get("name"))
    if kind == "merged_in" and data.get("waiting_since"):
        return Moment(at, "waiting_since", since=datetime.fromisoformat(data["waiting_since"]))
    return None


def moments(history: list[dict[str, Any]]) -> list[Moment]:
    return [m for event in history if (m := _moment(event)) is not None]


def sla_of(conn: Connection, case_id: int, now: datetime | None = None) -> SlaState:
    return compute(moments(case_history(conn, case_id)), load_calendars(conn), now or utcnow())


def _last_policy(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = [e["data"] for e in history if e["kind"] == "policy"]
    return found[-1] if found else None


def apply_policy(conn: Connection, case: dict[str, Any], actor: str, now: datetime) -> None:
    """Record the policy the case's channel, topic and priority choose, when it (or its targets)
    differ from the one in force: it counts from now, on the time already spent."""
    policies = load_policies(conn)
    name = choose_policy([p.rule for p in policies.values()], case["channel"], case["topic"], case["priority"])
    snapshot = policies[name].snapshot() if name else {"name": None, "calendar": None, "targets": None}
    history = case_history(conn, case["id"])
    if _last_policy(history) == snapshot:
        return
    conn.execute(case_events.insert().values(case_id=case["id"], at=now, kind="policy", actor=actor, data=snapshot))
    conn.execute(cases.update().where(cases.c.id == case["id"]).values(policy=name))
    case["policy"] = name


def refresh(conn: Connection, case_id: int, now: datetime) -> SlaState:
    """The case's clocks as they now stand; its next due time stored for the queue."""
    state = sla_of(conn, case_id, now)
    conn.execute(cases.update().where(cases.c.id == case_id).values(next_due_at=state.next_due_at, updated_at=now))
    return state


def reapply_policies(conn: Connection, actor: str) -> int:
    """After a policy or calendar changed: every case still in progress takes the policy that now
    applies to it (from now on), and its due time moves. Answers how many cases it looked at."""
    now = utcnow()
    rows = conn.execute(
        sa.select(cases).where(cases.c.status.not_in(TERMINAL), cases.c.merged_into.is_(None)).order_by(cases.c.id)
    ).all()
    for row in rows:
        case = dict(row._mapping)
        apply_policy(conn, case, actor, now)
        state = sla_of(conn, case["id"], now)
        conn.execute(cases.update().where(cases.c.id == case["id"]).values(next_due_at=state.next_due_at))
    return len(rows)
