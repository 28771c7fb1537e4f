"""Cases whose history is written at hand-chosen times (the SLA clocks are computed from it), for
tests and demos of figures computed by hand: the parity report, the directory's actual p90."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from rapport.kernel.clock import utcnow
from rapport.service.influence import case_influence
from rapport.service.store import case_events, cases

DEFAULT = {
    "name": "default",
    "calendar": "always",
    "targets": {"first_response_s": 86_400, "next_response_s": 86_400, "resolution_s": 432_000, "warn_before_s": 3_600},
}
_counter = count(1)


def make_case(
    db: Any,
    profile_id: str,
    channel: str,
    *,
    days_ago: float,
    reply_after_min: float | None,
    solve_after_min: float | None = None,
    followers: int | None = None,
) -> int:
    """A case opened `days_ago`, first answered and solved after the given minutes (None: not yet)."""
    opened = utcnow() - timedelta(days=days_ago)
    n = next(_counter)
    with db.write() as conn:
        case_id = conn.execute(
            cases.insert().values(
                reference=f"T{n:07d}", subject="Test", status="solved" if solve_after_min else "open",
                priority="normal", priority_rank=2, channel=channel, tags=[], requester_profile_id=profile_id,
                opened_at=opened, updated_at=opened, created_by="test", policy="default",
            )
        ).inserted_primary_key[0]  # fmt: skip
        rows = [
            (opened, "opened", {"channel": channel}),
            (opened, "policy", DEFAULT),
            (opened, "message", {"author_kind": "customer", "public": True}),
        ]
        if reply_after_min is not None:
            rows.append(
                (opened + timedelta(minutes=reply_after_min), "message", {"author_kind": "agent", "public": True})
            )
            rows.append((opened + timedelta(minutes=reply_after_min), "status", {"from": "new", "to": "open"}))
        if solve_after_min is not None:
            rows.append((opened + timedelta(minutes=solve_after_min), "status", {"from": "open", "to": "solved"}))
        for at, kind, data in rows:
            conn.execute(case_events.insert().values(case_id=case_id, at=at, kind=kind, actor="test", data=data))
        if followers is not None:
            conn.execute(case_influence.insert().values(case_id=case_id, network="x", handle="h", followers=followers,
                                                        observed_at=opened))  # fmt: skip
    return int(case_id)
