"""Console: the Customer 360's consent panels — what the customer agreed to, how personal they want
it, and every message sent to them with why it was or was not sent."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.consent.model import current_state
from rapport.consent.service import consent_ledger, load_preferences
from rapport.consent.store import history
from rapport.consent.view import LEVEL_TEXT
from rapport.kernel.clock import utcnow
from rapport.web.panels import Panel, Subject

CONTACT_ROWS = 25
ACCESSIBILITY = ("large_text", "high_contrast", "reduced_motion")


def _consent(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    ledger = consent_ledger(conn, subject.members)
    prefs = load_preferences(conn, subject.profile_id)
    now = utcnow()
    current = sorted(current_state(ledger).values(), key=lambda r: (r.purpose, r.channel, r.contact_point or ""))
    return {
        "current": [(r, r.in_force(now)) for r in current],
        "prefs": prefs,
        "level": LEVEL_TEXT[prefs.personalization_level][0],
        "accessibility": ", ".join(name.replace("_", " ") for name in ACCESSIBILITY if getattr(prefs, name)),
    }


def _contacts(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {"contacts": history(conn, subject.members, CONTACT_ROWS), "contact_rows": CONTACT_ROWS}


PROFILE_PANELS = (
    Panel("consent", "console/consent/panel_consent.html", _consent, Permission.CONSENT_READ, order=20),
    Panel("contacts", "console/consent/panel_contacts.html", _contacts, Permission.CONSENT_READ, order=30),
)
