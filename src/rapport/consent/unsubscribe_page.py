"""The page an unsubscribe link opens: what it stops, and a button that stops it.

Opening the link changes nothing (mail scanners open links too); the button posts the RFC 8058
one-click form to the same address, which withdraws the consent at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport.consent.model import current_state
from rapport.consent.service import consent_ledger
from rapport.consent.unsubscribe import UnsubscribeTarget, read_token
from rapport.consent.view import CHANNEL_TEXT, PURPOSE_TEXT
from rapport.identity.service import members_of
from rapport.kernel.errors import DomainError, Invalid, NotFound
from rapport.web.portal_render import render_portal
from rapport.web.session import PageError

router = APIRouter(include_in_schema=False)

MAX_TOKEN = 2048


def _already_withdrawn(request: Request, target: UnsubscribeTarget) -> bool:
    with request.app.state.db.read() as conn:
        try:
            _, members = members_of(conn, target.profile_id)
        except NotFound:
            return True  # erased: nothing is sent to them any more
        state = current_state(consent_ledger(conn, members))
    record = state.get((target.purpose, target.channel, target.contact_point))
    return record is not None and record.status != "granted"


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    try:
        if len(token) > MAX_TOKEN:
            raise Invalid("invalid_token", "too long")
        target = read_token(request.app.state.db, token)
    except DomainError:
        raise PageError(
            400,
            "This unsubscribe link is not valid",
            "It may have been cut short or altered. Copy the whole link from the email, "
            "or sign in to choose what we send you.",
        ) from None
    return render_portal(
        request,
        "portal/consent/unsubscribe.html",
        {
            "title": "Unsubscribe",
            "target": target,
            "token": token,
            "done": _already_withdrawn(request, target),
            "purpose_text": PURPOSE_TEXT,
            "channel_text": CHANNEL_TEXT,
        },
        anonymous=True,
    )
