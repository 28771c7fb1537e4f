"""Tables of the knowledge base: articles and their versions, the published articles' search
documents and vocabulary, synonyms, the search log and readers' feedback.

The stores' own search structures (SQLite FTS5 tables, PostgreSQL's tsvector table and trigram
index) cannot be declared here: migration 0016 creates them, named `native_...`, and triggers on
`kb_documents` and `kb_terms` keep them in step (rapport.kb.index reads them).

Nothing here is personal data: searches and votes are anonymous (no profile, no address, no
network address is kept), and articles are the business's content, their authors staff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata

kb_articles = sa.Table(
    "kb_articles",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(120), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # the current version's number
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("known_questions", JSONDoc, nullable=False),
    sa.Column("catalogue_items", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime),
    sqlite_autoincrement=True,
)

# Every save is a version: what the article said, who wrote it and when.
kb_article_versions = sa.Table(
    "kb_article_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("article_id", BigId, sa.ForeignKey("kb_articles.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("known_questions", JSONDoc, nullable=False),
    sa.Column("catalogue_items", JSONDoc, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_id_version"),
)

# One row per published article: the text search reads (triggers copy it into the native index).
kb_documents = sa.Table(
    "kb_documents",
    metadata,
    sa.Column("article_id", BigId, sa.ForeignKey("kb_articles.id"), primary_key=True, autoincrement=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("questions", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # plain text, without markup
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("config", sa.String(32), nullable=False),  # PostgreSQL's text search configuration
    sa.Column("terms", JSONDoc, nullable=False),  # its words in kb_terms, to count them out again
)
sa.Index("ix_kb_documents_locale_category", kb_documents.c.locale, kb_documents.c.category)

# The words of the published articles, with how many use each: what typos are corrected to.
kb_terms = sa.Table(
    "kb_terms",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("term", sa.String(40), nullable=False, unique=True),
    sa.Column("documents", sa.Integer, nullable=False),
    sqlite_autoincrement=True,
)

kb_synonyms = sa.Table(
    "kb_synonyms",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("members", JSONDoc, nullable=False),  # folded words or phrases, two or more
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

kb_searches = sa.Table(
    "kb_searches",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("token", sa.String(32), nullable=False, unique=True),  # the public id: clicks name it
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("query", sa.String(200), nullable=False),
    sa.Column("normalized", sa.String(400), nullable=False),
    sa.Column("corrected", sa.String(400)),
    sa.Column("locale", sa.String(16)),
    sa.Column("category", sa.String(64)),
    sa.Column("channel", sa.String(16), nullable=False),  # api | help
    sa.Column("results", JSONDoc, nullable=False),  # article ids shown, best first
    sa.Column("result_count", sa.Integer, nullable=False),
    sa.Column("clicked_article_id", BigId),
    sa.Column("clicked_at", UTCDateTime),
)

kb_feedback = sa.Table(
    "kb_feedback",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("article_id", BigId, sa.ForeignKey("kb_articles.id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

PERSONAL_DATA = ()  # see the module's docstring


def article_row(conn: Connection, article_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(kb_articles).where(kb_articles.c.id == article_id)).first()
    return dict(row._mapping) if row else None


def article_by_slug(conn: Connection, slug: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(kb_articles).where(kb_articles.c.slug == slug)).first()
    return dict(row._mapping) if row else None


def list_articles(
    conn: Connection, status: str | None = None, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    query = sa.select(kb_articles).order_by(kb_articles.c.updated_at.desc(), kb_articles.c.id.desc())
    if status:
        query = query.where(kb_articles.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query.limit(limit).offset(offset))]


def versions_of(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(kb_article_versions)
        .where(kb_article_versions.c.article_id == article_id)
        .order_by(kb_article_versions.c.version.desc())
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def published(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The published articles among `ids`, by id."""
    if not ids:
        return {}
    query = sa.select(kb_articles).where(kb_articles.c.id.in_(ids), kb_articles.c.status == "published")
    return {r.id: dict(r._mapping) for r in conn.execute(query)}


def feedback_counts(conn: Connection, ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """(helpful, not helpful) per article."""
    yes = sa.func.sum(sa.case((kb_feedback.c.helpful, 1), else_=0))
    query = sa.select(kb_feedback.c.article_id, yes, sa.func.count()).group_by(kb_feedback.c.article_id)
    if ids is not None:
        query = query.where(kb_feedback.c.article_id.in_(ids))
    return {aid: (int(y or 0), int(n) - int(y or 0)) for aid, y, n in conn.execute(query)}


def synonym_groups(conn: Connection) -> list[dict[str, Any]]:
    query = sa.select(kb_synonyms).order_by(kb_synonyms.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def content_gaps(conn: Connection, since: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Queries customers asked since `since` that found nothing, or whose results nobody opened."""
    zero = sa.func.sum(sa.case((kb_searches.c.result_count == 0, 1), else_=0))
    unclicked = sa.func.sum(
        sa.case(((kb_searches.c.result_count > 0) & kb_searches.c.clicked_article_id.is_(None), 1), else_=0)
    )
    query = (
        sa.select(
            kb_searches.c.normalized,
            sa.func.count().label("searches"),
            zero.label("zero_results"),
            unclicked.label("no_click"),
            sa.func.max(kb_searches.c.at).label("last_at"),
            sa.func.max(kb_searches.c.query).label("example"),
        )
        .where(kb_searches.c.at >= since, kb_searches.c.normalized != "")
        .group_by(kb_searches.c.normalized)
        .having(zero + unclicked > 0)
        .order_by((zero + unclicked).desc(), sa.func.count().desc(), kb_searches.c.normalized)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]
