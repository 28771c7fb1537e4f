"""The console's session: a signed cookie naming a session kept on the server, and CSRF tokens bound
to it.

The session names the staff token; the staff member is looked up again on every request, and signing
out or revoking the token ends the session on the server, so a copied cookie stops working at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from rapport.access import service as access
from rapport.access.model import GRANTS, Permission, Staff
from rapport.web.cookies import SignedCookie, csrf_matches

CONSOLE_LIFETIME = timedelta(hours=12)
CONSOLE_COOKIE = SignedCookie("rapport_console", "rapport.console.session", "/", CONSOLE_LIFETIME)


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in staff member; answered with a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """A client mistake or a refusal, answered with an HTML page of this status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True)
class Session:
    staff: Staff
    nonce: str
    csrf: str


def start_session(request: Request, response: Response, staff: Staff) -> None:
    session_id = access.open_session(request.app.state.db, "console", str(staff.token_id), CONSOLE_LIFETIME)
    CONSOLE_COOKIE.issue(request, response, session_id)


def end_session(request: Request, response: Response, session: Session | None) -> None:
    if session is not None:
        access.end_session(request.app.state.db, session.nonce)
    CONSOLE_COOKIE.clear(response)


def read_session(request: Request) -> Session | None:
    """The signed-in session, or None when the cookie is missing, forged, expired or its token revoked."""
    if hasattr(request.state, "console_session"):
        return request.state.console_session  # type: ignore[no-any-return]
    session = None
    data = CONSOLE_COOKIE.read(request)
    if data is not None:
        with request.app.state.db.read() as conn:
            subject = access.session_subject(conn, "console", data["n"])
            staff = access.staff_by_id(conn, int(subject)) if subject and subject.isdigit() else None
        session = Session(staff, data["n"], CONSOLE_COOKIE.csrf(request, data["n"])) if staff else None
    request.state.console_session = session
    return session


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a console path on this site, never elsewhere."""
    if not value:
        return "/console"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or "\\" in value:
        return "/console"
    if parts.path.startswith("/console/sign-"):
        return "/console"
    return value


def requested(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signed_in(request: Request) -> Session:
    session = read_session(request)
    if session is None:
        raise SignInRequired(requested(request) if request.method == "GET" else "/console")
    return session


def requires(permission: Permission) -> Callable[[Session], Session]:
    """A page dependency: the session of a staff member whose role has `permission`, else a 403 page.

    Use as `Annotated[Session, Depends(requires(Permission.SOURCES_READ))]`.
    """
    permission = Permission(permission)  # a mistyped permission fails when the page is declared

    def check(session: Annotated[Session, Depends(signed_in)]) -> Session:
        if not session.staff.may(permission):
            what = GRANTS[permission].ability
            raise PageError(
                403,
                "Not allowed",
                f"The {session.staff.role} role may not {what}. Ask an administrator if your work needs it.",
            )
        return session

    return check


def check_same_site(request: Request) -> None:
    """A browser says where a form came from; accept only this origin (scheme, host and port).

    Another port or a sibling subdomain is the same *site* but another origin, and a page there could
    post a form here: a login CSRF signs the victim in as the attacker. `Sec-Fetch-Site` says which it
    was; a page with `Referrer-Policy: no-referrer` (the portal's link page) posts with `Origin: null`,
    so `null` proves nothing either way and Fetch Metadata decides. A client that sends neither header
    is no browser, so no CSRF is possible."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise PageError(403, "Request refused", "The form was sent from another site.")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PageError(403, "Request refused", "The form was sent from another site.")


def check_csrf(request: Request, session: Session, submitted: str) -> None:
    """A form post must carry this session's token and come from this site."""
    check_same_site(request)
    if not csrf_matches(submitted, session.csrf):
        raise PageError(
            403,
            "Request refused",
            "The form had expired or did not come from this console. Go back, reload and try again.",
        )
