"""My requests: a customer's own cases and the public replies on them, and their answers.

The profile is always the session's; a case number in the URL that is not theirs is answered as one
that does not exist, whatever number is tried.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.errors import DomainError, NotFound, storable
from rapport.service import read
from rapport.service.service import Message, add_customer_message
from rapport.web.panels import NavEntry
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired, check_portal_csrf
from rapport.web.render import redirect
from rapport.web.session import PageError

router = APIRouter(prefix="/portal/requests", include_in_schema=False)
NOT_YOURS = ("No such request", "We found no request of yours with that number.")


def _who(conn: Connection, profile_id: str) -> tuple[list[str], list[str]]:
    try:
        _canonical, members = members_of(conn, profile_id)
    except NotFound:
        raise PortalSignInRequired() from None  # erased a moment ago
    keys = list(conn.execute(sa.select(identifiers.c.key).where(identifiers.c.profile_id.in_(members))).scalars())
    return members, keys


def _number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise PageError(404, *NOT_YOURS)
    return int(text)


@router.get("")
def my_requests(request: Request, session: Customer) -> Response:
    with request.app.state.db.read() as conn:
        items = read.customer_cases(conn, *_who(conn, session.profile_id))
    return render_portal(
        request, "portal/service/requests.html", {"title": "My requests", "current": "requests", "items": items}
    )


@router.get("/{case_id}")
def my_request(request: Request, case_id: str, session: Customer, sent: str = "") -> Response:
    number = _number(case_id)
    with request.app.state.db.read() as conn:
        try:
            case = read.customer_view(conn, number, *_who(conn, session.profile_id))
        except NotFound:
            raise PageError(404, *NOT_YOURS) from None
    return render_portal(
        request,
        "portal/service/request.html",
        {"title": case["subject"], "current": "requests", "case": case, "sent": bool(sent)},
    )


@router.post("/{case_id}/reply")
def answer(
    request: Request,
    case_id: str,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    check_portal_csrf(request, session, csrf)
    number = _number(case_id)
    text = storable(text).strip()
    if not text:
        raise PageError(400, "Nothing to send", "Write your answer in the box, then send it.")
    with request.app.state.db.read() as conn:
        try:
            case = read.customer_view(conn, number, *_who(conn, session.profile_id))
        except NotFound:
            raise PageError(404, *NOT_YOURS) from None
    target = case["merged_into"] or number
    try:
        add_customer_message(request.app.state.db, target, Message(text, channel="portal"), actor=session.actor)
    except DomainError as exc:
        raise PageError(exc.status, "Not sent", exc.message) from None
    return redirect(f"/portal/requests/{number}?sent=1")


PORTAL_NAV = (NavEntry("requests", "/portal/requests", "My requests", order=15),)
