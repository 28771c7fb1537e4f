"""Rendering portal pages: the customer's display settings on every page, and the portal's error pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from rapport.consent.model import Preferences
from rapport.consent.service import load_preferences
from rapport.web import render as console
from rapport.web.portal_session import PortalSignInRequired, read_portal_session
from rapport.web.session import PageError

PORTAL_PREFIXES = ("/portal", "/u/")

NAV = (
    ("preferences", "/portal", "My preferences"),
    ("data", "/portal/data", "My data"),
    ("download", "/portal/download", "Download"),
    ("erase", "/portal/erase", "Erase"),
)


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


def render_portal(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200, *, anonymous: bool = False
) -> HTMLResponse:
    """A portal page. `anonymous` pages (the unsubscribe page) show nothing of whoever is signed in."""
    session = None if anonymous else read_portal_session(request)
    prefs = None
    if session is not None:
        with request.app.state.db.read() as conn:
            prefs = load_preferences(conn, session.profile_id)
    page = {
        "session": session,
        "nav": [{"key": k, "href": h, "label": label} for k, h, label in NAV] if session else [],
        "display": display_classes(prefs),
        "gpc": bool(session) and getattr(request.state, "gpc", False),
        **(context or {}),
    }
    response = console.templates.TemplateResponse(request, f"portal/{name}", page, status_code=status)
    response.headers.update(console.SECURITY_HEADERS)
    return response


def portal_error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render_portal(request, "error.html", {"title": title, "message": message, "status": status}, status)


def is_portal(request: Request) -> bool:
    return request.url.path.startswith(PORTAL_PREFIXES)


async def on_page_error(request: Request, exc: Exception) -> Response:
    """A refusal or bad input, as a page in the look of whichever site it happened on."""
    assert isinstance(exc, PageError)
    if is_portal(request):
        return portal_error_page(request, exc.status, exc.title, exc.message)
    return console.error_page(request, exc.status, exc.title, exc.message)


async def on_portal_sign_in_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PortalSignInRequired)
    return console.redirect("/portal/sign-in")
