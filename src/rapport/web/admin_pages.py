"""The console's admin pages: sources with their write keys (rotate a key, disable a source) and
staff tokens (revoke one). Each change is audited with the member of staff who made it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.service import list_tokens, revoke_token
from rapport.collect.service import (
    Source,
    SourceError,
    disable_source,
    disabled_source_name,
    list_sources,
    rotate_write_key,
)
from rapport.db.metadata import MAX_INT_ID
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

SourceReader = Annotated[Session, Depends(requires("sources:read"))]
SourceManager = Annotated[Session, Depends(requires("sources:manage"))]
TokenManager = Annotated[Session, Depends(requires("tokens:manage"))]


def _number(text: str) -> bool:
    """A source's or token's id as a URL may give it: digits only, within their integer column."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_INT_ID


@router.get("/sources")
def sources(request: Request, session: SourceReader, rotated: str = "", disabled: str = "") -> Response:
    with request.app.state.db.read() as conn:
        items = list_sources(conn)
        gone = disabled_source_name(conn, int(disabled)) if _number(disabled) else None
    return render(
        request,
        "sources.html",
        {
            "title": "Sources",
            "items": items,
            "current": "sources",
            "may_manage": session.staff.may("sources:manage"),
            "rotated": next((s for s in items if str(s.id) == rotated), None),
            "disabled": gone,
        },
    )


def _confirmed(request: Request, session: Session, csrf: str, confirm: str, source_id: str) -> Source:
    """The enabled source a change names, once the form is genuine and the change confirmed: its
    clients lose events they send with the old key (SDKs do not retry a 401)."""
    check_csrf(request, session, csrf)
    if confirm != "yes":
        raise PageError(400, "Confirm first", "Tick the box that says what this change does. Nothing was changed.")
    with request.app.state.db.read() as conn:
        found = next((s for s in list_sources(conn) if str(s.id) == source_id), None)
    if found is None:
        raise PageError(404, "No such source", "No enabled source has that number. Nothing was changed.")
    return found


# A change to a source: the service that makes it, and the query parameter the page reports it by.
SOURCE_CHANGES = {"rotate-key": (rotate_write_key, "rotated"), "disable": (disable_source, "disabled")}


@router.post("/sources/{source_id}/{change}")
def post_source_change(
    request: Request,
    source_id: str,
    change: str,
    session: SourceManager,
    csrf: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Rotate a source's write key, or disable the source (what it sent stays). This server refuses
    the old key at once."""
    if change not in SOURCE_CHANGES:
        raise PageError(404, "Page not found", "There is no console page at this address.")
    make, reported_as = SOURCE_CHANGES[change]
    source = _confirmed(request, session, csrf, confirm, source_id)
    try:
        make(request.app.state.db, source.name, session.staff.actor, channel="console")
    except SourceError as exc:  # disabled meanwhile
        raise PageError(404, "No such source", str(exc)) from None
    request.app.state.sources.forget(source.id)
    return redirect(f"/console/sources?{reported_as}={source.id}")


@router.get("/tokens")
def tokens(request: Request, session: TokenManager, revoked: str = "") -> Response:
    with request.app.state.db.read() as conn:
        items = list_tokens(conn)
    return render(
        request,
        "tokens.html",
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
    except LookupError as exc:
        raise PageError(404, "No such token", f"{exc}. Nothing was revoked.") from None
    except ValueError as exc:
        raise PageError(409, "Already revoked", str(exc)) from None
    return redirect(f"/console/tokens?revoked={int(token_id)}")
