"""Rendering portal pages: the customer's display settings on every page, and the portal's error pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from rapport.web import render as console
from rapport.web.panels import sites_of
from rapport.web.portal_session import PortalSignInRequired, read_portal_session
from rapport.web.session import PageError

PORTAL_PREFIXES = ("/portal", "/u/", "/s/")


def render_portal(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200, *, anonymous: bool = False
) -> HTMLResponse:
    """A portal page. `anonymous` pages (the unsubscribe page) show nothing of whoever is signed in."""
    session = None if anonymous else read_portal_session(request)
    sites = sites_of(request)
    page: dict[str, Any] = {"session": session, "nav": [], "display": "", "gpc": False}
    if session is not None:
        nav = sorted(sites.portal_nav, key=lambda e: e.order)
        page["nav"] = [{"key": e.key, "href": e.href, "label": e.label} for e in nav]
    for hook in sites.portal_hooks:  # e.g. consent: the customer's display settings, whether GPC was honoured
        if hook.page is not None:
            page.update(hook.page(request, session.profile_id if session else None))
    page.update(context or {})
    response = console.templates.TemplateResponse(request, name, page, status_code=status)
    response.headers.update(console.SECURITY_HEADERS)
    return response


def portal_error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render_portal(request, "portal/error.html", {"title": title, "message": message, "status": status}, status)


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
