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

# The order is model.queue_key's: due time (none last), priority, waiting since (none last), id.
QUEUE_COLUMNS = (cases.c.id, cases.c.next_due_at, cases.c.priority_rank, cases.c.waiting_since)


def _open_to(agent: str, teams: list[str]) -> list[sa.ColumnElement[bool]]:
    """Cases nobody else holds (or this agent holds), of no team or one of the agent's teams."""
    mine_or_free = sa.or_(cases.c.assignee.is_(None), cases.c.assignee == agent)
    team = cases.c.team.is_(None) if not teams else sa.or_(cases.c.team.is_(None), cases.c.team.in_(teams))
    return [cases.c.merged_into.is_(None), mine_or_free, team]


def _first(conn: Connection, where: list[sa.ColumnElement[bool]], *order: Any) -> dict[str, Any] | None:
    row = conn.execute(sa.select(*QUEUE_COLUMNS).where(*where).order_by(*order).limit(1)).first()
    return dict(row._mapping) if row else None


def _head(conn: Connection, status: str, due: bool, open_to: list[sa.ColumnElement[bool]]) -> dict[str, Any] | None:
    """The first case of one status, with or without a due time, in the queue's order. Each query
    walks ix_cases_queue (status, next_due_at, priority_rank, waiting_since) from its start and stops
    at the first case the agent may take, so 100,000 open cases cost what ten do. The index keeps a
    missing waiting time first where the queue wants it last: among the cases tied with the first one
    on due time and priority, one with a waiting time is looked for before it is taken."""
    where = [cases.c.status == status, cases.c.next_due_at.is_not(None) if due else cases.c.next_due_at.is_(None)]
    order = (cases.c.next_due_at,) if due else ()
    first = _first(conn, [*where, *open_to], *order, cases.c.priority_rank, cases.c.waiting_since, cases.c.id)
    if first is None or first["waiting_since"] is not None:
        return first
    tied = [*where, cases.c.priority_rank == first["priority_rank"], cases.c.waiting_since.is_not(None)]
    if due:
        tied.append(cases.c.next_due_at == first["next_due_at"])
    return _first(conn, [*tied, *open_to], cases.c.waiting_since, cases.c.id) or first


def next_for(conn: Connection, agent: str) -> dict[str, Any] | None:
    """The case the agent should take next, without taking it: the least, by the queue's order, of
    the heads of each active status (cases with a due time before those without)."""
    _capacity, teams = capacity_of(conn, agent)
    open_to = _open_to(agent, teams)
    for due in (True, False):
        heads = [h for status in ACTIVE if (h := _head(conn, status, due, open_to)) is not None]
        if heads:
            return min(heads, key=lambda h: queue_key(h).sort_key())
    return None


def standing(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The whole queue in order (any team), as the console lists it: the first `limit` cases of each
    part the index keeps in the queue's own order (each active status, with or without a due time,
    with or without a waiting time), merged. Each part is a walk of ix_cases_queue, never a sort of
    every active case."""
    found: list[dict[str, Any]] = []
    for status in ACTIVE:
        for due in (True, False):
            for waiting in (True, False):
                where = [
                    cases.c.status == status,
                    cases.c.next_due_at.is_not(None) if due else cases.c.next_due_at.is_(None),
                    cases.c.waiting_since.is_not(None) if waiting else cases.c.waiting_since.is_(None),
                    cases.c.merged_into.is_(None),
                ]
                order = [*([cases.c.next_due_at] if due else []), cases.c.priority_rank]
                order += [cases.c.waiting_since, cases.c.id] if waiting else [cases.c.id]
                query = sa.select(*QUEUE_COLUMNS).where(*where).order_by(*order).limit(limit)
                found += [dict(r._mapping) for r in conn.execute(query)]
    return sorted(found, key=lambda c: queue_key(c).sort_key())[:limit]


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
