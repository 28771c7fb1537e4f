"""The console's page of what the words say: topics with their key terms, size, sentiment and trend
(a small chart drawn on the server), and sentiment by channel and touchpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.kernel.clock import utcnow
from rapport.texts import charts, read
from rapport.web.panels import NavEntry
from rapport.web.render import render
from rapport.web.session import Session, requires

router = APIRouter(prefix="/console/texts", include_in_schema=False)
Reader = Annotated[Session, Depends(requires(Permission.TOPICS_READ))]


@router.get("")
def topics_page(request: Request, session: Reader) -> Response:
    with request.app.state.db.read() as conn:
        view = read.overview(conn, utcnow())
    for topic in view["topics"]:
        topic["chart"] = charts.weekly_bars(topic["weekly"], topic["name"])
        topic["bar"] = charts.sentiment_bar(
            topic["negative"], topic["size"] - topic["negative"] - topic["positive"], topic["positive"]
        )
    for key in ("by_channel", "by_touchpoint"):
        for row in view[key]:
            row["bar"] = charts.sentiment_bar(row["negative"], row["neutral"], row["positive"])
    return render(request, "console/texts/topics.html", {"title": "Topics", "current": "texts"} | view)


NAV = (NavEntry("texts", "/console/texts", "Topics", Permission.TOPICS_READ, order=70),)
