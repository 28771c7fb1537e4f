"""The help center: search the published articles and read them, without signing in. A results
page's address is the search (`/portal/help?q=...`), so it can be shared; a signed-in customer's
display settings (large text, high contrast, reduced motion) apply as on every portal page.

Opening a result from a search records the click; "Was this helpful?" is one form on every article.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from rapport.kb import edge, model, service
from rapport.kb.markdown import plain_text, render_markdown, snippet
from rapport.kb.store import article_by_slug, published
from rapport.kernel.errors import DomainError, storable
from rapport.web.portal_render import render_portal
from rapport.web.render import redirect
from rapport.web.session import PageError, check_same_site

router = APIRouter(prefix="/portal/help", include_in_schema=False)
RESULTS = 10


def _limit(request: Request) -> None:
    if edge.wait_s(request):
        raise PageError(
            429, "Too many searches", "Too many searches from your connection. Wait a minute and try again."
        )


@router.get("")
def help_center(request: Request, q: str = "", category: str = "") -> Response:
    query = storable(q)[: model.MAX_QUERY]
    category = storable(category)[: model.MAX_CATEGORY]
    if category and not model.CATEGORY.fullmatch(category):
        category = ""
    result = None
    if query.strip():
        _limit(request)
        result = service.search(request.app.state.db, query, category=category or None, limit=RESULTS, channel="help")
    hits = [
        {"article": h.article, "snippet": snippet(plain_text(h.article["body"]))}
        for h in (result.hits if result else [])
    ]
    return render_portal(
        request,
        "portal/kb/help.html",
        {
            "title": f"Help: {query}" if query.strip() else "Help center",
            "current": "help",
            "q": query,
            "category": category,
            "result": result,
            "hits": hits,
        },
    )


@router.get("/articles/{slug}")
def article(request: Request, slug: str, s: str = "", thanks: str = "") -> Response:
    with request.app.state.db.read() as conn:
        found = article_by_slug(conn, slug) if len(slug) <= model.MAX_SLUG else None
        found = published(conn, [found["id"]]).get(found["id"]) if found else None
    if found is None:
        raise PageError(
            404, "No such article", "There is no help article at this address. Search the help center instead."
        )
    if s and len(s) <= 32:
        with suppress(DomainError):  # a stale or edited link still shows the article
            service.record_click(request.app.state.db, storable(s), found["id"])
    return render_portal(
        request,
        "portal/kb/article.html",
        {
            "title": found["title"],
            "current": "help",
            "article": found,
            "html": render_markdown(found["body"]),
            "thanks": thanks,
        },
    )


@router.post("/articles/{slug}/feedback")
def feedback(request: Request, slug: str, helpful: Annotated[str, Form()] = "") -> Response:
    check_same_site(request)
    if helpful not in ("yes", "no"):
        raise PageError(400, "Choose yes or no", "Say whether the article helped with yes or no.")
    _limit(request)
    try:
        service.record_feedback(request.app.state.db, slug[: model.MAX_SLUG], helpful == "yes")
    except DomainError as exc:
        raise PageError(exc.status, "No such article", "There is no help article at this address.") from None
    return redirect(f"/portal/help/articles/{slug}?thanks={helpful}#feedback")
