"""Staff API of outbound messaging: send one message to a customer, through the one permission check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from rapport.access.api import MessageSender
from rapport.access.model import GRANTS, Permission
from rapport.consent.model import SERVICE
from rapport.kernel.errors import ApiError, RequestBody
from rapport.outbound.service import send_message

router = APIRouter(prefix="/api/v1", tags=["messages"])


class MessageCreate(RequestBody):
    profile_id: str = Field(min_length=1, max_length=64)
    channel: str = "email"
    purpose: str
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=100_000)


@router.post("/messages")
def post_message(request: Request, body: MessageCreate, staff: MessageSender) -> dict[str, Any]:
    """Send one message through the one permission check; `service` (needs no consent) only from roles
    that serve customers."""
    if body.purpose == SERVICE and not staff.may(Permission.SERVICE_MESSAGES_SEND):
        what = GRANTS[Permission.SERVICE_MESSAGES_SEND].ability
        raise ApiError(403, "forbidden", f"the {staff.role} role may not {what}")
    outcome = send_message(
        request.app.state.db,
        body.profile_id,
        channel=body.channel,
        purpose=body.purpose,
        subject=body.subject,
        text=body.text,
        actor=staff.actor,
    )
    return {"status": outcome.status, "reason": outcome.reason, "profile_id": outcome.profile_id}
