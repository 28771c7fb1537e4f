"""Console pages of profiles: finding a customer, and the Customer 360, a shell of panels that contexts
contribute (`rapport.contexts`): this context's overview and timeline, consent's, merges', ..."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.identity.service import verify_identifier
from rapport.kernel.cursors import decode_cursor, encode_cursor
from rapport.kernel.errors import DomainError, Invalid, storable
from rapport.profiles.present import display_name, event_details, event_title, result_row
from rapport.profiles.processor import rules_from
from rapport.profiles.service import ProfileView, load_profile, parse_identifier, search_profiles, timeline
from rapport.web.panels import NavEntry, Panel, Subject, load_panels, sites_of
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

Reader = Annotated[Session, Depends(requires(Permission.PROFILES_READ))]
Verifier = Annotated[Session, Depends(requires(Permission.IDENTIFIERS_VERIFY))]

PAGE_SIZE = 25
MAX_ID_LENGTH = 64
MAX_QUERY = 320


@router.get("")
def search(request: Request, _session: Reader, q: str = "") -> Response:
    q = "".join(ch for ch in q if ch.isprintable()).strip()  # no database takes a NUL in a query
    if len(q) > MAX_QUERY:
        raise PageError(400, "Search too long", f"Search for at most {MAX_QUERY} characters.")
    rows = []
    if q:
        db = request.app.state.db
        with db.read() as conn:
            ids = search_profiles(conn, q, rules_from(db.settings))
            views = [load_profile(conn, pid) for pid in ids]
        rows = [result_row(v) for v in views if v]
    context = {"title": "Find a customer", "q": q, "rows": rows, "current": "search"}
    return render(request, "console/profiles/search.html", context)


def load_view(request: Request, profile_id: str) -> ProfileView:
    view = None
    if 0 < len(profile_id) <= MAX_ID_LENGTH and profile_id.isprintable():
        with request.app.state.db.read() as conn:
            view = load_profile(conn, profile_id)
    if view is None:
        raise PageError(404, "No such customer", "No customer profile has that id. It may have been erased.")
    return view


@router.post("/profiles/{profile_id}/identifiers/verify")
def post_verify(
    request: Request,
    profile_id: str,
    session: Verifier,
    csrf: Annotated[str, Form()] = "",
    identifier: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Staff vouch for an identifier a client only claimed: it may receive mail and open the portal."""
    check_csrf(request, session, csrf)
    view = load_view(request, profile_id)
    ident = parse_identifier(storable(identifier[:400]), rules_from(request.app.state.db.settings))
    if ident is None:
        raise PageError(400, "Not an identifier", "Nothing was verified.")
    try:
        verify_identifier(
            request.app.state.db, view.id, ident, reason=storable(reason), actor=session.staff.actor, channel="console"
        )
    except DomainError as exc:
        titles = {400: "Say how you know", 404: "Not this customer's", 409: "Verified already"}
        raise PageError(exc.status, titles.get(exc.status, "Not verified"), exc.message) from None
    return redirect(f"/console/profiles/{view.id}")


@router.get("/profiles/{profile_id}")
def customer_360(request: Request, profile_id: str, session: Reader) -> Response:
    view = load_view(request, profile_id)
    subject = Subject(view.id, view.members, dict(request.query_params))
    with request.app.state.db.read() as conn:
        panels = load_panels(conn, sites_of(request).profile_panels, subject, request, session.staff.may)
    title = display_name(view.traits) or f"Customer {view.id}"
    context = {"title": title, "view": view, "asked_for": profile_id, "panels": panels}
    return render(request, "console/profiles/customer_360.html", context)


def _overview(_conn: Connection, subject: Subject, request: Request) -> dict[str, Any]:
    staff = request.state.console_session.staff  # the rest is in the page's own `view`
    return {"profile_id": subject.profile_id, "may_verify": staff.may(Permission.IDENTIFIERS_VERIFY)}


def _timeline(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    before = subject.query.get("before")
    try:
        cursor = decode_cursor(before) if before else None
    except Invalid:
        raise PageError(400, "Bad page link", "That link to older events is not one this console made.") from None
    rows = timeline(conn, subject.members, PAGE_SIZE + 1, cursor)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {
        "profile_id": subject.profile_id,
        "events": [{**r, "title": event_title(r), "details": event_details(r)} for r in rows],
        "next_cursor": encode_cursor(rows[-1]["timestamp"], rows[-1]["id"]) if more else None,
        "paged": before is not None,
    }


NAV = (NavEntry("search", "/console", "Customers", Permission.PROFILES_READ, order=10),)
PROFILE_PANELS = (
    Panel("overview", "console/profiles/panel_overview.html", _overview, order=10),
    Panel("timeline", "console/profiles/panel_timeline.html", _timeline, order=50),
)
