"""The parity report: is service equal for everyone? First response and resolution (p50, p90) and
the on-time rate, by channel, by language and by influence band, for the cases opened in a window;
an alert names every group whose on-time rate is below 0.8 × the best group's of its dimension.

Times are the business time each promise counted (the SLA clock's `elapsed_s`: pauses while the
case waited on the customer do not count), for the cases where that promise was settled (met or
missed). A promise is on time when it was met; missed, or breached and still running, is late; one
still running within its time is not counted yet. Percentiles are nearest-rank (p90 of 10 values is
the 9th smallest). Influence bands are follower-count buckets from case_influence: this report is
the one reader of follower counts (the queue cannot import them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.profiles.store import profile_traits
from rapport.service.clock import moments
from rapport.service.influence import band, case_influence
from rapport.service.policies import load_calendars
from rapport.service.sla import FIRST_RESPONSE, RESOLUTION, SlaState, compute
from rapport.service.store import case_events, cases

ALERT_RATIO = 0.8
DIMENSIONS = ("channel", "language", "influence")
NO_FOLLOWING = "no follower count"
UNKNOWN_LANGUAGE = "unknown"
LANGUAGE_TRAITS = ("language", "locale", "preferred_language")


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share in (0, 1]), to the millisecond; None without values. A clock
    paused and resumed adds its runs' seconds up as floats, which can leave a trace like
    172799.99999999997; a report says 172800."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(share * len(ordered))) - 1], 3)


def states(conn: Connection, case_ids: list[int], now: datetime) -> dict[int, SlaState]:
    """The clocks of many cases, their histories read in one query per thousand cases."""
    calendars = load_calendars(conn)
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(case_ids), 1000):
        chunk = case_ids[start : start + 1000]
        query = (
            sa.select(case_events)
            .where(case_events.c.case_id.in_(chunk))
            .order_by(case_events.c.case_id, case_events.c.id)
        )
        for row in conn.execute(query):
            history[row.case_id].append(dict(row._mapping))
    return {cid: compute(moments(history[cid]), calendars, now) for cid in case_ids}


def _languages(conn: Connection, profile_ids: set[str]) -> dict[str, str]:
    """Each profile's language (its `language`, `locale` or `preferred_language` trait, on it or on a
    profile merged into it), as its primary subtag: `en-GB` is `en`."""
    found: dict[str, str] = {}
    ids = sorted(profile_ids)
    for start in range(0, len(ids), 1000):
        query = (
            sa.select(profiles.c.canonical_id, profile_traits.c.key, profile_traits.c.value)
            .join(profiles, profiles.c.id == profile_traits.c.profile_id)
            .where(profiles.c.canonical_id.in_(ids[start : start + 1000]), profile_traits.c.key.in_(LANGUAGE_TRAITS))
            .order_by(profile_traits.c.key)
        )
        for canonical, _key, value in conn.execute(query):
            if isinstance(value, str) and value.strip() and canonical not in found:
                found[canonical] = value.strip().replace("_", "-").split("-")[0].lower()[:16]
    return found


def _settled(state: SlaState, name: str) -> tuple[float | None, bool | None]:
    """(business seconds the promise took, on time?) for a settled promise; on time None if undecided."""
    clock = state.clocks.get(name)
    if clock is None or clock.target_s is None:
        return None, None
    if clock.state in ("met", "missed"):
        return clock.elapsed_s, clock.state == "met"
    if clock.state == "breached":
        return None, False
    return None, None


def _rate(outcomes: list[bool]) -> float | None:
    return round(sum(outcomes) / len(outcomes), 4) if outcomes else None


def group_figures(entries: Iterable[tuple[float | None, bool | None, float | None, bool | None]]) -> dict[str, Any]:
    first: list[float] = []
    resolution: list[float] = []
    settled: dict[str, list[bool]] = {FIRST_RESPONSE: [], RESOLUTION: []}
    n = 0
    for f_s, f_ok, r_s, r_ok in entries:
        n += 1
        if f_s is not None:
            first.append(f_s)
        if r_s is not None:
            resolution.append(r_s)
        for name, ok in ((FIRST_RESPONSE, f_ok), (RESOLUTION, r_ok)):
            if ok is not None:
                settled[name].append(ok)
    both = settled[FIRST_RESPONSE] + settled[RESOLUTION]
    return {
        "cases": n,
        "first_response_p50_s": percentile(first, 0.5),
        "first_response_p90_s": percentile(first, 0.9),
        "resolution_p50_s": percentile(resolution, 0.5),
        "resolution_p90_s": percentile(resolution, 0.9),
        "first_response_on_time_rate": _rate(settled[FIRST_RESPONSE]),
        "resolution_on_time_rate": _rate(settled[RESOLUTION]),
        "promises_settled": len(both),
        "on_time_rate": _rate(both),  # both promises together: what the alert compares
    }


def alerts(groups: dict[str, dict[str, dict[str, Any]]], min_settled: int = 1) -> list[dict[str, Any]]:
    """Every group whose on-time rate is below ALERT_RATIO × the best of its dimension."""
    found = []
    for dimension, by_value in groups.items():
        rated = {
            v: g["on_time_rate"]
            for v, g in by_value.items()
            if g["on_time_rate"] is not None and g["promises_settled"] >= min_settled
        }
        if not rated:
            continue
        best_value = max(rated, key=lambda v: (rated[v], v))
        floor = ALERT_RATIO * rated[best_value]
        for value, rate in sorted(rated.items()):
            if rate < floor:
                found.append(
                    {
                        "dimension": dimension,
                        "group": value,
                        "on_time_rate": rate,
                        "best_group": best_value,
                        "best_on_time_rate": rated[best_value],
                        "threshold": round(floor, 4),
                        "message": f"{dimension} {value}: on time {rate:.0%}, below {ALERT_RATIO} × "
                        f"the best ({best_value}, {rated[best_value]:.0%})",
                    }
                )
    return found


def parity_report(
    conn: Connection, since: datetime, *, min_settled: int = 1, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.channel, cases.c.requester_profile_id, case_influence.c.followers)
        .outerjoin(case_influence, case_influence.c.case_id == cases.c.id)
        .where(cases.c.opened_at >= since, cases.c.merged_into.is_(None))
        .order_by(cases.c.id)
    ).all()
    clocks = states(conn, [r.id for r in rows], now)
    languages = _languages(conn, {r.requester_profile_id for r in rows if r.requester_profile_id})
    grouped: dict[str, dict[str, list[Any]]] = {d: defaultdict(list) for d in DIMENSIONS}
    for row in rows:
        entry = (*_settled(clocks[row.id], FIRST_RESPONSE), *_settled(clocks[row.id], RESOLUTION))
        grouped["channel"][row.channel].append(entry)
        grouped["language"][languages.get(row.requester_profile_id or "", UNKNOWN_LANGUAGE)].append(entry)
        grouped["influence"][NO_FOLLOWING if row.followers is None else band(row.followers)].append(entry)
    groups = {d: {v: group_figures(e) for v, e in sorted(by.items())} for d, by in grouped.items()}
    return {
        "since": since,
        "until": now,
        "cases": len(rows),
        "alert_ratio": ALERT_RATIO,
        "groups": groups,
        "alerts": alerts(groups, min_settled),
    }
