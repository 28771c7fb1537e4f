"""Customer 360: one customer across every channel, their consent and preferences, merging in a
profile of the same person, and undoing a merge that was wrong."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.consent.model import current_state
from rapport.consent.service import consent_ledger, load_preferences
from rapport.db.metadata import utcnow
from rapport.errors import ApiError, storable
from rapport.identity.service import merge_history, merge_profiles, undo_merge
from rapport.outbound.store import history
from rapport.profiles.processor import rules_from
from rapport.profiles.service import ProfileView, exact_matches, load_profile, timeline
from rapport.web.consent_view import LEVEL_TEXT
from rapport.web.present import decode_cursor, display_name, encode_cursor, event_details, event_title
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 25
CONTACT_ROWS = 25
ACCESSIBILITY = ("large_text", "high_contrast", "reduced_motion")
MAX_ID_LENGTH = 64

Reader = Annotated[Session, Depends(requires("profiles:read"))]
Undoer = Annotated[Session, Depends(requires("merges:undo"))]
Merger = Annotated[Session, Depends(requires("merges:make"))]


def _load(request: Request, profile_id: str) -> ProfileView:
    view = None
    if 0 < len(profile_id) <= MAX_ID_LENGTH and profile_id.isprintable():
        with request.app.state.db.read() as conn:
            view = load_profile(conn, profile_id)
    if view is None:
        raise PageError(404, "No such customer", "No customer profile has that id. It may have been erased.")
    return view


def _timeline(request: Request, view: ProfileView, before: str | None) -> tuple[list[dict[str, Any]], str | None]:
    cursor = decode_cursor(before) if before else None
    with request.app.state.db.read() as conn:
        rows = timeline(conn, view.members, PAGE_SIZE + 1, cursor)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    items = [{**r, "title": event_title(r), "details": event_details(r)} for r in rows]
    next_cursor = encode_cursor(rows[-1]["timestamp"], rows[-1]["id"]) if more else None
    return items, next_cursor


def _consent(request: Request, view: ProfileView) -> dict[str, Any]:
    """What the customer agreed to, how personal they want it, and what was sent to them."""
    with request.app.state.db.read() as conn:
        ledger = consent_ledger(conn, view.members)
        prefs = load_preferences(conn, view.id)
        contacts = history(conn, view.members, CONTACT_ROWS)
    now = utcnow()
    current = sorted(current_state(ledger).values(), key=lambda r: (r.purpose, r.channel, r.contact_point or ""))
    return {
        "current": [(r, r.in_force(now)) for r in current],
        "prefs": prefs,
        "level": LEVEL_TEXT[prefs.personalization_level][0],
        "accessibility": ", ".join(name.replace("_", " ") for name in ACCESSIBILITY if getattr(prefs, name)),
        "contacts": contacts,
        "contact_rows": CONTACT_ROWS,
    }


@router.get("/profiles/{profile_id}")
def customer_360(
    request: Request,
    profile_id: str,
    session: Reader,
    before: str | None = None,
    undone: str | None = None,
    merged: str | None = None,
) -> Response:
    view = _load(request, profile_id)
    events, next_cursor = _timeline(request, view, before)
    with request.app.state.db.read() as conn:
        merges = merge_history(conn, view.members)
    consent = _consent(request, view) if session.staff.may("consent:read") else None
    return render(
        request,
        "profile.html",
        {
            "consent": consent,
            "title": display_name(view.traits) or f"Customer {view.id}",
            "view": view,
            "asked_for": profile_id,
            "events": events,
            "next_cursor": next_cursor,
            "paged": before is not None,
            "merges": merges,
            "may_undo": session.staff.may("merges:undo"),
            "undone": next((m for m in merges if undone and str(m["id"]) == undone and m["undone_at"]), None),
            "may_merge": session.staff.may("merges:make"),
            "merged": next((m for m in merges if merged and str(m["id"]) == merged and not m["undone_at"]), None),
        },
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
    view = _load(request, profile_id)
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
    except ApiError as exc:
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
    except ApiError as exc:
        titles = {404: "No such merge", 409: "Already undone"}
        raise PageError(exc.status, titles.get(exc.status, "Could not undo"), exc.message) from None
    back = profile if profile and len(profile) <= MAX_ID_LENGTH and profile.isalnum() else result["survivor_id"]
    return redirect(f"/console/profiles/{back}?undone={int(merge_id)}")
