"""The portal's "For you": the suggestions to adapt the experience (yes / no, undo), the layout the
customer chose, and what we recommend to them, each with "Why am I seeing this?" (the reason and the
data of theirs it used; nothing of anyone else's but totals).

The profile is always the session's; a suggestion id that is not theirs is answered as one that
does not exist, whatever id is tried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.decide import model
from rapport.decide.recommend import decide
from rapport.decide.service import Ask, Person, scope_of
from rapport.decide.store import load_items
from rapport.decide.suggest_service import answer_suggestion, suggestions_for, undo_answer
from rapport.decide.training import cache_for
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, NotFound
from rapport.web.panels import NavEntry
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired, check_portal_csrf
from rapport.web.render import redirect
from rapport.web.session import PageError

router = APIRouter(prefix="/portal/suggestions", include_in_schema=False)
NOT_YOURS = ("No such suggestion", "We found no suggestion of yours with that number.")
DONE = {
    "yes": "Done: your layout is changed. You can undo it below.",
    "no": "We will not ask you that again for a while. You can undo your answer below.",
    "undone": "Your answer is undone: the question is open again.",
}
RECOMMENDED = 6
ACTION_WORDS = {
    model.PURCHASED: "You bought",
    model.ADDED: "You added to your basket",
    model.VIEWED: "You looked at",
}
LEVEL_WORDS = {
    "personal": "your history with us on every channel, as you allowed",
    "contextual": "only what you did in this visit (the last 30 minutes)",
    "none": "nothing of yours: everyone sees the same",
}


def _members(conn: Connection, profile_id: str) -> list[str]:
    try:
        return members_of(conn, profile_id)[1]
    except NotFound:
        raise PortalSignInRequired() from None  # erased a moment ago


def _why(conn: Connection, person: Person, outcome: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Each item with the data of the customer's it used: the lines of their own item its reason names."""
    scope = scope_of(conn, person, Ask(), now)
    lines = scope.lines  # what the one permission check lets the decision read, as it did
    names = load_items(conn, sorted({i["because"] for i in outcome["items"] if i.get("because")}))
    shown = []
    for item in outcome["items"]:
        because = item.get("because")
        name = names[because].name if because in names else because
        used = [
            f"{ACTION_WORDS[line.action]} {name} on {line.at.day} {line.at:%B %Y}"
            for line in lines
            if line.item_id == because and line.action in ACTION_WORDS
        ][-3:]
        factors = item.get("factors", {})
        shown.append(
            {
                **item,
                "used": used,
                "popular": bool(factors.get("popularity")) and not used,
            }
        )
    return shown


@router.get("")
def for_you(request: Request, session: Customer, done: str = "") -> Response:
    db = request.app.state.db
    now = utcnow()
    try:
        asked = suggestions_for(db, session.profile_id, channel="web", now=now)
    except NotFound:
        raise PortalSignInRequired() from None
    with db.read() as conn:
        members = _members(conn, session.profile_id)
    person = Person(asked["profile_id"], tuple(members))
    outcome = decide(db, cache_for(db), person, Ask("home", "web", RECOMMENDED), actor=session.actor, now=now)
    with db.read() as conn:
        recommended = _why(conn, person, outcome, now)
    context = {
        "title": "Suggestions",
        "current": "suggestions",
        "asked": asked,
        "recommended": recommended,
        "decision": outcome,
        "level_words": LEVEL_WORDS.get(outcome["level"], ""),
        "done": DONE.get(done, ""),
    }
    return render_portal(request, "portal/decide/suggestions.html", context)


def _act(request: Request, session: Any, suggestion_id: str, answer: str | None) -> Response:
    db = request.app.state.db
    with db.read() as conn:
        members = _members(conn, session.profile_id)
    try:
        if answer is None:
            undo_answer(db, suggestion_id, actor=session.actor, channel="portal", owner=members)
        else:
            answer_suggestion(db, suggestion_id, answer, actor=session.actor, channel="portal", owner=members)
    except NotFound:
        raise PageError(404, *NOT_YOURS) from None
    except DomainError as exc:
        raise PageError(exc.status, "Not changed", exc.message) from None
    return redirect(f"/portal/suggestions?done={answer or 'undone'}")


@router.post("/{suggestion_id}/answer")
def answer(
    request: Request,
    suggestion_id: str,
    session: Customer,
    csrf: Annotated[str, Form()] = "",
    answer: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    check_portal_csrf(request, session, csrf)
    if answer not in ("yes", "no"):
        raise PageError(400, "No answer", "Choose Yes or No.")
    return _act(request, session, suggestion_id, answer)


@router.post("/{suggestion_id}/undo")
def undo(request: Request, suggestion_id: str, session: Customer, csrf: Annotated[str, Form()] = "") -> Response:
    check_portal_csrf(request, session, csrf)
    return _act(request, session, suggestion_id, None)


PORTAL_NAV = (NavEntry("suggestions", "/portal/suggestions", "Suggestions", order=12),)
