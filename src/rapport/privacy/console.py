"""Console pages of privacy: the customers' export and erasure requests, with the date each is due by."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.kernel.clock import utcnow
from rapport.privacy.store import data_requests
from rapport.web.panels import NavEntry
from rapport.web.render import render
from rapport.web.session import Session, requires

router = APIRouter(prefix="/console", include_in_schema=False)

Exporter = Annotated[Session, Depends(requires(Permission.DATA_EXPORT))]
SHOWN = 200


@router.get("/data-requests")
def data_requests_page(request: Request, _session: Exporter) -> Response:
    query = sa.select(data_requests).order_by(data_requests.c.id.desc()).limit(SHOWN + 1)
    with request.app.state.db.read() as conn:
        items = [dict(r._mapping) for r in conn.execute(query)]
    now = utcnow()
    for item in items:
        item["overdue"] = item["completed_at"] is None and item["due_at"] < now
    return render(
        request,
        "console/privacy/data_requests.html",
        {
            "title": "Data requests",
            "current": "data-requests",
            "items": items[:SHOWN],
            "more": len(items) > SHOWN,
            "shown": SHOWN,
        },
    )


NAV = (NavEntry("data-requests", "/console/data-requests", "Data requests", Permission.DATA_EXPORT, order=50),)
