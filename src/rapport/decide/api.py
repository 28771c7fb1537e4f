"""Decisions over HTTP: `POST /v1/decide` for websites and apps (a source's write key, like the
Tracking API), and the staff API: a decision for a profile with every factor explained, the
decision log, and what the person owns.

A write key is public, so `/v1/decide` takes only an anonymousId (the bearer secret of one browser
or app install) and answers only the decision: no level, no profile id, no trait. An anonymousId
first seen through another source is foreign to this key and is answered as a stranger is.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from pydantic import ConfigDict, Field

from rapport.access.api import ProfileReader, permission
from rapport.access.model import Permission, Staff
from rapport.collect.api import authenticate, write_key_from_headers
from rapport.collect.store import events
from rapport.decide.actions_store import presented_in
from rapport.decide.arbitrate import public_actions
from rapport.decide.model import MAX_LIMIT
from rapport.decide.recommend import decide
from rapport.decide.service import Ask, Person, owned_items
from rapport.decide.store import decision_log
from rapport.decide.suggest_service import experience_for
from rapport.decide.training import cache_for
from rapport.identity.model import Identifier
from rapport.identity.service import members_of
from rapport.identity.store import identifiers, profiles
from rapport.kernel.errors import ApiError, RequestBody

DecisionMaker = Annotated[Staff, Depends(permission(Permission.DECISIONS_MAKE))]
DecisionReader = Annotated[Staff, Depends(permission(Permission.DECISIONS_READ))]

router = APIRouter(prefix="/api/v1", tags=["decide"])
public = APIRouter(tags=["decide"])

PUBLIC_FIELDS = ("id", "kind", "title", "reason", "url", "price")


class DecideContext(RequestBody):
    model_config = ConfigDict(extra="ignore")  # a page may send more about itself; only this is read
    product_id: str | None = Field(default=None, min_length=1, max_length=200)


class VisitorDecide(RequestBody):
    model_config = ConfigDict(extra="forbid")
    anonymousId: str = Field(min_length=1, max_length=200)  # noqa: N815 - the Segment field's name
    placement: str = "home"
    channel: str | None = None
    context: DecideContext = Field(default_factory=DecideContext)
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    writeKey: str | None = Field(default=None, max_length=200)  # noqa: N815


class StaffDecide(RequestBody):
    model_config = ConfigDict(extra="forbid")
    placement: str = "home"
    channel: str = "web"
    context: DecideContext = Field(default_factory=DecideContext)
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)


def visitor(conn: sa.Connection, anonymous_id: str, source_id: int) -> Person:
    """The person behind a browser's anonymousId, if this source first saw it; else a stranger."""
    key = Identifier("anonymous_id", anonymous_id.strip()).key
    row = conn.execute(
        sa.select(identifiers.c.profile_id, events.c.source_id)
        .select_from(identifiers.outerjoin(events, events.c.id == identifiers.c.first_event_id))
        .where(identifiers.c.key == key)
    ).first()
    if row is None or row.source_id != source_id:
        return Person()
    canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == row.profile_id)).scalar()
    if canonical is None:
        return Person()
    members = conn.execute(sa.select(profiles.c.id).where(profiles.c.canonical_id == canonical)).scalars().all()
    return Person(canonical, tuple(members), (anonymous_id.strip(), source_id))


@public.post("/v1/decide")
def post_decide(request: Request, body: VisitorDecide) -> dict[str, Any]:
    """What to show this visitor now, each item with its reason. Authenticated by a source's write key."""
    source = authenticate(request, write_key_from_headers(request) or body.writeKey)
    wait = request.app.state.rate_limiter.take(source, 1)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            f"source {source.name!r} is over its rate limit",
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    channel = body.channel or ("mobile" if source.channel == "mobile" else "web")
    ask = Ask(body.placement, channel, body.limit, body.context.product_id)
    db = request.app.state.db
    with db.read() as conn:
        person = visitor(conn, body.anonymousId, source.id)
    outcome = decide(db, cache_for(db), person, ask, actor=f"source:{source.name}")
    items = [{k: item[k] for k in PUBLIC_FIELDS if k in item} for item in outcome["items"]]
    with db.read() as conn:  # the layout the person chose; everyone's at level none (decide/suggest.py)
        experience = experience_for(conn, list(person.members), outcome["level"])
    actions = public_actions(outcome["actions"])
    return {"decision_id": outcome["decision_id"], "items": items, "actions": actions, "experience": experience}


@router.post("/profiles/{profile_id}/decisions")
def post_profile_decision(request: Request, profile_id: str, body: StaffDecide, staff: DecisionMaker) -> dict[str, Any]:
    """A decision for the person, recorded in their decision log, with every factor of every item."""
    db = request.app.state.db
    with db.read() as conn:
        canonical, members = members_of(conn, profile_id)
    ask = Ask(body.placement, body.channel, body.limit, body.context.product_id)
    outcome = decide(db, cache_for(db), Person(canonical, tuple(members)), ask, actor=staff.actor)
    with db.read() as conn:
        experience = experience_for(conn, members, outcome["level"])
    return {"profile_id": canonical, **outcome, "experience": experience}


@router.get("/profiles/{profile_id}/decisions")
def get_profile_decisions(
    request: Request, profile_id: str, _staff: DecisionReader, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    """The decision log: what was offered, at which level and why, with which model; newest first."""
    with request.app.state.db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        log = decision_log(conn, members, limit)
        shown = presented_in(conn, [row["id"] for row in log])
        return {"profile_id": canonical, "items": [{**row, "actions": shown.get(row["id"], [])} for row in log]}


@router.get("/profiles/{profile_id}/owned")
def get_owned(request: Request, profile_id: str, _staff: ProfileReader) -> dict[str, Any]:
    """What the person bought, on any channel, and still has (refunds taken off)."""
    with request.app.state.db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        owned = owned_items(conn, members)
    return {
        "profile_id": canonical,
        "items": [
            {
                "id": o["id"],
                "name": o["item"].name if o["item"] else None,
                "kind": o["item"].kind if o["item"] else None,
                "quantity": o["quantity"],
                "first_bought": o["first_bought"],
                "last_bought": o["last_bought"],
            }
            for o in owned
        ],
    }
