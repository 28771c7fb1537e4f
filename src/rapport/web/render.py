"""Rendering console pages: the template environment, its filters, and the error pages."""

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

NAV = (
    ("search", "/console", "Customers", "profiles:read"),
    ("dead-letters", "/console/dead-letters", "Dead letters", "dead_letters:read"),
    ("sources", "/console/sources", "Sources", "sources:read"),
    ("tokens", "/console/tokens", "Staff tokens", "tokens:manage"),
    ("data-requests", "/console/data-requests", "Data requests", "data:export"),
)


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


def nav_for(staff: Staff | None) -> list[dict[str, str]]:
    if staff is None:
        return []
    return [{"key": k, "href": h, "label": label} for k, h, label, perm in NAV if staff.may(perm)]


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    session = read_session(request)
    page = {
        "session": session,
        "staff": session.staff if session else None,
        "nav": nav_for(session.staff if session else None),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message, "status": status}, status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def on_sign_in_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = "/console/sign-in"
    if exc.next_url and exc.next_url != "/console":
        target += "?next=" + quote(exc.next_url, safe="")
    return redirect(target)
