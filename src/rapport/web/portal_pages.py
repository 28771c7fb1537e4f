"""My preferences: consent per purpose and channel, how personal we may be, how and when to reach
the customer, and how the portal should look to them. Every change takes effect at once.

The profile is always the session's; no page or form names one.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.consent.model import ANY, CHANNELS, LEVELS
from rapport.consent.service import (
    append_consent,
    consent_ledger,
    contact_points,
    load_preferences,
    update_preferences,
)
from rapport.db.metadata import utcnow
from rapport.errors import ApiError
from rapport.identity.service import members_of
from rapport.web.consent_view import (
    CHANNEL_TEXT,
    LEVEL_TEXT,
    NOTICE_VERSION,
    PORTAL_CHANNELS,
    PURPOSE_TEXT,
    consent_changes,
    consent_grid,
    other_consents,
)
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSession, check_portal_csrf
from rapport.web.render import redirect
from rapport.web.session import PageError

router = APIRouter(prefix="/portal", include_in_schema=False)

SAVED = {
    "consents": "Your consent choices are saved. They apply from now on.",
    "personalization": "Your personalization level is saved. It applies from now on.",
    "contact": "How and when we may contact you is saved.",
    "display": "Your display settings are saved.",
}
CONTACT_CHANNELS = tuple(c for c in CHANNELS if c != ANY)
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@router.get("")
def preferences_page(request: Request, session: Customer, saved: str | None = None) -> Response:
    with request.app.state.db.read() as conn:
        _, members = members_of(conn, session.profile_id)
        ledger = consent_ledger(conn, members)
        prefs = load_preferences(conn, session.profile_id)
        emails = contact_points(conn, members, "email")
    return render_portal(
        request,
        "preferences.html",
        {
            "title": "My preferences",
            "current": "preferences",
            "saved": SAVED.get(saved or ""),
            "grid": consent_grid(ledger, utcnow()),
            "others": other_consents(ledger),
            "prefs": prefs,
            "emails": emails,
            "channels": PORTAL_CHANNELS,
            "contact_channels": CONTACT_CHANNELS,
            "levels": LEVELS,
            "purpose_text": PURPOSE_TEXT,
            "channel_text": CHANNEL_TEXT,
            "level_text": LEVEL_TEXT,
            "notice_version": NOTICE_VERSION,
        },
    )


@router.post("/consents")
def set_consents(
    request: Request,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    consent: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    check_portal_csrf(request, session, csrf)
    known = {f"{p}:{c}" for p in PURPOSE_TEXT for c in PORTAL_CHANNELS}
    if not set(consent) <= known:
        raise PageError(
            400,
            "Could not save your choices",
            "The form named a consent we do not ask for. Reload the page and try again.",
        )
    with request.app.state.db.write() as conn:
        canonical, members = members_of(conn, session.profile_id)
        for record in consent_changes(consent_ledger(conn, members), set(consent), utcnow()):
            append_consent(conn, canonical, record, actor=session.actor, via="portal")
    return redirect("/portal?saved=consents")


def _save(request: Request, session: PortalSession, changes: dict[str, Any], section: str) -> Response:
    try:
        update_preferences(request.app.state.db, session.profile_id, changes, actor=session.actor, via="portal")
    except ApiError as exc:
        raise PageError(
            exc.status, "Could not save your choice", f"{exc.message}. Go back, correct it and try again."
        ) from None
    return redirect(f"/portal?saved={section}")


@router.post("/personalization")
def set_personalization(
    request: Request, session: Customer, csrf: Annotated[str, Form()] = "", level: Annotated[str, Form()] = ""
) -> Response:
    check_portal_csrf(request, session, csrf)
    if not level:
        raise PageError(400, "Could not save your choice", "Choose one of the three levels, then save.")
    return _save(request, session, {"personalization_level": level}, "personalization")


@router.post("/contact")
def set_contact(
    request: Request,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    preferred: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
    quiet_start: Annotated[str, Form()] = "",
    quiet_end: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
) -> Response:
    check_portal_csrf(request, session, csrf)
    quiet: dict[str, str] | None = None
    start, end, zone = quiet_start.strip(), quiet_end.strip(), timezone.strip() or "UTC"
    if start or end:
        if not (start and end):
            raise PageError(
                400, "Could not save your choice", "Give both a start and an end for quiet hours, or leave both empty."
            )
        if not (CLOCK.fullmatch(start) and CLOCK.fullmatch(end)):
            raise PageError(
                400,
                "Could not save your choice",
                "Give quiet hours as hours and minutes on a 24-hour clock, such as 21:00 and 08:00.",
            )
        if zone not in known_timezones():
            raise PageError(
                400,
                "Could not save your choice",
                "That time zone is not one we know. Use a name such as Europe/London or America/New_York.",
            )
        quiet = {"start": start, "end": end, "timezone": zone}
    return _save(request, session, {"preferred_channels": preferred, "quiet_hours": quiet}, "contact")


@router.post("/display")
def set_display(
    request: Request,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    large_text: Annotated[str, Form()] = "",
    high_contrast: Annotated[str, Form()] = "",
    reduced_motion: Annotated[str, Form()] = "",
) -> Response:
    check_portal_csrf(request, session, csrf)
    values = {"large_text": large_text, "high_contrast": high_contrast, "reduced_motion": reduced_motion}
    if any(v not in ("", "on") for v in values.values()):
        raise PageError(400, "Could not save your choice", "A display setting is either on or off.")
    return _save(request, session, {k: v == "on" for k, v in values.items()}, "display")
