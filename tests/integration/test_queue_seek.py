"""The queue's next case and its standing, found by walking the index from the heads of each status, is exactly the
least case by the queue's order (model.queue_key) among those the agent may take: checked against
sorting every case, on rows made to tie on due time and priority, with and without a waiting time,
of several statuses, teams and assignees."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from rapport.service import queue
from rapport.service.model import ACTIVE, queue_key
from rapport.service.service import set_agent
from rapport.service.store import cases


def brute_force(conn, agent: str, teams: list[str]):
    rows = [dict(r._mapping) for r in conn.execute(sa.select(cases))]
    allowed = [
        r for r in rows
        if r["status"] in ACTIVE and r["merged_into"] is None and r["assignee"] in (None, agent)
        and (r["team"] is None or r["team"] in teams)
    ]  # fmt: skip
    return min(allowed, key=lambda r: queue_key(r).sort_key())["id"] if allowed else None


def test_the_seek_agrees_with_sorting_everything(db):
    rng = random.Random(15)
    base = datetime(2026, 12, 1, tzinfo=UTC)
    set_agent(db, "ann", 20, ["billing"], actor="test")
    for trial in range(12):
        with db.write() as conn:
            conn.execute(cases.delete())
            rows = []
            for i in range(rng.randrange(0, 60)):
                rows.append(
                    {
                        "reference": f"Q{trial:02d}{i:05d}", "subject": "s", "tags": [], "channel": "email",
                        "status": rng.choice(("new", "open", "pending", "solved", "on_hold")),
                        "priority": "normal", "priority_rank": rng.randrange(2),
                        "next_due_at": rng.choice((None, base, base + timedelta(hours=rng.randrange(3)))),
                        "waiting_since": rng.choice((None, base - timedelta(hours=rng.randrange(3)))),
                        "team": rng.choice((None, "billing", "returns")),
                        "assignee": rng.choice((None, None, "ann", "bob")),
                        "opened_at": base, "updated_at": base, "created_by": "test",
                    }
                )  # fmt: skip
            if rows:
                conn.execute(cases.insert(), rows)
        with db.read() as conn:
            for agent, teams in (("ann", ["billing"]), ("bob", [])):
                head = queue.next_for(conn, agent)
                assert (head["id"] if head else None) == brute_force(conn, agent, teams), (trial, agent)
            every = sorted(
                (dict(r._mapping) for r in conn.execute(sa.select(cases))
                 if r.status in ACTIVE and r.merged_into is None),
                key=lambda r: queue_key(r).sort_key(),
            )  # fmt: skip
            for limit in (1, 5, 100):
                assert [c["id"] for c in queue.standing(conn, limit)] == [c["id"] for c in every[:limit]], trial
