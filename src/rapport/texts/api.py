"""What the words say over HTTP: `POST /api/v1/voice/analyze` (sentiment and topics of texts sent)
and `GET /api/v1/voice/topics` (the topics of the latest build, their trend, sentiment by channel
and touchpoint). The paths say "voice" as issue 17 names them; the work is this context's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import RequestBody
from rapport.texts import read, service
from rapport.texts.model import MAX_TEXT_CHARS, MAX_TEXTS

router = APIRouter(prefix="/api/v1/voice", tags=["voice of the customer"])
Analyst = Annotated[Staff, Depends(permission(Permission.TEXTS_ANALYZE))]
TopicReader = Annotated[Staff, Depends(permission(Permission.TOPICS_READ))]


class AnalyzeRequest(RequestBody):
    texts: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description=f"1 to {MAX_TEXTS} texts of at most {MAX_TEXT_CHARS} characters"
    )


@router.post("/analyze")
def post_analyze(request: Request, body: AnalyzeRequest, _staff: Analyst) -> dict[str, Any]:
    """Sentiment (negative, neutral or positive; score -1..1) and topics of each text, in order; `model`
    says which model answered (`minilm+lexicon`, or `lexicon` where the model stack is not installed)."""
    answers = service.analyze_request(request.app.state.db, body.texts)
    return {
        "results": [{"sentiment": a.sentiment, "score": a.score, "topics": a.topics} for a in answers],
        "model": answers[0].model,
    }


@router.get("/topics")
def get_topics(request: Request, _staff: TopicReader) -> dict[str, Any]:
    """Topics of the latest build (`rapport texts topics` makes one) with their key terms, size,
    sentiment and texts per week; sentiment and topics per channel and touchpoint."""
    with request.app.state.db.read() as conn:
        return read.overview(conn, utcnow())
