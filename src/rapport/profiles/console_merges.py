"""Console: the Customer 360's merge history, merging in a profile of the same person, and undoing a
merge that was wrong. Every merge and undo is audited by identity's services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.identity.service import merge_history, merge_profiles, undo_merge
from rapport.kernel.errors import DomainError, storable
from rapport.profiles.console import MAX_ID_LENGTH, load_view
from rapport.profiles.processor import rules_from
from rapport.profiles.service import exact_matches
from rapport.web.panels import Panel, Subject
from rapport.web.render import redirect
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

Undoer = Annotated[Session, Depends(requires(Permission.MERGES_UNDO))]
Merger = Annotated[Session, Depends(requires(Permission.MERGES_MAKE))]


def _merges(conn: Connection, subject: Subject, request: Request) -> dict[str, Any]:
    staff = request.state.console_session.staff
    return {
        "profile_id": subject.profile_id,
        "merges": merge_history(conn, subject.members),
        "may_undo": staff.may(Permission.MERGES_UNDO),
        "may_merge": staff.may(Permission.MERGES_MAKE),
    }


def _notice(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any] | None:
    """A merge this reader just made or undid, named by the page's query."""
    undone, merged = subject.query.get("undone"), subject.query.get("merged")
    if not undone and not merged:
        return None
    merges = merge_history(conn, subject.members)
    return {
        "undone": next((m for m in merges if undone and str(m["id"]) == undone and m["undone_at"]), None),
        "merged": next((m for m in merges if merged and str(m["id"]) == merged and not m["undone_at"]), None),
    }


PROFILE_PANELS = (
    Panel("merge-notice", "console/profiles/panel_merge_notice.html", _notice, order=1),
    Panel("merges", "console/profiles/panel_merges.html", _merges, order=90),
)


@router.post("/profiles/{profile_id}/merge")
def post_merge(
    request: Request,
    profile_id: str,
    session: Merger,
    csrf: Annotated[str, Form()] = "",
    other: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Merge the profile that `other` names exactly (see `exact_matches`) into this one."""
    check_csrf(request, session, csrf)
    view = load_view(request, profile_id)
    rules = rules_from(request.app.state.db.settings)
    other, reason = storable(other[:400]).strip(), storable(reason)
    with request.app.state.db.read() as conn:
        found = exact_matches(conn, other, rules)
    if not found:
        raise PageError(404, "No such customer", "No profile has that id or identifier. Nothing was merged.")
    if len(found) > 1:
        raise PageError(
            409,
            "Which customer?",
            f"“{other}” names {len(found)} customers. Give a profile id. Nothing was merged.",
        )
    try:
        result = merge_profiles(
            request.app.state.db,
            view.id,
            found[0],
            reason=reason,
            actor=session.staff.actor,
            limits=rules.limits,
            channel="console",
        )
    except DomainError as exc:
        titles = {400: "Say why", 404: "No such customer", 409: "Not merged"}
        raise PageError(exc.status, titles.get(exc.status, "Not merged"), exc.message) from None
    return redirect(f"/console/profiles/{view.id}?merged={int(result['id'])}")


@router.post("/merges/{merge_id}/undo")
def post_undo(
    request: Request,
    merge_id: str,
    session: Undoer,
    csrf: Annotated[str, Form()] = "",
    profile: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    if not (merge_id.isascii() and merge_id.isdigit() and len(merge_id) <= 18):
        raise PageError(404, "No such merge", "No merge has that number.")
    try:
        result = undo_merge(request.app.state.db, int(merge_id), session.staff.actor, channel="console")
    except DomainError as exc:
        titles = {404: "No such merge", 409: "Already undone"}
        raise PageError(exc.status, titles.get(exc.status, "Could not undo"), exc.message) from None
    back = profile if profile and len(profile) <= MAX_ID_LENGTH and profile.isalnum() else result["survivor_id"]
    return redirect(f"/console/profiles/{back}?undone={int(merge_id)}")
