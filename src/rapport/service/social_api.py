"""Staff API of social listening: mentions in (a listening tool or an agent posts them), and staff
confirming they saw a customer's proof code posted from their handle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, ConfigDict, Field

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.kernel.errors import JSONResponse, RequestBody
from rapport.service import social, social_proof
from rapport.service.social_model import MAX_MENTION_TEXT, NETWORKS
from rapport.service.social_store import social_mentions

router = APIRouter(prefix="/api/v1/social", tags=["service"])
CaseWorker = Annotated[Staff, Depends(permission(Permission.CASES_WORK))]
Verifier = Annotated[Staff, Depends(permission(Permission.IDENTIFIERS_VERIFY))]


class MentionIn(RequestBody):
    model_config = ConfigDict(extra="forbid")  # a misspelt field (follower) is an error, not lost
    network: Literal[NETWORKS]  # type: ignore[valid-type]
    handle: str = Field(min_length=1, max_length=201, description="the author's handle, with or without @")
    text: str = Field(min_length=1, max_length=MAX_MENTION_TEXT)
    url: str | None = Field(default=None, max_length=2000)
    followers: int | None = Field(default=None, ge=0, le=10**10, description="kept apart: the queue cannot read it")
    posted_at: AwareDatetime
    needs_service: bool | None = Field(default=None, description="left out: a question or complaint words decide")


class ConfirmIn(RequestBody):
    code: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500, description="where you saw it posted or sent")


@router.post("/mentions", status_code=201)
def post_mention(request: Request, body: MentionIn, staff: CaseWorker) -> Any:
    """A mention: stored; a proof code in it links its handle; one that needs service becomes or
    continues a case (`case_id`). The same url again answers 200 with what it became then."""
    mention = social.Mention(
        body.network, body.handle, body.text, body.posted_at, body.url, body.followers, body.needs_service
    )
    done = social.record_mention(request.app.state.db, mention, actor=staff.actor)
    return JSONResponse(done, status_code=200 if done["duplicate"] else 201)


@router.get("/mentions")
def get_mentions(
    request: Request, _staff: CaseWorker, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    import sqlalchemy as sa

    with request.app.state.db.read() as conn:
        rows = conn.execute(sa.select(social_mentions).order_by(social_mentions.c.id.desc()).limit(limit))
        keys = ("id", "network", "handle", "text", "url", "posted_at", "needs_service", "reason", "case_id", "proof")
        return {"items": [{k: r._mapping[k] for k in keys} for r in rows]}


@router.post("/codes/confirm")
def confirm(request: Request, body: ConfirmIn, staff: Verifier) -> dict[str, Any]:
    """Staff saw the code posted or sent from its handle: the handle is proven on the customer's profile."""
    return social_proof.confirm_code(request.app.state.db, body.code, body.reason, actor=staff.actor)
