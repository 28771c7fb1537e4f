"""Staff API for consent, preferences, messages and data rights; the one-click unsubscribe endpoint."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from rapport.access.api import (
    AuditReader,
    ConsentReader,
    ConsentWriter,
    DataEraser,
    DataExporter,
    MessageSender,
    PortalLinker,
    PreferenceWriter,
)
from rapport.access.audit import audit_trail
from rapport.access.customers import create_portal_link
from rapport.consent import service
from rapport.consent.model import ConsentRecord, current_state, preferences_document
from rapport.consent.rights import erase_profile, export_profile, export_zip
from rapport.consent.store import data_requests
from rapport.consent.unsubscribe import unsubscribe
from rapport.db.metadata import utcnow
from rapport.errors import ApiError, JSONResponse, RequestBody
from rapport.identity.service import members_of
from rapport.outbound.service import send_message
from rapport.outbound.store import history

router = APIRouter(prefix="/api/v1", tags=["consent"])
public = APIRouter(tags=["unsubscribe"])


class ConsentCreate(RequestBody):
    purpose: str
    channel: str
    status: Literal["granted", "denied", "withdrawn"]
    source: str = Field(min_length=1, max_length=200, description="where it was given: form, call, store ...")
    notice_version: str | None = Field(default=None, max_length=64)
    contact_point: str | None = Field(default=None, max_length=360)
    expires_at: datetime | None = None


class MessageCreate(RequestBody):
    profile_id: str = Field(min_length=1, max_length=64)
    channel: str = "email"
    purpose: str
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=100_000)


def _record_view(r: ConsentRecord) -> dict[str, Any]:
    return {**r.__dict__, "in_force": r.in_force(utcnow())}


@router.get("/profiles/{profile_id}/consents")
def get_consents(request: Request, profile_id: str, _staff: ConsentReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        ledger = service.consent_ledger(conn, members)
    return {
        "profile_id": canonical,
        "current": [_record_view(r) for r in current_state(ledger).values()],
        "history": [_record_view(r) for r in ledger],
    }


@router.post("/profiles/{profile_id}/consents", status_code=201)
def post_consent(request: Request, profile_id: str, body: ConsentCreate, staff: ConsentWriter) -> dict[str, Any]:
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise ApiError(400, "invalid_expiry", "expires_at needs a timezone, e.g. 2027-01-01T00:00:00Z")
    service.validate_consent(body.purpose, body.channel, body.status)
    record = ConsentRecord(recorded_at=utcnow(), **body.model_dump())
    canonical = service.record_consent(request.app.state.db, profile_id, record, actor=staff.actor, via="api")
    return {"profile_id": canonical, **_record_view(record)}


@router.get("/profiles/{profile_id}/preferences")
def get_preferences(request: Request, profile_id: str, _staff: ConsentReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        canonical, _ = members_of(conn, profile_id)
        prefs = service.load_preferences(conn, canonical)
    return {"profile_id": canonical, **preferences_document(prefs)}


@router.put("/profiles/{profile_id}/preferences")
def put_preferences(request: Request, profile_id: str, body: dict[str, Any], staff: PreferenceWriter) -> dict[str, Any]:
    prefs = service.update_preferences(request.app.state.db, profile_id, body, actor=staff.actor, via="api")
    return {"profile_id": profile_id, **preferences_document(prefs)}


@router.get("/profiles/{profile_id}/permission")
def get_permission(
    request: Request,
    profile_id: str,
    _staff: ConsentReader,
    purpose: str,
    channel: str,
    contact_point: str | None = None,
    outreach: bool = False,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        decision = service.check_permission_for(
            conn, profile_id, purpose, channel, contact_point=contact_point, outreach=outreach
        )
    return {"allowed": decision.allowed, "reason": decision.reason}


@router.get("/profiles/{profile_id}/contact-history")
def get_contact_history(request: Request, profile_id: str, _staff: ConsentReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        return {"profile_id": canonical, "items": history(conn, members)}


@router.post("/messages")
def post_message(request: Request, body: MessageCreate, staff: MessageSender) -> dict[str, Any]:
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
    url = create_portal_link(request.app.state.db, profile_id, created_by=staff.actor)
    return {"url": url}


@router.get("/data-requests")
def get_data_requests(request: Request, _staff: DataExporter) -> dict[str, Any]:
    import sqlalchemy as sa

    with request.app.state.db.read() as conn:
        rows = conn.execute(sa.select(data_requests).order_by(data_requests.c.id.desc()).limit(500))
        return {"items": [dict(r._mapping) for r in rows]}


@router.get("/audit")
def get_audit(request: Request, _staff: AuditReader, profile_id: str | None = None) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        ids = members_of(conn, profile_id)[1] if profile_id else None
        return {"items": audit_trail(conn, ids)}


@public.post("/u/{token}")
async def one_click_unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058: a POST with List-Unsubscribe=One-Click withdraws at once; no login, cookie or redirect."""
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body that is not a form is the sender's mistake
        raise ApiError(400, "invalid_body", "send List-Unsubscribe=One-Click as a form") from None
    if form.get("List-Unsubscribe") != "One-Click":
        raise ApiError(400, "missing_one_click", "the body must be List-Unsubscribe=One-Click")
    target = await asyncio.to_thread(unsubscribe, request.app.state.db, token, "email")
    if "text/html" in request.headers.get("accept", ""):
        return unsubscribed_page(target.purpose)
    return JSONResponse({"status": "unsubscribed", "purpose": target.purpose, "channel": target.channel})


def unsubscribed_page(purpose: str) -> HTMLResponse:
    """The answer a person sees after confirming in a browser (mail clients get JSON)."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/portal.css"></head><body>'
        '<a class="skip-link" href="#main">Skip to main content</a><main id="main" tabindex="-1"><div class="narrow">'
        '<h1>You are unsubscribed</h1><div class="alert alert-success" role="status">'
        f"<p>We will send no more {html.escape(purpose)} email to this address. It took effect at once.</p></div>"
        '<p>To choose exactly what we send you, <a href="/portal/sign-in">sign in to your account</a>.</p>'
        "</div></main></body></html>"
    )
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})
