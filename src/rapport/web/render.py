"""Rendering console pages: the template environment (shared with the portal), its filters, the
navigation the contexts contribute, and the error pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from rapport.access.model import Staff
from rapport.web.panels import sites_of
from rapport.web.session import SignInRequired, read_session

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

# Pages are served with no inline script or style, so the policy can stay strict.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    """A moment as staff read it: UTC, to the second."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def show(value: Any, limit: int = 200) -> str:
    """A trait or property value as text, shortened to `limit` characters."""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _environment() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(
        when=when,
        iso=iso,
        show=show,
        label=lambda v: str(v).replace("_", " "),
        urlpart=lambda v: quote(str(v), safe=""),
    )
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates


templates = _environment()


def nav_for(request: Request, staff: Staff | None) -> list[dict[str, str]]:
    """The console's navigation: the entries the contexts contribute that this role may open."""
    if staff is None:
        return []
    entries = sorted(sites_of(request).console_nav, key=lambda e: e.order)
    return [
        {"key": e.key, "href": e.href, "label": e.label}
        for e in entries
        if e.permission is None or staff.may(e.permission)
    ]


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    session = read_session(request)
    page = {
        "session": session,
        "staff": session.staff if session else None,
        "nav": nav_for(request, session.staff if session else None),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "console/error.html", {"title": title, "message": message, "status": status}, status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def redirect_to_sign_in(next_url: str) -> RedirectResponse:
    target = "/console/sign-in"
    if next_url and next_url != "/console":
        target += "?next=" + quote(next_url, safe="")
    return redirect(target)


async def on_sign_in_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect_to_sign_in(exc.next_url)
