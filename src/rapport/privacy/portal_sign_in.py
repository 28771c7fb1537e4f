"""Customers signing in to the portal with a one-time link, and signing out.

Asking for a link answers the same page whether or not the address is known, and the link is
made and mailed after the answer has gone, so neither the words nor the timing tell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from rapport.access.customers import CONFIRM, check_portal_link, redeem_portal_link
from rapport.db.engine import Database
from rapport.identity.model import normalize_email
from rapport.kernel.errors import DomainError
from rapport.kernel.limits import WindowLimit
from rapport.outbound.confirm import confirm_address
from rapport.privacy.sign_in import request_sign_in_link
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import check_portal_csrf, end_portal_session, read_portal_session, start_portal_session
from rapport.web.render import redirect
from rapport.web.session import PageError, check_same_site

router = APIRouter(prefix="/portal", include_in_schema=False)

T = TypeVar("T")
MAX_EMAIL = 320
MAX_LINK_TOKEN = 512
SIGN_IN_WINDOW_S = 15 * 60


def _form(request: Request, error: str | None = None, email: str = "", status: int = 200) -> Response:
    signed_out = request.query_params.get("signed_out") == "1"
    return render_portal(
        request,
        "portal/privacy/sign_in.html",
        {
            "title": "Sign in",
            "error": error,
            "email": email,
            "signed_out": signed_out and not error,
        },
        status,
    )


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if read_portal_session(request) is not None:
        return redirect("/portal")
    return _form(request)


@router.post("/sign-in")
def ask_for_link(request: Request, tasks: BackgroundTasks, email: Annotated[str, Form()] = "") -> Response:
    check_same_site(request)
    email = email.strip()
    if not email:
        return _form(request, "Enter the email address you use with us.", status=400)
    if len(email) > MAX_EMAIL or normalize_email(email) is None:
        return _form(
            request, "That does not look like an email address. Check it and try again.", email[:MAX_EMAIL], 400
        )
    wait_s = _sign_in_limits(request).take(request.client.host if request.client else "")
    if wait_s:  # the same answer for known and unknown addresses: it tells nothing about them
        minutes = max(1, round(wait_s / 60))
        raise PageError(
            429, "Too many sign-in requests", f"Too many sign-in links were asked for. Try again in {minutes} minutes."
        )
    tasks.add_task(request_sign_in_link, request.app.state.db, email)
    return render_portal(request, "portal/privacy/link_sent.html", {"title": "Check your email", "email": email})


def _sign_in_limits(request: Request) -> WindowLimit:
    """Per client (IP) and in all, so neither one client nor many can flood people's mailboxes or our
    mail server; the per-address limit (privacy/sign_in.py) keeps any one mailbox quiet."""
    state = request.app.state
    if not hasattr(state, "sign_in_limits"):
        settings = state.settings
        state.sign_in_limits = WindowLimit(
            settings.sign_in_links_per_client, settings.sign_in_links_per_server, SIGN_IN_WINDOW_S
        )
    limits: WindowLimit = state.sign_in_limits
    return limits


def _link_errors(request: Request, token: str, use: Callable[[Database, str], T]) -> T:
    """Use a mailed link, turning what is wrong with it into a page that says what to do."""
    if len(token) > MAX_LINK_TOKEN:
        raise PageError(
            400,
            "This sign-in link is not valid",
            "Copy the whole link from the email, or ask for a new one on the sign-in page.",
        )
    try:
        return use(request.app.state.db, token)
    except DomainError as exc:
        if exc.status == 410:
            raise PageError(
                410,
                "This sign-in link has expired",
                "A sign-in link works once, for 30 minutes. Ask for a new one on the sign-in page.",
            ) from None
        raise PageError(
            400,
            "This sign-in link is not valid",
            "It may have been cut short or altered. Copy the whole link from the email, "
            "or ask for a new one on the sign-in page.",
        ) from None


@router.get("/auth/{token}")
def show_link(request: Request, token: str) -> Response:
    """Check the link and ask to continue: opening it spends nothing, so a mail scanner cannot use it up."""
    _link_errors(request, token, check_portal_link)
    response = render_portal(request, "portal/privacy/continue.html", {"title": "Sign in", "token": token})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/auth/{token}")
def follow_link(request: Request, token: str) -> Response:
    check_same_site(request)
    profile_id = _link_errors(request, token, redeem_portal_link)
    response = redirect("/portal")
    response.headers["Referrer-Policy"] = "no-referrer"
    start_portal_session(request, response, profile_id)
    return response


@router.get("/confirm/{token}")
def show_confirmation(request: Request, token: str) -> Response:
    """Check a confirmation link and ask to confirm: opening it spends nothing (mail scanners follow GETs)."""
    _link_errors(request, token, lambda db, t: check_portal_link(db, t, CONFIRM))
    response = render_portal(
        request, "portal/privacy/confirm.html", {"title": "Confirm your email address", "token": token}
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    """The address is proven and what waited at it comes into force; no session starts (outbound/confirm.py)."""
    check_same_site(request)
    done = _link_errors(request, token, confirm_address)
    response = render_portal(
        request,
        "portal/privacy/confirmed.html",
        {"title": "Address confirmed", "address": done.address, "granted": done.granted},
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    session = read_portal_session(request)
    if session is not None:
        check_portal_csrf(request, session, csrf)
    response = redirect("/portal/sign-in?signed_out=1")
    end_portal_session(request, response)
    return response
