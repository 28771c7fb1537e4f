"""Staff API for consent, preferences and the contact history; the one-click unsubscribe endpoint."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from rapport.access.api import (
    ConsentReader,
    ConsentWriter,
    PreferenceWriter,
)
from rapport.consent import service
from rapport.consent.model import ConsentRecord, current_state, preferences_document
from rapport.consent.store import history
from rapport.consent.unsubscribe import unsubscribe
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import ApiError, JSONResponse, RequestBody

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
