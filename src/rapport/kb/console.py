"""Console pages of the knowledge base: the articles (write, preview, publish, archive, every
version), the synonyms search widens a word by, and the content-gap report: what customers asked
and found nothing for, or found nothing they opened."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from rapport.access.model import Permission
from rapport.db.metadata import row_id
from rapport.kb import model, service
from rapport.kb.markdown import render_markdown
from rapport.kb.store import article_row, content_gaps, feedback_counts, list_articles, synonym_groups, versions_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, storable
from rapport.web.panels import NavEntry
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/kb", include_in_schema=False)

Writer = Annotated[Session, Depends(requires(Permission.KB_WRITE))]
GAP_DAYS = 30
SAVED = {
    "created": "Article created as a draft. Publish it when it is ready.",
    "saved": "Saved as a new version.",
    "published": "Published: it is on the help center and in search now.",
    "archived": "Archived: it is no longer on the help center or in search.",
    "draft": "Back to draft: it is no longer on the help center or in search.",
}


def _id(text: str) -> int:
    if (number := row_id(text)) is None:
        raise PageError(404, "No such article", "There is no article with that number.")
    return number


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in storable(text).splitlines() if line.strip())


def _refused(exc: DomainError) -> PageError:
    return PageError(exc.status, "Not saved", f"{exc.message}. Go back, correct it and save again.")


@router.get("")
def articles(request: Request, _session: Writer, status: str = "") -> Response:
    if status and status not in model.STATUSES:
        raise PageError(400, "Unknown status", "Filter by draft, published or archived.")
    with request.app.state.db.read() as conn:
        items = list_articles(conn, status or None, limit=500)
        votes = feedback_counts(conn, [a["id"] for a in items])
    return render(
        request,
        "console/kb/articles.html",
        {"title": "Help articles", "current": "kb", "items": items, "votes": votes, "status": status},
    )


@router.get("/new")
def new_article(request: Request, _session: Writer) -> Response:
    blank = {
        "title": "",
        "body": "",
        "category": "general",
        "locale": "en",
        "known_questions": [],
        "catalogue_items": [],
    }
    return render(request, "console/kb/article.html", {"title": "New article", "current": "kb", "article": blank})


@router.post("/new")
def create(
    request: Request,
    session: Writer,
    csrf: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "general",
    locale: Annotated[str, Form()] = "en",
    known_questions: Annotated[str, Form()] = "",
    catalogue_items: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    draft = model.Draft(
        storable(title), storable(body), storable(category), storable(locale).strip(),
        _lines(known_questions), _lines(catalogue_items.replace(",", "\n")),
    )  # fmt: skip
    try:
        article = service.create_article(
            request.app.state.db, draft, actor=session.staff.actor, slug=storable(slug).strip() or None
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect(f"/console/kb/articles/{article['id']}?saved=created")


@router.get("/articles/{article_id}")
def article(request: Request, article_id: str, _session: Writer, saved: str = "") -> Response:
    found_id = _id(article_id)
    with request.app.state.db.read() as conn:
        found = article_row(conn, found_id)
        if found is None:
            raise PageError(404, "No such article", "There is no article with that number.")
        versions = versions_of(conn, found_id)
        votes = feedback_counts(conn, [found_id]).get(found_id, (0, 0))
    return render(
        request,
        "console/kb/article.html",
        {
            "title": found["title"],
            "current": "kb",
            "article": found,
            "preview": render_markdown(found["body"]),
            "versions": versions,
            "votes": votes,
            "saved": SAVED.get(saved),
        },
    )


@router.post("/articles/{article_id}")
def save(
    request: Request,
    article_id: str,
    session: Writer,
    csrf: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "",
    known_questions: Annotated[str, Form()] = "",
    catalogue_items: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    changes: dict[str, Any] = {
        "title": storable(title),
        "slug": storable(slug).strip() or None,
        "body": storable(body),
        "category": storable(category),
        "locale": storable(locale).strip(),
        "known_questions": _lines(known_questions),
        "catalogue_items": _lines(catalogue_items.replace(",", "\n")),
    }
    expected = int(version) if version.isdigit() and len(version) < 10 else None
    try:
        service.update_article(
            request.app.state.db, _id(article_id), changes, actor=session.staff.actor, expected_version=expected
        )
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect(f"/console/kb/articles/{article_id}?saved=saved")


@router.post("/articles/{article_id}/{action}")
def change(
    request: Request, article_id: str, action: str, session: Writer, csrf: Annotated[str, Form()] = ""
) -> Response:
    if action not in model.TRANSITIONS:
        raise PageError(404, "Page not found", "There is no console page at this address.")
    check_csrf(request, session, csrf)
    try:
        changed = service.change_status(
            request.app.state.db, _id(article_id), action, actor=session.staff.actor, via="console"
        )
    except DomainError as exc:
        raise PageError(exc.status, "Not changed", exc.message) from None
    return redirect(f"/console/kb/articles/{article_id}?saved={changed['status']}")


@router.get("/synonyms")
def synonyms(request: Request, _session: Writer, saved: str = "") -> Response:
    with request.app.state.db.read() as conn:
        groups = synonym_groups(conn)
    return render(
        request,
        "console/kb/synonyms.html",
        {"title": "Search synonyms", "current": "kb-synonyms", "groups": groups, "saved": saved},
    )


@router.post("/synonyms")
def add_synonyms(
    request: Request, session: Writer, csrf: Annotated[str, Form()] = "", members: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, session, csrf)
    try:
        service.add_synonyms(request.app.state.db, storable(members), actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect("/console/kb/synonyms?saved=added")


@router.post("/synonyms/{group_id}/remove")
def remove_synonyms(request: Request, group_id: str, session: Writer, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    try:
        service.remove_synonyms(request.app.state.db, _id(group_id), actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise PageError(exc.status, "Not removed", exc.message) from None
    return redirect("/console/kb/synonyms?saved=removed")


@router.get("/gaps")
def gaps(request: Request, _session: Writer) -> Response:
    with request.app.state.db.read() as conn:
        items = content_gaps(conn, utcnow() - timedelta(days=GAP_DAYS))
    return render(
        request,
        "console/kb/gaps.html",
        {"title": "Content gaps", "current": "kb-gaps", "items": items, "days": GAP_DAYS},
    )


NAV = (
    NavEntry("kb", "/console/kb", "Help articles", Permission.KB_WRITE, order=60),
    NavEntry("kb-synonyms", "/console/kb/synonyms", "Synonyms", Permission.KB_WRITE, order=61),
    NavEntry("kb-gaps", "/console/kb/gaps", "Content gaps", Permission.KB_WRITE, order=62),
)
