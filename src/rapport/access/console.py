"""Console pages of access: the staff tokens, and revoking one (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.access.service import list_tokens, revoke_token
from rapport.db.metadata import MAX_INT_ID
from rapport.kernel.errors import DomainError
from rapport.web.panels import NavEntry
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

TokenManager = Annotated[Session, Depends(requires(Permission.TOKENS_MANAGE))]


def _number(text: str) -> bool:
    """A source's or token's id as a URL may give it: digits only, within their integer column."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_INT_ID


@router.get("/tokens")
def tokens(request: Request, session: TokenManager, revoked: str = "") -> Response:
    with request.app.state.db.read() as conn:
        items = list_tokens(conn)
    return render(
        request,
        "console/access/tokens.html",
        {
            "title": "Staff tokens",
            "items": list(reversed(items)),  # newest first
            "current": "tokens",
            "own_id": session.staff.token_id,
            "revoked": next((t for t in items if str(t["id"]) == revoked and t["revoked_at"]), None),
        },
    )


@router.post("/tokens/{token_id}/revoke")
def post_revoke(request: Request, token_id: str, session: TokenManager, csrf: Annotated[str, Form()] = "") -> Response:
    """The token stops working at once; revoking one's own signs one out."""
    check_csrf(request, session, csrf)
    if not _number(token_id):
        raise PageError(404, "No such token", "No token has that number. Nothing was revoked.")
    try:
        revoke_token(request.app.state.db, int(token_id), session.staff.actor, channel="console")
    except DomainError as exc:
        title = "Already revoked" if exc.kind == "conflict" else "No such token"
        raise PageError(exc.status, title, f"{exc.message}. Nothing was revoked.") from None
    return redirect(f"/console/tokens?revoked={int(token_id)}")


NAV = (NavEntry("tokens", "/console/tokens", "Staff tokens", Permission.TOKENS_MANAGE, order=40),)
