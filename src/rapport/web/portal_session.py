"""The customer portal's session: a signed cookie naming the customer's profile, apart from the staff one.

The cookie holds only the profile id and a random nonce. The profile is looked up again on every
request: a merged profile answers its survivor, an erased one voids the session at once. The
profile a page shows comes only from here, never from the URL or a form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from rapport.access.customers import signed_in_profile
from rapport.web.cookies import SignedCookie, csrf_matches
from rapport.web.panels import sites_of
from rapport.web.session import PageError, check_same_site

# Path /portal: never sent to the console, the API or the unsubscribe page.
PORTAL_COOKIE = SignedCookie("rapport_portal", "rapport.portal.session", "/portal", 2 * 60 * 60)


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
    PORTAL_COOKIE.issue(request, response, {"p": profile_id})
    request.state.portal_session = None  # the new cookie counts from the next request


def end_portal_session(request: Request, response: Response) -> None:
    PORTAL_COOKIE.clear(response)
    request.state.portal_session = None


def read_portal_session(request: Request) -> PortalSession | None:
    """The customer's session, or None when the cookie is missing, forged, expired or its profile erased."""
    if hasattr(request.state, "portal_session"):
        return request.state.portal_session  # type: ignore[no-any-return]
    session = None
    data = PORTAL_COOKIE.read(request)
    if data is not None and isinstance(data.get("p"), str) and data["p"]:
        with request.app.state.db.read() as conn:
            canonical = signed_in_profile(conn, data["p"])
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
