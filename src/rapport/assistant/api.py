"""The assistant over HTTP: the chat API a website's widget and apps use (`/v1/assistant`, with a
source's write key and the browser's anonymousId, like the Tracking API), the widget's script, and
`POST /api/v1/assistant/classify` for staff trying it out."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from rapport.access.api import KnowledgeWriter
from rapport.assistant import model, read, service
from rapport.collect.api import authenticate, write_key_from_headers
from rapport.collect.service import Source
from rapport.kernel.errors import ApiError, RequestBody

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant"])
public = APIRouter(prefix="/v1/assistant", tags=["assistant"])

STATIC = FilePath(__file__).parent / "static"
ConversationId = Annotated[str, Field(min_length=1, max_length=32)]


class ChatMessage(RequestBody):
    # A little over the limit, so that a long message is answered `message_too_long`, not a schema error.
    text: str = Field(max_length=model.MAX_MESSAGE * 4)
    anonymousId: str = Field(min_length=1, max_length=service.MAX_ANONYMOUS_ID)  # noqa: N815 - the Tracking API's name
    conversationId: ConversationId | None = None  # noqa: N815
    choice: str | None = Field(default=None, max_length=120, description="the intent a clarifying question offered")
    writeKey: str | None = Field(default=None, max_length=200)  # noqa: N815 - as the Tracking API takes it


class Classify(RequestBody):
    text: str = Field(max_length=model.MAX_MESSAGE * 4)


def _source(request: Request, body_key: str | None = None) -> Source:
    source = authenticate(request, write_key_from_headers(request) or body_key)
    if request.app.state.rate_limiter.take(source, 1):
        raise ApiError(429, "rate_limited", f"source {source.name!r} is over its rate limit", {"Retry-After": "1"})
    return source


@public.post("/messages")
def post_message(request: Request, body: ChatMessage) -> dict[str, Any]:
    """What the customer wrote; the assistant's answer, clarifying question or handoff. Start a
    conversation without `conversationId`; continue it with the id the first answer gave."""
    source = _source(request, body.writeKey)
    reply = service.post_message(
        request.app.state.db,
        source_id=source.id,
        anonymous_id=body.anonymousId,
        text=body.text,
        conversation_id=body.conversationId,
        choice=body.choice,
    )
    return reply.public()


@public.get("/conversations/{conversation_id}")
def get_conversation(
    request: Request,
    conversation_id: Annotated[str, Path(max_length=32)],
    anonymousId: Annotated[str, Query(min_length=1, max_length=service.MAX_ANONYMOUS_ID)],  # noqa: N803
) -> dict[str, Any]:
    """The conversation so far (the widget polls it for agents' replies after a handoff)."""
    source = _source(request)
    return read.conversation_messages(
        request.app.state.db, source_id=source.id, anonymous_id=anonymousId, conversation_id=conversation_id
    )


def _static(name: str, media_type: str) -> Response:
    return Response(
        (STATIC / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@public.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    """The chat widget, for `<script src=".../v1/assistant/widget.js" data-write-key="KEY" defer>`."""
    return _static("widget.js", "text/javascript; charset=utf-8")


@public.get("/widget.css", include_in_schema=False)
def widget_style() -> Response:
    return _static("widget.css", "text/css; charset=utf-8")


@router.post("/classify")
def post_classify(request: Request, body: Classify, _staff: KnowledgeWriter) -> dict[str, Any]:
    return service.classify(request.app.state.db, body.text)
