"""Console pages of collection: sources with their write keys and trust levels (rotate a key, disable
a source, change its trust; each change audited with the member of staff who made it), and the dead
letters: what was refused, and why."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.collect.model import CLIENT, SERVER
from rapport.collect.service import (
    Source,
    SourceError,
    disable_source,
    disabled_source_name,
    list_dead_letters,
    list_sources,
    rotate_write_key,
    set_source_trust,
)
from rapport.db.engine import Database
from rapport.db.metadata import MAX_INT_ID
from rapport.web.panels import NavEntry
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

SourceReader = Annotated[Session, Depends(requires(Permission.SOURCES_READ))]
SourceManager = Annotated[Session, Depends(requires(Permission.SOURCES_MANAGE))]
DeadLetterReader = Annotated[Session, Depends(requires(Permission.DEAD_LETTERS_READ))]
DEAD_LETTER_PAGE = 50


def _number(text: str) -> bool:
    """A source's or token's id as a URL may give it: digits only, within their integer column."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_INT_ID


@router.get("/sources")
def sources(
    request: Request, session: SourceReader, rotated: str = "", disabled: str = "", trusted: str = ""
) -> Response:
    with request.app.state.db.read() as conn:
        items = list_sources(conn)
        gone = disabled_source_name(conn, int(disabled)) if _number(disabled) else None
    return render(
        request,
        "console/collect/sources.html",
        {
            "title": "Sources",
            "items": items,
            "current": "sources",
            "may_manage": session.staff.may(Permission.SOURCES_MANAGE),
            "rotated": next((s for s in items if str(s.id) == rotated), None),
            "trusted": next((s for s in items if str(s.id) == trusted), None),
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


def _set_trust(trust: str, db: Database, name: str, actor: str, channel: str) -> Source:
    return set_source_trust(db, name, trust, actor, channel)


# A change to a source: the service that makes it, and the query parameter the page reports it by.
SOURCE_CHANGES: dict[str, tuple[Callable[..., Source], str]] = {
    "rotate-key": (rotate_write_key, "rotated"),
    "disable": (disable_source, "disabled"),
    "trust-client": (partial(_set_trust, CLIENT), "trusted"),
    "trust-server": (partial(_set_trust, SERVER), "trusted"),
}


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


@router.get("/dead-letters")
def dead_letters(request: Request, _session: DeadLetterReader, before: str | None = None) -> Response:
    if before is not None and not (before.isascii() and before.isdigit() and 0 < len(before) <= 18 and int(before) > 0):
        raise PageError(400, "Bad page link", "That link to older dead letters is not one this console made.")
    with request.app.state.db.read() as conn:
        items = list_dead_letters(conn, DEAD_LETTER_PAGE + 1, int(before) if before else None)
    more = len(items) > DEAD_LETTER_PAGE
    items = items[:DEAD_LETTER_PAGE]
    return render(
        request,
        "console/collect/dead_letters.html",
        {
            "title": "Dead letters",
            "items": items,
            "current": "dead-letters",
            "paged": before is not None,
            "next_before": items[-1]["id"] if more else None,
        },
    )


NAV = (
    NavEntry("dead-letters", "/console/dead-letters", "Dead letters", Permission.DEAD_LETTERS_READ, order=20),
    NavEntry("sources", "/console/sources", "Sources", Permission.SOURCES_READ, order=30),
)
