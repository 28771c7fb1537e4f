"""The queue: the next case for an agent, fair by construction.

Cases are ordered by their own attributes only: the SLA due time, then priority, then how long the
customer has waited (model.queue_key). This module reads nothing else about a customer: not their
profile, not their spending, and not their following, which lives in service/influence.py where an
import contract keeps this module (and everything it imports) from reaching it. Two identical
complaints therefore stand in the same place whoever sent them (tests/api/test_service_queue.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.kernel.errors import Conflict
from rapport.service.model import ACTIVE, queue_key
from rapport.service.service import Work, active_load, assign_in, capacity_of, load_case
from rapport.service.store import cases

# The order, as the index ix_cases_queue serves it: due time (none last), priority, waiting since.
QUEUE_ORDER = (
    cases.c.next_due_at.is_(None),
    cases.c.next_due_at,
    cases.c.priority_rank,
    cases.c.waiting_since.is_(None),
    cases.c.waiting_since,
    cases.c.id,
)
QUEUE_COLUMNS = (cases.c.id, cases.c.next_due_at, cases.c.priority_rank, cases.c.waiting_since)


def _waiting(agent: str, teams: list[str]) -> sa.Select[Any]:
    """Active cases nobody holds (or this agent holds), of no team or one of the agent's teams."""
    mine_or_free = sa.or_(cases.c.assignee.is_(None), cases.c.assignee == agent)
    team = cases.c.team.is_(None) if not teams else sa.or_(cases.c.team.is_(None), cases.c.team.in_(teams))
    return (
        sa.select(*QUEUE_COLUMNS)
        .where(cases.c.status.in_(ACTIVE), cases.c.merged_into.is_(None), mine_or_free, team)
        .order_by(*QUEUE_ORDER)
    )


def next_for(conn: Connection, agent: str) -> dict[str, Any] | None:
    """The case the agent should take next, without taking it."""
    _capacity, teams = capacity_of(conn, agent)
    row = conn.execute(_waiting(agent, teams).limit(1)).first()
    return dict(row._mapping) if row else None


def standing(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The whole queue in order (any team), as the console lists it."""
    query = (
        sa.select(*QUEUE_COLUMNS)
        .where(cases.c.status.in_(ACTIVE), cases.c.merged_into.is_(None))
        .order_by(*QUEUE_ORDER)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def take_next(db: Database, agent: str, *, actor: str) -> dict[str, Any] | None:
    """Assign the agent the next case, within their capacity, logging why it was theirs."""
    with db.write() as conn:
        capacity, _teams = capacity_of(conn, agent)
        if active_load(conn, agent) >= capacity:
            raise Conflict("at_capacity", f"you already hold {capacity} active cases, your limit")
        head = next_for(conn, agent)
        if head is None:
            return None
        key = queue_key(head)
        case = load_case(conn, head["id"])
        if case["assignee"] == agent:
            return case
        w = Work(conn, actor)
        due = f"due {key.due_at:%Y-%m-%d %H:%M} UTC" if key.due_at else "no promise running"
        waited = f", waiting since {key.waiting_since:%Y-%m-%d %H:%M} UTC" if key.waiting_since else ""
        assign_in(w, case, agent, f"next in the queue: {due}, priority {case['priority']}{waited}")
        w.finish(case)
    return case
