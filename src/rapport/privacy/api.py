"""Staff API of privacy: export and erase a customer's data, a portal sign-in link for them, the data
requests on record, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rapport.access.api import AuditReader, DataEraser, DataExporter, PortalLinker
from rapport.access.model import Permission
from rapport.identity.service import members_of
from rapport.kernel.audit import audit_trail
from rapport.privacy.service import erase_profile, export_profile, export_zip
from rapport.privacy.sign_in import mail_portal_link
from rapport.privacy.store import data_requests

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.post("/profiles/{profile_id}/export", response_model=None)
def post_export(
    request: Request, profile_id: str, staff: DataExporter, format: Annotated[Literal["json", "zip"], Query()] = "json"
) -> dict[str, Any] | Response:
    document = export_profile(request.app.state.db, profile_id, actor=staff.actor, via="api")
    if format == "zip":
        return Response(
            export_zip(document),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="rapport-export-{document["profile_id"]}.zip"'},
        )
    return document


@router.post("/profiles/{profile_id}/erase")
def post_erase(request: Request, profile_id: str, staff: DataEraser) -> dict[str, Any]:
    return erase_profile(request.app.state.db, profile_id, actor=staff.actor, via="api")


@router.post("/profiles/{profile_id}/portal-link")
def post_portal_link(request: Request, profile_id: str, staff: PortalLinker) -> dict[str, Any]:
    """Mail the customer a one-time sign-in link (a service message, through the permission check).
    Whoever holds the link can download and erase the customer's data, so the link itself is answered
    only to roles that may do both; an agent who helps a caller only sends it."""
    url, outcome = mail_portal_link(request.app.state.db, profile_id, actor=staff.actor)
    answer: dict[str, Any] = {"status": outcome.status, "reason": outcome.reason}
    if staff.may(Permission.DATA_EXPORT) and staff.may(Permission.DATA_ERASE):
        answer["url"] = url
    return answer


@router.get("/data-requests")
def get_data_requests(request: Request, _staff: DataExporter) -> dict[str, Any]:

    with request.app.state.db.read() as conn:
        rows = conn.execute(sa.select(data_requests).order_by(data_requests.c.id.desc()).limit(500))
        return {"items": [dict(r._mapping) for r in rows]}


@router.get("/audit")
def get_audit(request: Request, _staff: AuditReader, profile_id: str | None = None) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        ids = members_of(conn, profile_id)[1] if profile_id else None
        return {"items": audit_trail(conn, ids)}
