"""The two site shells on the app: static files, the console's sign-in and sign-out, the error pages
of both sites, and the pages the contexts contribute (`rapport.contexts`).

Pages are server-rendered with Jinja2 and need no script. Every refusal or bad input answers an
HTML page with a 4xx status; `/console/**` and `/portal/**` never answer JSON. An address no page
answers is a 404 page in the look of its site: found by the exception handler, not by catch-all
routes, so the order pages are mounted in never matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rapport.access.service import authenticate
from rapport.kernel.errors import DomainError, domain_error_response, http_error_response
from rapport.web.panels import Sites
from rapport.web.portal_render import on_page_error, on_portal_sign_in_required, portal_error_page
from rapport.web.portal_session import PortalSignInRequired, read_portal_session
from rapport.web.render import STATIC_DIR, error_page, on_sign_in_required, redirect, redirect_to_sign_in, render
from rapport.web.session import (
    PageError,
    SignInRequired,
    check_csrf,
    check_same_site,
    end_session,
    read_session,
    requested,
    safe_next,
    signed_in,
    start_session,
)

router = APIRouter(include_in_schema=False)

MAX_TOKEN = 512
PAGE_TITLES = {"not_found": "Not found", "conflict": "Not done", "gone": "No longer there", "forbidden": "Not allowed"}


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/")
def console_slash(request: Request) -> Response:
    signed_in(request)  # strangers learn nothing about which pages exist
    return redirect("/console")


@router.get("/portal/")
def portal_slash(request: Request) -> Response:
    if read_portal_session(request) is None:
        raise PortalSignInRequired()
    return redirect("/portal")


@router.get("/console/sign-in")
def sign_in_form(request: Request, next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    context = {"title": "Sign in", "next": safe_next(next_url), "error": None}
    return render(request, "console/sign_in.html", context)


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
        context = {"title": "Sign in", "next": safe_next(next_url), "error": error}
        return render(request, "console/sign_in.html", context, 401)
    response = redirect(safe_next(next_url))
    start_session(request, response, staff)
    return response


@router.post("/console/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    session = read_session(request)
    if session is not None:
        check_csrf(request, session, csrf)
    response = redirect("/console/sign-in")
    end_session(request, response, session)
    return response


def _page_not_found(request: Request) -> Response | None:
    """The 404 of a site's address, as a page of that site; None for any other address."""
    path = request.url.path
    if path == "/console" or path.startswith("/console/"):
        if read_session(request) is None:  # strangers learn nothing about which pages exist
            return redirect_to_sign_in(requested(request) if request.method == "GET" else "/console")
        return error_page(request, 404, "Page not found", "There is no console page at this address.")
    if path == "/portal" or path.startswith("/portal/"):
        if read_portal_session(request) is None:
            return redirect("/portal/sign-in")
        message = "There is no page at this address. Start again from My preferences."
        return portal_error_page(request, 404, "Page not found", message)
    return None


def mount_sites(app: FastAPI, pages: Iterable[APIRouter], sites: Sites) -> None:
    """Add the console's and the portal's pages and static files to the app."""
    app.state.sites = sites
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(PageError, on_page_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(PortalSignInRequired, on_portal_sign_in_required)
    app.include_router(router)
    for page_router in pages:
        app.include_router(page_router)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and (page := _page_not_found(request)) is not None:
            return page
        return http_error_response(exc)

    app.add_exception_handler(StarletteHTTPException, on_http_error)

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        """A service's refusal that a page did not word itself: a page of its site, never JSON."""
        assert isinstance(exc, DomainError)
        if request.url.path.startswith(("/console", "/portal")):
            title = PAGE_TITLES.get(exc.kind, "Not done")
            return await on_page_error(request, PageError(exc.status, title, exc.message))
        return domain_error_response(exc)

    app.add_exception_handler(DomainError, on_domain_error)
