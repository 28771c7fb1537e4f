"""The customer portal's session: a signed cookie naming a session kept on the server, apart from the
staff one.

The session names the customer's profile, looked up again on every request: a merged profile answers
its survivor, an erased one voids the session at once, and signing out ends it on the server, so a
copied cookie stops working. The profile a page shows comes only from here, never from the URL or a
form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response

from rapport.access import service as access
from rapport.access.customers import signed_in_profile
from rapport.web.cookies import SignedCookie, csrf_matches
from rapport.web.panels import sites_of
from rapport.web.session import PageError, check_same_site

# Path /portal: never sent to the console, the API or the unsubscribe page.
PORTAL_LIFETIME = timedelta(hours=2)
PORTAL_COOKIE = SignedCookie("rapport_portal", "rapport.portal.session", "/portal", PORTAL_LIFETIME)


class PortalSignInRequired(Exception):
    """Raised by a portal page that needs a signed-in customer; answered with a redirect to sign in."""


@dataclass(frozen=True)
class PortalSession:
    profile_id: str  # canonical, looked up on this request
    nonce: str
    csrf: str

    @property
    def actor(self) -> str:
        return f"customer:{self.profile_id}"


def start_portal_session(request: Request, response: Response, profile_id: str) -> None:
    session_id = access.open_session(request.app.state.db, "portal", profile_id, PORTAL_LIFETIME)
    PORTAL_COOKIE.issue(request, response, session_id)
    request.state.portal_session = None  # the new cookie counts from the next request


def end_portal_session(request: Request, response: Response) -> None:
    session = read_portal_session(request)
    if session is not None:
        access.end_session(request.app.state.db, session.nonce)
    PORTAL_COOKIE.clear(response)
    request.state.portal_session = None


def read_portal_session(request: Request) -> PortalSession | None:
    """The customer's session, or None when the cookie is missing, forged, expired or its profile erased."""
    if hasattr(request.state, "portal_session"):
        return request.state.portal_session  # type: ignore[no-any-return]
    session = None
    data = PORTAL_COOKIE.read(request)
    if data is not None:
        with request.app.state.db.read() as conn:
            subject = access.session_subject(conn, "portal", data["n"])
            canonical = signed_in_profile(conn, subject) if subject else None
        session = PortalSession(canonical, data["n"], PORTAL_COOKIE.csrf(request, data["n"])) if canonical else None
    request.state.portal_session = session
    return session


def signed_in_customer(request: Request) -> PortalSession:
    session = read_portal_session(request)
    if session is None:
        raise PortalSignInRequired()
    for hook in sites_of(request).portal_hooks:  # e.g. consent honours Global Privacy Control
        if hook.on_request is not None:
            hook.on_request(request, session.profile_id)
    return session


Customer = Annotated[PortalSession, Depends(signed_in_customer)]


def check_portal_csrf(request: Request, session: PortalSession, submitted: str) -> None:
    """A portal form post must carry this session's token and come from this site."""
    check_same_site(request)
    if not csrf_matches(submitted, session.csrf):
        raise PageError(
            403,
            "Request refused",
            "The form had expired or did not come from this site. Go back, reload the page and try again.",
        )
