"""Console: the Customer 360's decide panels: what the customer owns, and what we would recommend to
them now with each reason (a preview: it is not logged), beside the decision log."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.decide.recommend import choose
from rapport.decide.service import Ask, Person, owned_items, scope_of
from rapport.decide.store import decision_log
from rapport.decide.training import cache_for
from rapport.kernel.clock import utcnow
from rapport.web.panels import Panel, Subject

LOG_ROWS = 10
PREVIEW = 8


def _owned(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {"owned": owned_items(conn, subject.members)}


def _recommendations(conn: Connection, subject: Subject, request: Request) -> dict[str, Any]:
    now = utcnow()
    ask = Ask(limit=PREVIEW)
    scope = scope_of(conn, Person(subject.profile_id, tuple(subject.members)), ask, now)
    loaded = cache_for(request.app.state.db).current(conn)
    return {
        "level": scope.level,
        "level_reason": scope.reason,
        "model_version": loaded.version if loaded else None,
        "recommended": choose(conn, loaded, scope, ask, now),
        "log": decision_log(conn, subject.members, LOG_ROWS),
        "log_rows": LOG_ROWS,
    }


PROFILE_PANELS = (
    Panel("owned", "console/decide/panel_owned.html", _owned, Permission.PROFILES_READ, order=25),
    Panel(
        "recommendations",
        "console/decide/panel_recommendations.html",
        _recommendations,
        Permission.DECISIONS_READ,
        order=27,
    ),
)
