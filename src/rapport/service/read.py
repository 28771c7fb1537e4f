"""Reading cases: as staff see them (everything, with the clocks and the history) and as their
customer sees them (their public messages only)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.kernel.clock import utcnow
from rapport.kernel.errors import NotFound
from rapport.service.clock import moments, sla_of
from rapport.service.policies import load_calendars
from rapport.service.requester import profile_of
from rapport.service.sla import CLOCKS, compute
from rapport.service.store import (
    attachments_of,
    case_attachments,
    case_history,
    case_messages,
    case_messages_of,
    cases,
    of_requester,
)

SUMMARY = (
    *("id", "reference", "subject", "status", "priority", "topic", "channel", "team", "assignee", "tags"),
    *("policy", "next_due_at", "waiting_since", "opened_at", "updated_at", "merged_into", "follows"),
)


def summary(case: dict[str, Any]) -> dict[str, Any]:
    return {key: case[key] for key in SUMMARY}


def _case(conn: Connection, case_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id}", "case_not_found")
    return dict(row._mapping)


def _messages(conn: Connection, case_id: int, public_only: bool) -> list[dict[str, Any]]:
    found = case_messages_of(conn, case_id, public_only=public_only)
    files: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in attachments_of(conn, [m["id"] for m in found]):
        files[item["message_id"]].append({k: item[k] for k in ("id", "filename", "content_type", "size", "note")})
    for message in found:
        message["attachments"] = files.get(message["id"], [])
    return found


def staff_view(conn: Connection, case_id: int) -> dict[str, Any]:
    case = _case(conn, case_id)
    return {
        **summary(case),
        "requester": {
            "profile_id": profile_of(conn, case),
            "address": case["requester_address"],
            "name": case["requester_name"],
        },
        "sla": sla_of(conn, case_id).public(),
        "messages": _messages(conn, case_id, public_only=False),
        "history": case_history(conn, case_id),
    }


def customer_view(conn: Connection, case_id: int, members: list[str], keys: list[str]) -> dict[str, Any]:
    """A case as its customer sees it; NotFound for any case that is not theirs (the same answer as
    for a case that does not exist, so ids cannot be probed)."""
    row = conn.execute(sa.select(cases).where(cases.c.id == case_id, of_requester(members, keys))).first()
    if row is None:
        raise NotFound("request", "case_not_found")
    case = dict(row._mapping)
    messages = [
        {k: m[k] for k in ("id", "at", "author_kind", "display_text", "text", "attachments")}
        for m in _messages(conn, case_id, public_only=True)
    ]
    keys_shown = ("id", "reference", "subject", "status", "channel", "opened_at", "updated_at", "merged_into")
    return {**{k: case[k] for k in keys_shown}, "messages": messages}


def customer_cases(conn: Connection, members: list[str], keys: list[str]) -> list[dict[str, Any]]:
    query = sa.select(cases).where(of_requester(members, keys)).order_by(cases.c.id.desc()).limit(200)
    keys_shown = ("id", "reference", "subject", "status", "channel", "opened_at", "updated_at", "merged_into")
    return [{k: r._mapping[k] for k in keys_shown} for r in conn.execute(query)]


def list_cases(
    conn: Connection,
    *,
    status: str | None = None,
    assignee: str | None = None,
    profile_ids: list[str] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = sa.select(cases).order_by(cases.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(cases.c.status == status)
    if assignee is not None:
        query = query.where(cases.c.assignee == assignee)
    if profile_ids is not None:
        query = query.where(cases.c.requester_profile_id.in_(profile_ids))
    if before is not None:
        query = query.where(cases.c.id < before)
    return [summary(dict(r._mapping)) for r in conn.execute(query)]


def attachment(conn: Connection, case_id: int, attachment_id: int) -> dict[str, Any]:
    row = conn.execute(
        sa.select(case_attachments)
        .join(case_messages, case_messages.c.id == case_attachments.c.message_id)
        .where(case_attachments.c.id == attachment_id, case_messages.c.case_id == case_id)
    ).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} of case {case_id}", "attachment_not_found")
    return dict(row._mapping)


def report(conn: Connection, since: datetime) -> dict[str, Any]:
    """How many cases, by status, and how each promise fared by channel, for cases opened since."""
    rows = conn.execute(sa.select(cases.c.id, cases.c.status, cases.c.channel).where(cases.c.opened_at >= since))
    calendars, now = load_calendars(conn), utcnow()
    statuses: Counter[str] = Counter()
    fared: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {name: Counter() for name in CLOCKS})
    for case_id, status, channel in rows:
        statuses[status] += 1
        state = compute(moments(case_history(conn, case_id)), calendars, now)
        for name, clock in state.clocks.items():
            fared[channel][name]["met"] += clock.met
            fared[channel][name]["missed"] += clock.missed
            if clock.state == "breached":
                fared[channel][name]["breached_open"] += 1
    return {
        "since": since,
        "cases": sum(statuses.values()),
        "by_status": dict(statuses),
        "by_channel": {channel: {n: dict(c) for n, c in clocks.items()} for channel, clocks in fared.items()},
    }


def download_headers(found: dict[str, Any]) -> dict[str, str]:
    """A customer's file is sent as a download, sandboxed, never sniffed: it could hold HTML or script."""
    from urllib.parse import quote

    return {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found['filename'], safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
