"""The portal's "My data" panel of decide: what the customer owns, as every channel told us, and what
we recommended to them lately, with why."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.decide.service import owned_items
from rapport.decide.store import decision_log
from rapport.web.panels import Panel, Subject

RECENT_DECISIONS = 10


def _owned(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {
        "owned": owned_items(conn, subject.members),
        "decisions": decision_log(conn, subject.members, RECENT_DECISIONS),
    }


MY_DATA_PANELS = (Panel("owned", "portal/decide/panel_owned.html", _owned, order=40),)
