"""Suggestions over the staff API: a person's open questions, answers and layout; answering one on
the customer's behalf (they said yes on the phone) and undoing an answer.

Answering changes the customer's layout, a preference of theirs: the roles that may change
preferences (`preferences:write`) may answer and undo; every role that reads decisions may look.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ConfigDict

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.decide.service import CONSENT_CHANNELS
from rapport.decide.suggest_service import answer_suggestion, suggestions_for, undo_answer
from rapport.kernel.errors import Invalid, RequestBody

Reader = Annotated[Staff, Depends(permission(Permission.DECISIONS_READ))]
Answerer = Annotated[Staff, Depends(permission(Permission.PREFERENCES_WRITE))]

router = APIRouter(prefix="/api/v1", tags=["decide"])


class Answer(RequestBody):
    model_config = ConfigDict(extra="forbid")
    answer: Literal["yes", "no"]


@router.get("/profiles/{profile_id}/suggestions")
def get_suggestions(
    request: Request, profile_id: str, _staff: Reader, channel: Annotated[str, Query(max_length=32)] = "web"
) -> dict[str, Any]:
    """Open questions (new ones are asked now, when the person's level allows), answers, layout."""
    if channel not in CONSENT_CHANNELS:
        raise Invalid("invalid_channel", f"channel must be one of {', '.join(CONSENT_CHANNELS)}")
    return suggestions_for(request.app.state.db, profile_id, channel=channel)


@router.post("/suggestions/{suggestion_id}/answer")
def post_answer(request: Request, suggestion_id: str, body: Answer, staff: Answerer) -> dict[str, Any]:
    """The customer's yes or no, given through staff. A no keeps the question away for a while."""
    return answer_suggestion(request.app.state.db, suggestion_id, body.answer, actor=staff.actor)


@router.post("/suggestions/{suggestion_id}/undo")
def post_undo(request: Request, suggestion_id: str, staff: Answerer) -> dict[str, Any]:
    """Take the answer back: the question is open again, and a yes's change is gone."""
    return undo_answer(request.app.state.db, suggestion_id, actor=staff.actor)
