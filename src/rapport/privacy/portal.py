"""My data: everything held about the customer, to read, to download, and to erase.

Downloading and erasing are form posts with the session's CSRF token; both leave a data request
on record, as the staff console's data requests page shows.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import NotFound
from rapport.privacy.service import erase_profile, export_profile, export_zip
from rapport.web.panels import NavEntry, Subject, load_panels, sites_of
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired, check_portal_csrf, end_portal_session
from rapport.web.render import SECURITY_HEADERS
from rapport.web.session import PageError

router = APIRouter(prefix="/portal", include_in_schema=False)

CONFIRM_WORD = "erase"


@router.get("/data")
def my_data(request: Request, session: Customer) -> Response:
    """Everything held about the customer, in panels the contexts contribute (`rapport.contexts`)."""
    with request.app.state.db.read() as conn:
        found = members_of_signed_in(conn, session.profile_id)
        if found is None:
            raise PortalSignInRequired()
        subject = Subject(found[0], found[1], dict(request.query_params))
        panels = load_panels(conn, sites_of(request).my_data_panels, subject, request, lambda _p: True)
    context = {"title": "My data", "current": "data", "panels": panels}
    return render_portal(request, "portal/privacy/data.html", context)


@router.get("/download")
def download_page(request: Request, session: Customer) -> Response:
    return render_portal(request, "portal/privacy/download.html", {"title": "Download my data", "current": "download"})


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
        "portal/privacy/erase.html",
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
        request, "portal/privacy/erased.html", {"title": "Your data is erased", "receipt": receipt}, anonymous=True
    )
    end_portal_session(request, response)
    return response


def members_of_signed_in(conn: Connection, profile_id: str) -> tuple[str, list[str]] | None:
    try:
        return members_of(conn, profile_id)
    except NotFound:
        return None  # erased a moment ago


PORTAL_NAV = (
    NavEntry("data", "/portal/data", "My data", order=20),
    NavEntry("download", "/portal/download", "Download", order=30),
    NavEntry("erase", "/portal/erase", "Erase", order=40),
)
