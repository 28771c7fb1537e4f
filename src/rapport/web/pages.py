"""The staff console: signing in and out, customer search, dead letters; mounting the
console, the customer portal and the unsubscribe page on the app.

Pages are server-rendered with Jinja2 and need no script. Every refusal or bad input answers an
HTML page with a 4xx status; `/console/**` never answers JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from rapport.access.service import authenticate
from rapport.collect.service import list_dead_letters
from rapport.profiles.processor import rules_from
from rapport.profiles.service import load_profile, search_profiles
from rapport.web import (
    admin_pages,
    data_requests_page,
    portal_auth,
    portal_data,
    portal_pages,
    profile_page,
    unsubscribe_page,
)
from rapport.web.portal_render import on_page_error, on_portal_sign_in_required
from rapport.web.portal_session import Customer, PortalSignInRequired
from rapport.web.present import result_row
from rapport.web.render import STATIC_DIR, error_page, on_sign_in_required, redirect, render
from rapport.web.session import (
    PageError,
    Session,
    SignInRequired,
    check_csrf,
    check_same_site,
    end_session,
    read_session,
    requires,
    safe_next,
    signed_in,
    start_session,
)

router = APIRouter(include_in_schema=False)

Reader = Annotated[Session, Depends(requires("profiles:read"))]
DeadLetterReader = Annotated[Session, Depends(requires("dead_letters:read"))]

MAX_QUERY = 320
MAX_TOKEN = 512
DEAD_LETTER_PAGE = 50


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/sign-in")
def sign_in_form(request: Request, next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    return render(request, "sign_in.html", {"title": "Sign in", "next": safe_next(next_url), "error": None})


@router.post("/console/sign-in")
def sign_in(
    request: Request, token: Annotated[str, Form()] = "", next_url: Annotated[str, Form(alias="next")] = ""
) -> Response:
    check_same_site(request)
    staff = None
    if token.strip() and len(token) <= MAX_TOKEN:
        with request.app.state.db.read() as conn:
            staff = authenticate(conn, token)
    if staff is None:
        error = "That token is unknown or has been revoked. Paste the whole token, starting rpt_."
        if not token.strip():
            error = "Paste your staff API token to sign in."
        return render(request, "sign_in.html", {"title": "Sign in", "next": safe_next(next_url), "error": error}, 401)
    response = redirect(safe_next(next_url))
    start_session(request, response, staff)
    return response


@router.post("/console/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    session = read_session(request)
    if session is not None:
        check_csrf(request, session, csrf)
    response = redirect("/console/sign-in")
    end_session(response)
    return response


@router.get("/console")
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
    return render(request, "search.html", {"title": "Find a customer", "q": q, "rows": rows, "current": "search"})


@router.get("/console/dead-letters")
def dead_letters(request: Request, _session: DeadLetterReader, before: str | None = None) -> Response:
    if before is not None and not (before.isascii() and before.isdigit() and 0 < len(before) <= 18 and int(before) > 0):
        raise PageError(400, "Bad page link", "That link to older dead letters is not one this console made.")
    with request.app.state.db.read() as conn:
        items = list_dead_letters(conn, DEAD_LETTER_PAGE + 1, int(before) if before else None)
    more = len(items) > DEAD_LETTER_PAGE
    items = items[:DEAD_LETTER_PAGE]
    return render(
        request,
        "dead_letters.html",
        {
            "title": "Dead letters",
            "items": items,
            "current": "dead-letters",
            "paged": before is not None,
            "next_before": items[-1]["id"] if more else None,
        },
    )


@router.get("/console/{rest:path}")
def not_found(request: Request, rest: str) -> Response:
    signed_in(request)  # strangers learn nothing about which pages exist
    if not rest:
        return redirect("/console")
    return error_page(request, 404, "Page not found", "There is no console page at this address.")


portal_fallback = APIRouter(include_in_schema=False)


@portal_fallback.get("/portal/{rest:path}")
def portal_not_found(request: Request, rest: str, _session: Customer) -> Response:
    if not rest:
        return redirect("/portal")
    raise PageError(404, "Page not found", "There is no page at this address. Start again from My preferences.")


def mount_console(app: FastAPI) -> None:
    """Add the console's and the portal's routes and static files to the app."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(PageError, on_page_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(PortalSignInRequired, on_portal_sign_in_required)
    for module in (
        profile_page,
        admin_pages,
        data_requests_page,
        portal_auth,
        portal_pages,
        portal_data,
        unsubscribe_page,
    ):
        app.include_router(module.router)
    app.include_router(router)  # last: its catch-alls must not shadow the pages above
    app.include_router(portal_fallback)
