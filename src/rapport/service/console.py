"""Console pages of the service desk: the queue, a case with the customer's 360 beside it (so the
agent never asks for what is known), the reply form; and the customer's cases on the Customer 360."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.db.metadata import row_id
from rapport.kernel.errors import DomainError, storable
from rapport.profiles.service import load_profile
from rapport.service import macros, queue, read
from rapport.service.model import STATUSES
from rapport.service.service import reply
from rapport.service.store import cases
from rapport.web.panels import NavEntry, Panel, Subject, load_panels, sites_of
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/service", include_in_schema=False)
Agent = Annotated[Session, Depends(requires(Permission.CASES_WORK))]


def case_id_of(text: str) -> int:
    if (number := row_id(text)) is None:
        raise PageError(404, "No such case", "No case has that number.")
    return number


def macro_id_of(text: str) -> int:
    if (number := row_id(text)) is None:
        raise PageError(404, "No such macro", "No macro has that number.")
    return number


@router.get("")
def queue_page(request: Request, session: Agent, empty: str = "") -> Response:
    with request.app.state.db.read() as conn:
        order = [row["id"] for row in queue.standing(conn, 100)]
        rows = {r.id: dict(r._mapping) for r in conn.execute(sa.select(cases).where(cases.c.id.in_(order)))}
    context = {
        "title": "Service queue",
        "current": "service",
        "items": [rows[i] for i in order if i in rows],
        "empty": bool(empty),
    }
    return render(request, "console/service/queue.html", context)


@router.post("/next")
def take_next(request: Request, session: Agent, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    try:
        case = queue.take_next(request.app.state.db, session.staff.name, actor=session.staff.actor)
    except DomainError as exc:
        raise PageError(exc.status, "No case taken", exc.message) from None
    return redirect(f"/console/service/cases/{case['id']}" if case else "/console/service?empty=1")


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, session: Agent, sent: str = "", macro: str = "") -> Response:
    number = case_id_of(case_id)
    with request.app.state.db.read() as conn:
        try:
            view = read.staff_view(conn, number)
        except DomainError:
            raise PageError(404, "No such case", "No case has that number. It may have been erased.") from None
        prefill = None
        if macro:  # the reply form filled in from a macro, to read and edit before sending
            try:
                prefill = macros.filled(conn, macro_id_of(macro), number, session.staff.name)
            except DomainError:
                raise PageError(404, "No such macro", "That macro does not exist any more.") from None
        panels: list[dict[str, Any]] = []
        profile_id = view["requester"]["profile_id"]
        customer = load_profile(conn, profile_id) if profile_id else None
        if customer is not None:  # the Customer 360's panels, beside the case
            subject = Subject(customer.id, customer.members, {})
            panels = load_panels(conn, sites_of(request).profile_panels, subject, request, session.staff.may)
        macro_list = macros.list_macros(conn)
    context = {
        "title": f"Case {view['reference']}: {view['subject']}",
        "current": "service",
        "case": view,
        "panels": [p for p in panels if p["key"] != "cases"],
        "statuses": STATUSES,
        "sent": sent,
        "view": customer,  # what the Customer 360's panels read of the page
        "macros": macro_list,
        "prefill": prefill,
    }
    return render(request, "console/service/case.html", context)


@router.post("/cases/{case_id}/reply")
def post_reply(
    request: Request,
    case_id: str,
    session: Agent,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    internal: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    macro: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    number = case_id_of(case_id)
    macro_id = macro_id_of(macro) if macro else None
    if status and status not in STATUSES:
        raise PageError(400, "Not sent", "Choose a status from the list.")
    try:
        done = reply(
            request.app.state.db,
            number,
            storable(text),
            actor=session.staff.actor,
            public=internal != "on",
            status=status or None,
        )
    except DomainError as exc:
        raise PageError(exc.status, "Not sent", f"{exc.message}. Go back, correct it and try again.") from None
    if macro_id is not None:  # written from a macro: its tags, and the use counted
        macros.used(request.app.state.db, macro_id, number, actor=session.staff.actor)
    return redirect(f"/console/service/cases/{number}?sent={done['message_id']}")


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def attachment(request: Request, case_id: str, attachment_id: str, _session: Agent) -> Response:
    """A customer's file, as a download only: never rendered, whatever it holds."""
    number, item = case_id_of(case_id), case_id_of(attachment_id)
    with request.app.state.db.read() as conn:
        try:
            found = read.attachment(conn, number, item)
        except DomainError:
            raise PageError(404, "No such attachment", "This case has no attachment with that number.") from None
    if found["content"] is None:
        raise PageError(404, "Attachment not stored", f"{found['filename']}: {found['note']}.")
    return Response(found["content"], media_type="application/octet-stream", headers=read.download_headers(found))


def _cases(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {"cases": read.list_cases(conn, profile_ids=subject.members, limit=20)}


NAV = (NavEntry("service", "/console/service", "Service queue", Permission.CASES_WORK, order=15),)
PROFILE_PANELS = (Panel("cases", "console/service/panel_cases.html", _cases, Permission.CASES_WORK, order=15),)
