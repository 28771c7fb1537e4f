"""Console pages of the service desk beyond the queue: the parity report (analysts and admins), the
channel directory as admins keep it, and social mentions with the form where staff confirm they saw
a customer's proof code posted from their handle."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, storable
from rapport.service import directory, parity, social_proof
from rapport.service.model import CHANNELS
from rapport.service.social_store import social_mentions
from rapport.web.panels import NavEntry
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/service", include_in_schema=False)
Analyst = Annotated[Session, Depends(requires(Permission.SERVICE_REPORTS_READ))]
Admin = Annotated[Session, Depends(requires(Permission.SLA_MANAGE))]
Agent = Annotated[Session, Depends(requires(Permission.CASES_WORK))]
Verifier = Annotated[Session, Depends(requires(Permission.IDENTIFIERS_VERIFY))]


@router.get("/parity")
def parity_page(request: Request, session: Analyst, days: str = "30") -> Response:
    window = int(days) if days.isascii() and days.isdigit() and 1 <= int(days) <= 366 else 30
    with request.app.state.db.read() as conn:
        report = parity.parity_report(conn, utcnow() - timedelta(days=window))
    context = {"title": "Service parity", "current": "parity", "report": report, "days": window}
    return render(request, "console/service/parity.html", context)


@router.get("/channels")
def channels_page(request: Request, session: Admin, saved: str = "", edit: str = "") -> Response:
    with request.app.state.db.read() as conn:
        entries = directory.list_entries(conn)
    editing = next((e for e in entries if e["key"] == edit), None)
    context = {
        "title": "Channel directory",
        "current": "channels",
        "entries": entries,
        "editing": editing,
        "channels": CHANNELS,
        "saved": saved,
    }
    return render(request, "console/service/channels.html", context)


def _links(text: str) -> list[dict[str, str]]:
    """One link a line: `label | url` or `label | url | third-party`."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3):
            raise PageError(400, "Not saved", f"Write each link as: label | url (| third-party). Not: {line[:80]}")
        found.append({"label": parts[0], "url": parts[1], "kind": parts[2] if len(parts) == 3 else "self-service"})
    return found


@router.post("/channels")
def save_channel(
    request: Request,
    session: Admin,
    csrf: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    calendar: Annotated[str, Form()] = "",
    policy: Annotated[str, Form()] = "",
    topics: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "100",
    published: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    if not (position.strip().isascii() and position.strip().isdigit()):
        raise PageError(400, "Not saved", "Position is a whole number from 0 to 10000.")
    spec: dict[str, Any] = {
        "channel": channel,
        "name": storable(name),
        "contact": storable(contact),
        "description": storable(description),
        "calendar": calendar.strip() or None,
        "policy": policy.strip() or None,
        "topics": [t.strip() for t in storable(topics).split(",") if t.strip()],
        "links": _links(storable(links)),
        "position": int(position.strip()[:6]),
        "published": published == "on",
    }
    try:
        directory.set_entry(request.app.state.db, key.strip(), spec, session.staff.actor)
    except DomainError as exc:
        raise PageError(exc.status, "Not saved", f"{exc.message}. Go back, correct it and try again.") from None
    return redirect(f"/console/service/channels?saved={key.strip()}")


@router.post("/channels/{key}/delete")
def delete_channel(request: Request, key: str, session: Admin, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    try:
        directory.delete_entry(request.app.state.db, key[:64], session.staff.actor)
    except DomainError as exc:
        raise PageError(exc.status, "Not removed", exc.message) from None
    return redirect("/console/service/channels?saved=removed")


@router.get("/social")
def social_page(request: Request, session: Agent, confirmed: str = "") -> Response:
    with request.app.state.db.read() as conn:
        rows = conn.execute(sa.select(social_mentions).order_by(social_mentions.c.id.desc()).limit(100))
        items = [dict(r._mapping) for r in rows]
    context = {
        "title": "Social mentions",
        "current": "social",
        "items": items,
        "may_confirm": session.staff.may(Permission.IDENTIFIERS_VERIFY),
        "confirmed": confirmed,
    }
    return render(request, "console/service/social.html", context)


@router.post("/social/confirm")
def confirm_code(
    request: Request,
    session: Verifier,
    csrf: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    try:
        done = social_proof.confirm_code(
            request.app.state.db, storable(code)[:40], storable(reason), actor=session.staff.actor
        )
    except DomainError as exc:
        raise PageError(exc.status, "Not confirmed", f"{exc.message}. Go back, correct it and try again.") from None
    return redirect(f"/console/service/social?confirmed={done['network']}:{done['handle']}")


NAV = (
    NavEntry("social", "/console/service/social", "Social mentions", Permission.CASES_WORK, order=16),
    NavEntry("parity", "/console/service/parity", "Service parity", Permission.SERVICE_REPORTS_READ, order=17),
    NavEntry("channels", "/console/service/channels", "Channel directory", Permission.SLA_MANAGE, order=18),
)
