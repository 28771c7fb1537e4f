"""Portal pages of the service desk beyond My requests: the public channel directory (how to reach
us, for anyone, signed in or not) and Social accounts, where a customer proves a handle is theirs
with a one-time code posted or sent from it, sees the handles proven on their profile and takes one
off. Display settings (large text, high contrast, reduced motion) apply as on every portal page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.identity.service import members_of
from rapport.kernel.errors import DomainError, NotFound, storable
from rapport.service import social_proof
from rapport.service.directory import directory, duration_text
from rapport.service.social_model import NETWORKS
from rapport.web.panels import NavEntry
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired, check_portal_csrf
from rapport.web.render import redirect
from rapport.web.session import PageError

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/channels")
def channels_page(request: Request) -> Response:
    with request.app.state.db.read() as conn:
        items = directory(conn)
    for item in items:
        item["promised_text"] = duration_text(item["promised_first_response"]["minutes"])
        item["actual_text"] = duration_text(item["actual_first_response"]["p90_minutes"])
    return render_portal(
        request, "portal/service/channels.html", {"title": "How to reach us", "current": "channels", "items": items}
    )


def _members(request: Request, profile_id: str) -> list[str]:
    with request.app.state.db.read() as conn:
        try:
            return members_of(conn, profile_id)[1]
        except NotFound:
            raise PortalSignInRequired() from None


@router.get("/social")
def social_page(request: Request, session: Customer, new: str = "", removed: str = "") -> Response:
    members = _members(request, session.profile_id)
    with request.app.state.db.read() as conn:
        handles, codes = social_proof.handles_of(conn, members), social_proof.pending_codes(conn, members)
    context = {
        "title": "Social accounts",
        "current": "social",
        "handles": handles,
        "codes": codes,
        "networks": NETWORKS,
        "new": bool(new),
        "removed": bool(removed),
    }
    return render_portal(request, "portal/service/social.html", context)


@router.post("/social/codes")
def ask_code(
    request: Request,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    network: Annotated[str, Form()] = "",
    handle: Annotated[str, Form()] = "",
) -> Response:
    check_portal_csrf(request, session, csrf)
    try:
        social_proof.issue_code(
            request.app.state.db, session.profile_id, network, storable(handle), actor=session.actor
        )
    except DomainError as exc:
        raise PageError(exc.status, "No code made", f"{exc.message}. Go back, correct it and try again.") from None
    return redirect("/portal/social?new=1")


@router.post("/social/remove")
def remove_handle(
    request: Request,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    network: Annotated[str, Form()] = "",
    handle: Annotated[str, Form()] = "",
) -> Response:
    check_portal_csrf(request, session, csrf)
    try:
        social_proof.unlink_handle(
            request.app.state.db, session.profile_id, network, storable(handle), actor=session.actor
        )
    except DomainError as exc:
        raise PageError(exc.status, "Not removed", f"{exc.message}.") from None
    return redirect("/portal/social?removed=1")


PORTAL_NAV = (
    NavEntry("social", "/portal/social", "Social accounts", order=16),
    NavEntry("channels", "/portal/channels", "How to reach us", order=90),
)
