"""The customer portal's session: a signed cookie naming the customer's profile, apart from the staff one.

The cookie holds only the profile id and a random nonce. The profile is looked up again on every
request: a merged profile answers its survivor, an erased one voids the session at once. The
profile a page shows comes only from here, never from the URL or a form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapport.consent.service import consent_ledger, members_of, record_consent
from rapport.db.metadata import utcnow
from rapport.errors import NotFound
from rapport.profiles.service import canonical_of
from rapport.web.consent_view import gpc_needed, gpc_record
from rapport.web.session import PageError, check_same_site, secret_of

COOKIE = "rapport_portal"
MAX_AGE_S = 2 * 60 * 60
SALT = "rapport.portal.session"
COOKIE_PATH = "/portal"  # never sent to the console, the API or the unsubscribe page


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


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_of(request), salt=SALT)


def _csrf(request: Request, nonce: str) -> str:
    return hmac.new(secret_of(request).encode(), f"portal-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def start_portal_session(request: Request, response: Response, profile_id: str) -> None:
    value = _serializer(request).dumps({"p": profile_id, "n": secrets.token_urlsafe(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
    )
    request.state.portal_session = None  # the new cookie counts from the next request


def end_portal_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
    request.state.portal_session = None


def read_portal_session(request: Request) -> PortalSession | None:
    """The customer's session, or None when the cookie is missing, forged, expired or its profile erased."""
    if hasattr(request.state, "portal_session"):
        return request.state.portal_session  # type: ignore[no-any-return]
    session = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=MAX_AGE_S)
            profile_id, nonce = data["p"], data["n"]
            if not isinstance(profile_id, str) or not isinstance(nonce, str):
                raise TypeError("not a portal session")
        except (BadSignature, KeyError, TypeError, ValueError):
            profile_id, nonce = None, ""
        if profile_id:
            with request.app.state.db.read() as conn:
                canonical = canonical_of(conn, profile_id)
            session = PortalSession(canonical, nonce, _csrf(request, nonce)) if canonical else None
    request.state.portal_session = session
    return session


def honour_gpc(request: Request, session: PortalSession) -> None:
    """A browser that sends `Sec-GPC: 1` opts its user out of sharing: record it once, and say so."""
    request.state.gpc = request.headers.get("sec-gpc", "").strip() == "1"
    if not request.state.gpc:
        return
    db = request.app.state.db
    try:
        with db.read() as conn:
            needed = gpc_needed(consent_ledger(conn, members_of(conn, session.profile_id)[1]))
        if needed:
            record_consent(db, session.profile_id, gpc_record(utcnow()), actor=session.actor, via="portal")
    except NotFound:
        raise PortalSignInRequired() from None  # erased a moment ago


def signed_in_customer(request: Request) -> PortalSession:
    session = read_portal_session(request)
    if session is None:
        raise PortalSignInRequired()
    honour_gpc(request, session)
    return session


Customer = Annotated[PortalSession, Depends(signed_in_customer)]


def check_portal_csrf(request: Request, session: PortalSession, submitted: str) -> None:
    """A portal form post must carry this session's token and come from this site."""
    check_same_site(request)
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise PageError(
            403,
            "Request refused",
            "The form had expired or did not come from this site. Go back, reload the page and try again.",
        )
