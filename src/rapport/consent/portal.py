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
from sqlalchemy.engine import Connection

from rapport.consent.model import ANY, CHANNELS, LEVELS, Preferences, current_state
from rapport.consent.service import (
    append_consent,
    consent_ledger,
    contact_points,
    honour_gpc,
    load_preferences,
    update_preferences,
)
from rapport.consent.store import history
from rapport.consent.view import (
    CHANNEL_TEXT,
    LEVEL_TEXT,
    NOTICE_VERSION,
    PORTAL_CHANNELS,
    PURPOSE_TEXT,
    consent_changes,
    consent_grid,
    other_consents,
)
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, NotFound
from rapport.web.panels import NavEntry, Panel, PortalHook, Subject
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSession, PortalSignInRequired, check_portal_csrf
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
        "portal/consent/preferences.html",
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
    except DomainError as exc:
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


def display_classes(prefs: Preferences | None) -> str:
    """Classes on <html> that portal.css reads to honour the customer's accessibility settings."""
    if prefs is None:
        return ""
    flags = (
        ("large-text", prefs.large_text),
        ("high-contrast", prefs.high_contrast),
        ("reduced-motion", prefs.reduced_motion),
    )
    return " ".join(name for name, on in flags if on)


def _honour_gpc(request: Request, profile_id: str) -> None:
    """A browser that sends `Sec-GPC: 1` opts its user out of sharing: record it once, and say so."""
    request.state.gpc = request.headers.get("sec-gpc", "").strip() == "1"
    if request.state.gpc:
        try:
            honour_gpc(request.app.state.db, profile_id, actor=f"customer:{profile_id}")
        except NotFound:
            raise PortalSignInRequired() from None  # erased a moment ago


def _page(request: Request, profile_id: str | None) -> dict[str, Any]:
    """On every portal page: the customer's display settings, and whether their GPC signal was honoured."""
    if profile_id is None:
        return {}
    with request.app.state.db.read() as conn:
        prefs = load_preferences(conn, profile_id)
    return {"display": display_classes(prefs), "gpc": getattr(request.state, "gpc", False)}


PORTAL_HOOK = PortalHook(on_request=_honour_gpc, page=_page)
PORTAL_NAV = (NavEntry("preferences", "/portal", "My preferences", order=10),)


def _my_consents(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    ledger = consent_ledger(conn, subject.members)
    now = utcnow()
    return {
        "prefs": load_preferences(conn, subject.profile_id),
        "consents": [(r, r.in_force(now)) for r in current_state(ledger).values()],
        "history": list(reversed(ledger)),
        "channel_text": CHANNEL_TEXT,
        "level_text": LEVEL_TEXT,
    }


def _my_contacts(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {"contacts": history(conn, subject.members)}


MY_DATA_PANELS = (
    Panel("consent", "portal/consent/panel_consent.html", _my_consents, order=20),
    Panel("contacts", "portal/consent/panel_contacts.html", _my_contacts, order=30),
)
