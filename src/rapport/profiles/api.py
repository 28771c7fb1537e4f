"""Staff API over profiles, merges and dead letters.

Handlers are plain functions: FastAPI runs them in its thread pool, so their database work never
stalls the event loop that takes ingest. Reads may ask to see their own writes: `?after=OFFSET`
(the `offset` a Tracking API answer returned) or `?consistent=true` (everything acknowledged so
far) waits until the processor has applied that much of the log.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from rapport.access.api import DeadLetterReader, IdentifierVerifier, MergeMaker, MergeUndoer, ProfileReader
from rapport.collect.service import list_dead_letters, log_head, read_offset
from rapport.db.metadata import MAX_ROW_ID
from rapport.identity.service import MAX_REASON, merge_history, merge_profiles, undo_merge, verify_identifier
from rapport.kernel.cursors import decode_cursor, encode_cursor
from rapport.kernel.errors import ApiError, NotFound, RequestBody
from rapport.profiles import service
from rapport.profiles.processor import CONSUMER, rules_from

router = APIRouter(prefix="/api/v1", tags=["profiles"])


def wait_for_log(request: Request, after: int | None, consistent: bool) -> None:
    db = request.app.state.db
    if not consistent and after is None:
        return
    with db.read() as conn:
        head = log_head(conn)
        if after is None:
            after = head
        elif after > head and read_offset(conn, CONSUMER) < after:  # no 2xx ever named it: waiting would not help
            message = f"no append reached log offset {after}; the log ends at {head}"
            raise ApiError(400, "offset_not_acknowledged", message)
    deadline = time.monotonic() + db.settings.consistency_timeout_s
    while True:
        with db.read() as conn:
            if read_offset(conn, CONSUMER) >= after:
                return
        if time.monotonic() > deadline:
            raise ApiError(
                503, "not_caught_up", f"profiles have not yet caught up with log offset {after}", {"Retry-After": "1"}
            )
        time.sleep(0.005)


Consistency = Annotated[bool, Query(description="wait until everything acknowledged so far is applied")]
After = Annotated[int | None, Query(ge=0, le=MAX_ROW_ID, description="wait until this log offset is applied")]


def _load(request: Request, profile_id: str) -> service.ProfileView:
    with request.app.state.db.read() as conn:
        view = service.load_profile(conn, profile_id)
    if view is None:
        raise NotFound(f"profile {profile_id!r}")
    return view


@router.get("/profiles")
def find_profiles(
    request: Request,
    _staff: ProfileReader,
    identifier: Annotated[str | None, Query(description="type:value, e.g. email:ada@example.com")] = None,
    q: Annotated[str | None, Query(description="free text: email, phone, id or part of a name")] = None,
    after: After = None,
    consistent: Consistency = False,
) -> dict[str, Any]:
    wait_for_log(request, after, consistent)
    db = request.app.state.db
    rules = rules_from(db.settings)
    with db.read() as conn:
        if identifier is not None:
            ident = service.parse_identifier(identifier, rules)
            if ident is None:
                raise ApiError(
                    400, "invalid_identifier", "use type:value, e.g. email:ada@example.com or phone:+14155550100"
                )
            found = service.find_by_identifier(conn, ident)
            ids = [found] if found else []
        elif q is not None:
            ids = service.search_profiles(conn, q, rules)
        else:
            raise ApiError(400, "missing_query", "give `identifier=type:value` or `q=text`")
        views = [service.load_profile(conn, pid) for pid in ids]
    return {"items": [v.public() for v in views if v]}


@router.get("/profiles/{profile_id}")
def get_profile(
    request: Request,
    profile_id: str,
    _staff: ProfileReader,
    after: After = None,
    consistent: Consistency = False,
) -> dict[str, Any]:
    wait_for_log(request, after, consistent)
    return _load(request, profile_id).public()


@router.get("/profiles/{profile_id}/timeline")
def get_timeline(
    request: Request,
    profile_id: str,
    _staff: ProfileReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    after: After = None,
    consistent: Consistency = False,
) -> dict[str, Any]:
    wait_for_log(request, after, consistent)
    view = _load(request, profile_id)
    before = decode_cursor(cursor) if cursor else None
    with request.app.state.db.read() as conn:
        items = service.timeline(conn, view.members, limit + 1, before)
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(items[-1]["timestamp"], items[-1]["id"]) if more else None
    return {"profile_id": view.id, "items": items, "next_cursor": next_cursor}


@router.get("/profiles/{profile_id}/merges")
def get_merges(request: Request, profile_id: str, _staff: ProfileReader) -> dict[str, Any]:
    view = _load(request, profile_id)
    with request.app.state.db.read() as conn:
        items = merge_history(conn, view.members)
    return {"profile_id": view.id, "items": items}


class MergeCreate(RequestBody):
    survivor_id: str = Field(min_length=1, max_length=64, description="the profile that takes the other")
    absorbed_id: str = Field(min_length=1, max_length=64, description="the profile that will show as the survivor")
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="why they are one person (audited)")


@router.post("/merges", status_code=201)
def post_merge(request: Request, body: MergeCreate, staff: MergeMaker) -> dict[str, Any]:
    """Merge two profiles on purpose; undone like any merge (`POST /merges/{id}/undo`)."""
    rules = rules_from(request.app.state.db.settings)
    return merge_profiles(
        request.app.state.db,
        body.survivor_id,
        body.absorbed_id,
        reason=body.reason,
        actor=staff.actor,
        limits=rules.limits,
    )


class IdentifierVerification(RequestBody):
    identifier: str = Field(min_length=3, max_length=400, description='the identifier, as "email:ada@example.com"')
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="how you know it is theirs (audited)")


@router.post("/profiles/{profile_id}/identifiers/verify")
def post_verify_identifier(
    request: Request, profile_id: str, body: IdentifierVerification, staff: IdentifierVerifier
) -> dict[str, Any]:
    """Assert that an identifier a client source only claimed (or the customer proved) is this
    customer's: mail may go to it, and an email address then opens the portal. Audited."""
    ident = service.parse_identifier(body.identifier, rules_from(request.app.state.db.settings))
    if ident is None:
        raise ApiError(400, "invalid_identifier", 'write it as type:value, as "email:ada@example.com"')
    return verify_identifier(request.app.state.db, profile_id, ident, reason=body.reason, actor=staff.actor)


@router.post("/merges/{merge_id}/undo")
def post_undo_merge(
    request: Request, merge_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], staff: MergeUndoer
) -> dict[str, Any]:
    return undo_merge(request.app.state.db, merge_id, staff.actor)


@router.get("/dead-letters")
def get_dead_letters(
    request: Request,
    _staff: DeadLetterReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        items = list_dead_letters(conn, limit, before)
    return {"items": items}
