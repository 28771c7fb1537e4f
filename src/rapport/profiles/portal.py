"""The portal's "My data" panels of profiles: how we recognise the customer, what we know, and their
recent activity on every channel."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.profiles.present import event_details, event_title
from rapport.profiles.service import load_profile, timeline
from rapport.web.panels import Panel, Subject

RECENT_EVENTS = 50  # the download has them all


def _overview(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any] | None:
    return {"view": load_profile(conn, subject.profile_id)}


def _timeline(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    rows = timeline(conn, subject.members, RECENT_EVENTS)
    events = [{**r, "title": event_title(r), "details": event_details(r)} for r in rows]
    return {"events": events, "recent_events": RECENT_EVENTS}


MY_DATA_PANELS = (
    Panel("overview", "portal/profiles/panel_overview.html", _overview, order=10),
    Panel("timeline", "portal/profiles/panel_timeline.html", _timeline, order=50),
)
