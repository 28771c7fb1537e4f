"""The knowledge base over HTTP: the staff API for articles, synonyms and the content-gap report
(`/api/v1/kb`, agent and admin roles), and the public search, articles, clicks and votes the help
center and a website's widget use (`/v1/kb`, no sign-in; limited per client)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from rapport.access.api import KnowledgeWriter
from rapport.db.metadata import MAX_ROW_ID
from rapport.kb import edge, model, service
from rapport.kb.markdown import plain_text, render_markdown, snippet
from rapport.kb.store import article_by_slug, article_row, content_gaps, feedback_counts, list_articles, versions_of
from rapport.kb.store import synonym_groups as list_synonym_groups
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import ApiError, NotFound, RequestBody

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])
public = APIRouter(prefix="/v1/kb", tags=["help center"])

ArticleId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Slug = Annotated[str, Path(max_length=model.MAX_SLUG)]


class ArticleCreate(RequestBody):
    title: str = Field(max_length=model.MAX_TITLE)
    body: str = Field(default="", max_length=model.MAX_BODY, description="Markdown; raw HTML is shown as text")
    category: str = Field(default="general", max_length=model.MAX_CATEGORY)
    locale: str = Field(default="en", max_length=16)
    known_questions: list[str] = Field(default=[], max_length=model.MAX_QUESTIONS)
    catalogue_items: list[str] = Field(default=[], max_length=model.MAX_ITEMS)
    slug: str | None = Field(default=None, max_length=model.MAX_SLUG)
    status: Literal["draft", "published", "archived"] = "draft"


class ArticleUpdate(RequestBody):
    title: str | None = Field(default=None, max_length=model.MAX_TITLE)
    body: str | None = Field(default=None, max_length=model.MAX_BODY)
    category: str | None = Field(default=None, max_length=model.MAX_CATEGORY)
    locale: str | None = Field(default=None, max_length=16)
    known_questions: list[str] | None = Field(default=None, max_length=model.MAX_QUESTIONS)
    catalogue_items: list[str] | None = Field(default=None, max_length=model.MAX_ITEMS)
    slug: str | None = Field(default=None, max_length=model.MAX_SLUG)
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="refuse if someone saved since")


class StatusChange(RequestBody):
    action: Literal["publish", "archive", "unpublish"]


class SynonymsCreate(RequestBody):
    members: list[str] = Field(min_length=2, max_length=20, description='e.g. ["refund", "money back"]')


class Click(RequestBody):
    article_id: int = Field(ge=1, le=MAX_ROW_ID)


class Vote(RequestBody):
    helpful: bool


def staff_view(article: dict[str, Any]) -> dict[str, Any]:
    return {k: article[k] for k in article} | {"html": render_markdown(article["body"])}


def public_view(article: dict[str, Any], full: bool = False) -> dict[str, Any]:
    view = {
        "id": article["id"],
        "slug": article["slug"],
        "title": article["title"],
        "category": article["category"],
        "locale": article["locale"],
        "catalogue_items": article["catalogue_items"],
        "updated_at": article["updated_at"],
        "url": f"/portal/help/articles/{article['slug']}",
    }
    if full:
        view |= {"html": render_markdown(article["body"]), "version": article["version"]}
    else:
        view["snippet"] = snippet(plain_text(article["body"]))
    return view


@router.get("/articles")
def get_articles(
    request: Request,
    _staff: KnowledgeWriter,
    status: Literal["draft", "published", "archived"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        items = list_articles(conn, status, limit, offset)
        votes = feedback_counts(conn, [a["id"] for a in items])
    return {
        "items": [
            a | {"helpful": votes.get(a["id"], (0, 0))[0], "not_helpful": votes.get(a["id"], (0, 0))[1]} for a in items
        ]
    }


@router.post("/articles", status_code=201)
def post_article(request: Request, body: ArticleCreate, staff: KnowledgeWriter) -> dict[str, Any]:
    draft = model.Draft(
        body.title, body.body, body.category, body.locale, tuple(body.known_questions), tuple(body.catalogue_items)
    )
    article = service.create_article(request.app.state.db, draft, actor=staff.actor, slug=body.slug, status=body.status)
    return staff_view(article)


@router.get("/articles/{article_id}")
def get_article(request: Request, article_id: ArticleId, _staff: KnowledgeWriter) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        article = article_row(conn, article_id)
    if article is None:
        raise NotFound("article")
    return staff_view(article)


@router.patch("/articles/{article_id}")
def patch_article(
    request: Request, article_id: ArticleId, body: ArticleUpdate, staff: KnowledgeWriter
) -> dict[str, Any]:
    changes = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    article = service.update_article(
        request.app.state.db, article_id, changes, actor=staff.actor, expected_version=body.expected_version
    )
    return staff_view(article)


@router.post("/articles/{article_id}/status")
def post_status(request: Request, article_id: ArticleId, body: StatusChange, staff: KnowledgeWriter) -> dict[str, Any]:
    return staff_view(service.change_status(request.app.state.db, article_id, body.action, actor=staff.actor))


@router.get("/articles/{article_id}/versions")
def get_versions(request: Request, article_id: ArticleId, _staff: KnowledgeWriter) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        if article_row(conn, article_id) is None:
            raise NotFound("article")
        return {"items": versions_of(conn, article_id)}


@router.get("/synonyms")
def get_synonyms(request: Request, _staff: KnowledgeWriter) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": list_synonym_groups(conn)}


@router.post("/synonyms", status_code=201)
def post_synonyms(request: Request, body: SynonymsCreate, staff: KnowledgeWriter) -> dict[str, Any]:
    if any("," in m for m in body.members):
        raise ApiError(400, "invalid_synonyms", "a member may not hold a comma: give each as its own item")
    return service.add_synonyms(request.app.state.db, ", ".join(body.members), actor=staff.actor)


@router.delete("/synonyms/{group_id}", status_code=204)
def delete_synonyms(request: Request, group_id: ArticleId, staff: KnowledgeWriter) -> None:
    service.remove_synonyms(request.app.state.db, group_id, actor=staff.actor)


@router.get("/gaps")
def get_gaps(
    request: Request, _staff: KnowledgeWriter, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> dict[str, Any]:
    """What customers searched for and found nothing, or found nothing they opened."""
    with request.app.state.db.read() as conn:
        return {"days": days, "items": content_gaps(conn, utcnow() - timedelta(days=days))}


# --- public -------------------------------------------------------------------------------------


def check_rate(request: Request) -> None:
    """Per client and in all, per minute (rapport.kb.edge); 429 past either."""
    wait_s = edge.wait_s(request)
    if wait_s:
        raise ApiError(
            429, "rate_limited", "too many requests: try again shortly", {"Retry-After": str(int(wait_s) + 1)}
        )


def filters(locale: str | None, category: str | None) -> tuple[str | None, str | None]:
    if locale is not None and not model.LOCALE.fullmatch(locale):
        raise ApiError(400, "invalid_locale", "locale is a language tag such as en or en-GB")
    if category is not None and not model.CATEGORY.fullmatch(category):
        raise ApiError(400, "invalid_category", "category is a name of letters, digits, spaces and - & /")
    return locale or None, category or None


@public.get("/search")
def get_search(
    request: Request,
    q: Annotated[str, Query(max_length=model.MAX_QUERY, description='words, "a phrase", -excluded')],
    locale: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=model.MAX_CATEGORY)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_RESULTS)] = 10,
    typing: bool = False,
) -> dict[str, Any]:
    """Published articles for a query. `typing=true` while the customer types: the last word matches
    as a prefix, and the search is not logged. Otherwise the answer's `search_id` names the logged
    search: post the article the customer opens to `/v1/kb/searches/{search_id}/clicks`."""
    check_rate(request)
    if not q.strip():
        raise ApiError(400, "empty_query", "q must hold a word to search for")
    locale, category = filters(locale, category)
    result = service.search(
        request.app.state.db, q, locale=locale, category=category, limit=limit, typing=typing, log=not typing
    )
    return {
        "query": q,
        "corrected": result.corrected,
        "search_id": result.search_id,
        "items": [public_view(h.article) | {"score": round(h.score, 6)} for h in result.hits],
    }


@public.get("/articles/{slug}")
def get_public_article(request: Request, slug: Slug) -> dict[str, Any]:
    check_rate(request)
    with request.app.state.db.read() as conn:
        article = article_by_slug(conn, slug)
    if article is None or article["status"] != model.PUBLISHED:
        raise NotFound("article")  # a draft is as unknown as a slug never used
    return public_view(article, full=True)


@public.post("/searches/{search_id}/clicks", status_code=204)
def post_click(request: Request, search_id: Annotated[str, Path(max_length=32)], body: Click) -> None:
    check_rate(request)
    service.record_click(request.app.state.db, search_id, body.article_id)


@public.post("/articles/{slug}/feedback", status_code=204)
def post_feedback(request: Request, slug: Slug, body: Vote) -> None:
    """Was this helpful? yes or no."""
    check_rate(request)
    service.record_feedback(request.app.state.db, slug, body.helpful)
