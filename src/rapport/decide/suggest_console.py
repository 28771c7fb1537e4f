"""Console: the Customer 360's panel of the adaptive experience: the questions asked, the customer's
answers (with who gave them, and when a no lets us ask again) and the layout they chose."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.decide.suggest_service import experience_for, level_of, public_view
from rapport.decide.suggest_store import suggestions_of
from rapport.kernel.clock import utcnow
from rapport.web.panels import Panel, Subject


def _suggestions(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    level = level_of(conn, subject.profile_id, "web", utcnow())
    return {
        "level": level.level,
        "level_reason": level.reason,
        "suggestions": [public_view(r) for r in suggestions_of(conn, subject.members)],
        "experience": experience_for(conn, subject.members, level.level),
    }


PROFILE_PANELS = (
    Panel("suggestions", "console/decide/panel_suggestions.html", _suggestions, Permission.DECISIONS_READ, order=28),
)
