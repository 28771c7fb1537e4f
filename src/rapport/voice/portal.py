"""Hosted survey pages (`/s/{token}`: no sign-in, the signed token is the invitation; `?embed=1`
for a frame in an app or site) and the customer's "My surveys" in the portal.

The page honours the customer's display settings (large text, high contrast, reduced motion) as
every portal page does, from the invitation's profile; a token that was altered, or names an
invitation that was never delivered, is refused with a page that says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport.consent.portal import display_classes
from rapport.consent.service import load_preferences
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, NotFound, storable
from rapport.voice import model, reads, service, tokens
from rapport.voice.store import invitation_row
from rapport.web.panels import NavEntry
from rapport.web.portal_render import render_portal
from rapport.web.portal_session import Customer, PortalSignInRequired
from rapport.web.session import PageError

router = APIRouter(include_in_schema=False)
SCALE_WORDS = {
    "nps": ("Not at all likely", "Extremely likely"),
    "csat": ("Very dissatisfied", "Very satisfied"),
    "ces": ("Strongly disagree", "Strongly agree"),
    "stars": ("1 star", "5 stars"),
}
# Framing is allowed only for embedded surveys: their page may sit in the business's app or site.
EMBED_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors *",
}


def _refused(exc: DomainError) -> PageError:
    if exc.code == "invalid_token":
        return PageError(
            400,
            "This survey link is not valid",
            "It may have been cut short or altered. Copy the whole link from the email.",
        )
    if exc.code == "invitation_not_found":
        return PageError(404, "No such survey", "We found no survey at this link.")
    return PageError(exc.status, "Your answer was not saved", f"{exc.message}.")


def _open(request: Request, token: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None, str]:
    try:
        invitation, survey, response = service.open_invitation(request.app.state.db, token)
    except DomainError as exc:
        raise _refused(exc) from None
    with request.app.state.db.read() as conn:
        try:
            canonical, _ = members_of(conn, invitation["profile_id"])
        except NotFound:
            raise PageError(404, "No such survey", "We found no survey at this link.") from None
        display = display_classes(load_preferences(conn, canonical))
    return invitation, survey, response, display


def _page(
    request: Request,
    token: str,
    embed: bool,
    *,
    error: str | None = None,
    given: dict[str, Any] | None = None,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    invitation, survey, response, display = _open(request, token)
    now = utcnow()
    answered = {a["question_key"]: a["raw"] for a in (response or {}).get("answers", [])}
    if response is None:
        editable = now < invitation["expires_at"]
    else:
        editable = now - response["answered_at"] <= model.EDIT_WINDOW
    page = render_portal(
        request,
        "portal/voice/survey.html",
        {
            "title": survey["name"],
            "survey": survey,
            "questions": survey["questions"],
            "scales": model.SCALES,
            "scale_words": SCALE_WORDS,
            "given": given if given is not None else answered,
            "answered": response is not None,
            "editable": editable,
            "action": f"/s/{token}" + ("?embed=1" if embed else ""),
            "error": error,
            "done": done,
            "embed": embed,
            "display": display,
        },
        status,
        anonymous=True,
    )
    if embed:
        page.headers.update(EMBED_HEADERS)
        del page.headers["X-Frame-Options"]
    return page


@router.get("/s/{token}")
def survey_page(request: Request, token: str, embed: str = "") -> Response:
    return _page(request, token, embed == "1")


@router.post("/s/{token}")
async def survey_answer(request: Request, token: str, embed: str = "") -> Response:
    form = await request.form()
    given = {k[2:]: storable(str(v)) for k, v in form.multi_items() if k.startswith("q_") and isinstance(v, str)}
    try:
        done = service.answer(request.app.state.db, token, given, via="embed" if embed == "1" else "link")
    except DomainError as exc:
        if exc.code in ("invalid_token", "invitation_not_found"):
            raise _refused(exc) from None
        return _page(request, token, embed == "1", error=exc.message, given=given, status=exc.status)
    return _page(request, token, embed == "1", done=done | {"message": service.thanks(done)})


@router.get("/portal/surveys")
def my_surveys(request: Request, session: Customer) -> Response:
    """The customer's surveys: those waiting for them (portal delivery, or a mail they may have lost)."""
    db = request.app.state.db
    with db.read() as conn:
        try:
            _canonical, members = members_of(conn, session.profile_id)
        except NotFound:
            raise PortalSignInRequired() from None
        items = [i for i in reads.invitations_of(conn, members) if i["sent_status"] not in ("suppressed", "failed")]
    now = utcnow()
    for item in items:
        item["open"] = item["response_id"] is None and now < item["expires_at"]
        item["url"] = f"/s/{tokens.make_token(db, item['id'], _nonce(db, item['id']))}" if item["open"] else None
    return render_portal(
        request, "portal/voice/surveys.html", {"title": "My surveys", "current": "surveys", "items": items}
    )


def _nonce(db: Any, invitation_id: int) -> str:
    with db.read() as conn:
        row = invitation_row(conn, invitation_id)
    return str(row["nonce"]) if row else ""


PORTAL_NAV = (NavEntry("surveys", "/portal/surveys", "My surveys", order=16),)
