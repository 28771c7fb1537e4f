"""My data: everything held about the customer, to read, to download, and to erase.

Downloading and erasing are form posts with the session's CSRF token; both leave a data request
on record, as the staff console's data requests page shows.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.consent.model import current_state
from rapport.consent.rights import erase_profile, export_profile, export_zip
from rapport.consent.service import consent_ledger, load_preferences
from rapport.db.metadata import utcnow
from rapport.errors import NotFound
from rapport.outbound.store import history
from rapport.profiles.service import load_profile, timeline
from rapport.web.consent_view import CHANNEL_TEXT, LEVEL_TEXT
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired, check_portal_csrf, end_portal_session
from rapport.web.present import event_details, event_title
from rapport.web.render import SECURITY_HEADERS
from rapport.web.session import PageError

router = APIRouter(prefix="/portal", include_in_schema=False)

RECENT_EVENTS = 50
CONFIRM_WORD = "erase"


@router.get("/data")
def my_data(request: Request, session: Customer) -> Response:
    with request.app.state.db.read() as conn:
        view = load_profile(conn, session.profile_id)
        if view is None:
            raise PortalSignInRequired()
        rows = timeline(conn, view.members, RECENT_EVENTS)
        ledger = consent_ledger(conn, view.members)
        prefs = load_preferences(conn, view.id)
        contacts = history(conn, view.members)
    events = [{**r, "title": event_title(r), "details": event_details(r)} for r in rows]
    now = utcnow()
    current = [(r, r.in_force(now)) for r in current_state(ledger).values()]
    return render_portal(
        request,
        "data.html",
        {
            "title": "My data",
            "current": "data",
            "view": view,
            "events": events,
            "recent_events": RECENT_EVENTS,
            "consents": current,
            "history": list(reversed(ledger)),
            "contacts": contacts,
            "prefs": prefs,
            "channel_text": CHANNEL_TEXT,
            "level_text": LEVEL_TEXT,
        },
    )


@router.get("/download")
def download_page(request: Request, session: Customer) -> Response:
    return render_portal(request, "download.html", {"title": "Download my data", "current": "download"})


@router.post("/download")
def download(
    request: Request, session: Customer, csrf: Annotated[str, Form()] = "", format: Annotated[str, Form()] = "json"
) -> Response:
    check_portal_csrf(request, session, csrf)
    if format not in ("json", "zip"):
        raise PageError(400, "Unknown format", "Choose the JSON file or the zip of spreadsheets (CSV).")
    try:
        document = export_profile(request.app.state.db, session.profile_id, actor=session.actor, via="portal")
    except NotFound:
        raise PortalSignInRequired() from None
    day = utcnow().strftime("%Y-%m-%d")
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="my-data-{day}.{format}"'}
    if format == "zip":
        return Response(export_zip(document), media_type="application/zip", headers=headers)
    body = orjson.dumps(document, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    return Response(body, media_type="application/json", headers=headers)


def _erase_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    return render_portal(
        request,
        "erase.html",
        {
            "title": "Erase my data",
            "current": "erase",
            "error": error,
            "confirm_word": CONFIRM_WORD,
        },
        status,
    )


@router.get("/erase")
def erase_page(request: Request, session: Customer) -> Response:
    return _erase_form(request)


@router.post("/erase")
def erase(
    request: Request, session: Customer, csrf: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = ""
) -> Response:
    check_portal_csrf(request, session, csrf)
    if confirm.strip().lower() != CONFIRM_WORD:
        return _erase_form(request, f"Type the word {CONFIRM_WORD} in the box to confirm. Nothing was erased.", 400)
    try:
        receipt = erase_profile(request.app.state.db, session.profile_id, actor=session.actor, via="portal")
    except NotFound:
        raise PortalSignInRequired() from None
    response = render_portal(
        request, "erased.html", {"title": "Your data is erased", "receipt": receipt}, anonymous=True
    )
    end_portal_session(request, response)
    return response
