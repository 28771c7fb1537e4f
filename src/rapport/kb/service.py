"""The knowledge base's write path, and search.

Articles are written as versions (each save is one), published, archived or taken back to draft;
only a published article is in the search index (`kb_documents` and the stores' own structures
that triggers keep from it) and on the help center. A search reads the query once, in Python,
into a plan both stores run alike (rapport.kb.index), and every search a customer makes is logged
with its results, so what they click and what found nothing feed the content-gap report.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.kb import index, model
from rapport.kb import semantic as semantic_ranking
from rapport.kb.markdown import plain_text
from rapport.kb.model import PUBLISHED, ArticleError, Draft, Query
from rapport.kb.store import (
    article_by_slug,
    article_row,
    kb_article_versions,
    kb_articles,
    kb_documents,
    kb_feedback,
    kb_searches,
    kb_synonyms,
    kb_terms,
    published,
    synonym_groups,
)
from rapport.kernel import encoder
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound

INDEX_LOCK = "rapport:kb-index"  # PostgreSQL: one writer of the vocabulary's counts at a time
MAX_RESULTS = 50


def _invalid(exc: ArticleError) -> Invalid:
    return Invalid(exc.code, str(exc))


def _content(draft: Draft) -> dict[str, Any]:
    return {
        "title": draft.title,
        "body": draft.body,
        "category": draft.category,
        "locale": draft.locale,
        "known_questions": list(draft.known_questions),
        "catalogue_items": list(draft.catalogue_items),
    }


def create_article(
    db: Database, draft: Draft, *, actor: str, slug: str | None = None, status: str = model.DRAFT
) -> dict[str, Any]:
    """A new article at version 1, a draft unless `status` says otherwise."""
    return import_articles(db, [(draft, slug, status)], actor=actor)[0]


def import_articles(
    db: Database, articles: Sequence[tuple[Draft, str | None, str]], *, actor: str
) -> list[dict[str, Any]]:
    """Several new articles in one transaction (a help center moved in, the demo's, a benchmark's)."""
    checked = []
    for draft, slug, status in articles:
        try:
            checked.append((model.check_draft(draft), model.check_slug(slug) if slug else None, status))
        except ArticleError as exc:
            raise _invalid(exc) from None
        if status not in model.STATUSES:
            raise Invalid("invalid_status", f"status must be one of {', '.join(model.STATUSES)}")
    made = []
    counts: Counter[str] = Counter()
    with db.write(lock=INDEX_LOCK) as conn:
        for draft, slug, status in checked:
            article = _insert_article(conn, draft, slug, status, actor)
            if status == PUBLISHED:
                counts.update(_index(conn, article))
            made.append(article)
        _count_terms(conn, counts)
    return made


def _insert_article(conn: Connection, draft: Draft, slug: str | None, status: str, actor: str) -> dict[str, Any]:
    slug = slug or _free_slug(conn, model.slug_for(draft.title))
    if article_by_slug(conn, slug) is not None:
        raise Conflict("slug_taken", f"another article already has the slug {slug}")
    now = utcnow()
    values = {
        "slug": slug,
        "status": status,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "published_at": now if status == PUBLISHED else None,
        **_content(draft),
    }
    article_id = conn.execute(kb_articles.insert().values(**values).returning(kb_articles.c.id)).scalar_one()
    conn.execute(
        kb_article_versions.insert().values(
            article_id=article_id, version=1, actor=actor, created_at=now, **_content(draft)
        )
    )
    return {"id": article_id, **values}


def _free_slug(conn: Connection, base: str) -> str:
    slug, n = base, 1
    while article_by_slug(conn, slug) is not None:
        n += 1
        slug = f"{base[: model.MAX_SLUG - 6]}-{n}"
    return slug


def _existing(conn: Connection, article_id: int) -> dict[str, Any]:
    article = article_row(conn, article_id)
    if article is None:
        raise NotFound("article")
    return article


def update_article(
    db: Database, article_id: int, changes: dict[str, Any], *, actor: str, expected_version: int | None = None
) -> dict[str, Any]:
    """Save a new version with `changes` (title, body, category, locale, known_questions,
    catalogue_items, slug). A published article's new version is live at once. With
    `expected_version`, refuses to overwrite a version someone else saved meanwhile."""
    with db.write(lock=INDEX_LOCK) as conn:
        article = _existing(conn, article_id)
        if expected_version is not None and expected_version != article["version"]:
            raise Conflict("version_conflict", f"the article is at version {article['version']}: reload and edit that")
        fields = {k: changes[k] for k in ("title", "body", "category", "locale") if changes.get(k) is not None}
        for name in ("known_questions", "catalogue_items"):
            if changes.get(name) is not None:
                fields[name] = tuple(changes[name])
        current = Draft(
            article["title"],
            article["body"],
            article["category"],
            article["locale"],
            tuple(article["known_questions"]),
            tuple(article["catalogue_items"]),
        )
        try:
            draft = model.check_draft(replace(current, **fields))
            slug = model.check_slug(changes["slug"]) if changes.get("slug") else article["slug"]
        except ArticleError as exc:
            raise _invalid(exc) from None
        if slug != article["slug"] and article_by_slug(conn, slug) is not None:
            raise Conflict("slug_taken", f"another article already has the slug {slug}")
        version, now = article["version"] + 1, utcnow()
        conn.execute(
            kb_articles.update()
            .where(kb_articles.c.id == article_id)
            .values(slug=slug, version=version, updated_at=now, **_content(draft))
        )
        conn.execute(
            kb_article_versions.insert().values(
                article_id=article_id, version=version, actor=actor, created_at=now, **_content(draft)
            )
        )
        article = _existing(conn, article_id)
        if article["status"] == PUBLISHED:
            _count_terms(conn, _index(conn, article))
    return article


def change_status(db: Database, article_id: int, action: str, *, actor: str, via: str = "api") -> dict[str, Any]:
    """Publish, archive or unpublish (back to draft) an article; audited."""
    with db.write(lock=INDEX_LOCK) as conn:
        article = _existing(conn, article_id)
        try:
            status = model.next_status(article["status"], action)
        except ArticleError as exc:
            raise Conflict(exc.code, str(exc)) if exc.code == "invalid_transition" else _invalid(exc) from None
        now = utcnow()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == PUBLISHED:
            values["published_at"] = now
        conn.execute(kb_articles.update().where(kb_articles.c.id == article_id).values(**values))
        article |= values
        counts = _index(conn, article) if status == PUBLISHED else _unindex(conn, article_id)
        _count_terms(conn, counts)
        record_audit(
            conn, actor=actor, channel=via, action=f"kb.article.{status}", article_id=article_id, slug=article["slug"]
        )
    return article


# --- the index: kb_documents and the vocabulary -------------------------------------------------


def _index(conn: Connection, article: dict[str, Any]) -> Counter[str]:
    """Put the article's current version in the index; the change to the vocabulary's counts."""
    counts = _unindex(conn, article["id"])
    body = plain_text(article["body"])
    questions = "\n".join(article["known_questions"])
    terms = sorted(model.vocabulary(article["title"], questions, body))
    conn.execute(
        kb_documents.insert().values(
            article_id=article["id"],
            title=article["title"],
            questions=questions,
            body=body,
            category=article["category"],
            locale=article["locale"],
            config=model.language(article["locale"]),
            terms=terms,
        )
    )
    counts.update(terms)
    return counts


def _unindex(conn: Connection, article_id: int) -> Counter[str]:
    old = conn.execute(sa.select(kb_documents.c.terms).where(kb_documents.c.article_id == article_id)).scalar()
    if old is None:
        return Counter()
    conn.execute(kb_documents.delete().where(kb_documents.c.article_id == article_id))
    return Counter({term: -1 for term in old})


def _count_terms(conn: Connection, changes: Counter[str]) -> None:
    """Apply changes to how many published articles use each word; a word none uses is forgotten."""
    changes = Counter({t: n for t, n in changes.items() if n})
    if not changes:
        return
    existing: dict[str, int] = {}
    terms = sorted(changes)
    for start in range(0, len(terms), 500):
        chunk = terms[start : start + 500]
        query = sa.select(kb_terms.c.term, kb_terms.c.documents).where(kb_terms.c.term.in_(chunk))
        existing |= {term: documents for term, documents in conn.execute(query)}
    updates = [{"t": t, "n": existing[t] + n} for t, n in changes.items() if t in existing]
    inserts = [{"term": t, "documents": n} for t, n in changes.items() if t not in existing and n > 0]
    if updates:
        conn.execute(
            kb_terms.update().where(kb_terms.c.term == sa.bindparam("t")).values(documents=sa.bindparam("n")), updates
        )
    if inserts:
        conn.execute(kb_terms.insert(), inserts)
    conn.execute(kb_terms.delete().where(kb_terms.c.documents <= 0))


# --- synonyms -----------------------------------------------------------------------------------


def add_synonyms(db: Database, text: str, *, actor: str, via: str = "api") -> dict[str, Any]:
    try:
        members = list(model.parse_synonyms(text))
    except ArticleError as exc:
        raise _invalid(exc) from None
    with db.write() as conn:
        now = utcnow()
        group_id = conn.execute(
            kb_synonyms.insert().values(members=members, actor=actor, created_at=now).returning(kb_synonyms.c.id)
        ).scalar_one()
        record_audit(conn, actor=actor, channel=via, action="kb.synonyms.added", group_id=group_id, members=members)
    return {"id": group_id, "members": members, "actor": actor, "created_at": now}


def remove_synonyms(db: Database, group_id: int, *, actor: str, via: str = "api") -> None:
    with db.write() as conn:
        if conn.execute(kb_synonyms.delete().where(kb_synonyms.c.id == group_id)).rowcount == 0:
            raise NotFound("synonym group")
        record_audit(conn, actor=actor, channel=via, action="kb.synonyms.removed", group_id=group_id)


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    article: dict[str, Any]
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: Query
    corrected: str | None  # the query as searched, when a word was corrected
    hits: list[Hit]
    search_id: str | None = None  # the logged search's public id, for its click


def plan_search(conn: Connection, query: Query, config: str) -> tuple[index.Plan, dict[str, str]]:
    """The query as both stores run it: unknown words corrected to the closest word of the
    published articles, then each word widened by its synonym group."""
    corrections: dict[str, str] = {}
    terms = []
    as_written = index.in_use(conn, [t for t in query.terms if model.allowed_distance(t) > 0 and not t.isdigit()])
    for term in query.terms:
        fixed = term if term in as_written else correct(conn, term, config)
        if fixed != term:
            corrections[term] = fixed
        terms.append(fixed)
    clauses = _with_synonyms(terms, [tuple(g["members"]) for g in synonym_groups(conn)])
    return index.Plan(clauses, query.phrases, query.excluded, query.prefix), corrections


def correct(conn: Connection, word: str, config: str) -> str:
    """The word, or the closest word of the published articles when none matches it as typed."""
    if model.allowed_distance(word) == 0 or word.isdigit() or index.known(conn, word, config):
        return word
    fixed = model.best_correction(word, index.vocabulary_matches(conn, model.spellings(word)))
    if fixed is None and model.allowed_distance(word) > 1:
        fixed = model.best_correction(word, index.trigram_neighbours(conn, word))
    return fixed or word


def _with_synonyms(terms: list[str], groups: list[tuple[str, ...]]) -> tuple[index.Alternatives, ...]:
    """Each word (or two words in a row) that a group names becomes "any of the group"."""
    clauses: list[index.Alternatives] = []
    i = 0
    while i < len(terms):
        pair = " ".join(terms[i : i + 2]) if i + 1 < len(terms) else None
        group = next((g for g in groups if pair in g), None) if pair else None
        step = 2 if group else 1
        group = group or next((g for g in groups if terms[i] in g), None)
        members = group or (terms[i],)
        clauses.append(tuple(tuple(m.split()) for m in members))
        i += step
    return tuple(clauses)


def search(
    db: Database,
    text: str,
    *,
    locale: str | None = None,
    category: str | None = None,
    limit: int = 10,
    typing: bool = False,
    channel: str = "api",
    log: bool = True,
    semantic: bool | None = None,
) -> SearchResult:
    """Published articles for a customer's query, best first; logged unless `log` is off (a query
    still being typed is not a search the customer made). `semantic` (default: RAPPORT_KB_SEMANTIC,
    never while typing) re-ranks the lexical candidates by meaning too (kb/semantic.py)."""
    query = model.parse_query(text, typing)
    config = model.language(locale or "en")
    limit = max(1, min(limit, MAX_RESULTS))
    if semantic is None:
        semantic = db.settings.kb_semantic and not typing
    semantic = semantic and encoder.available()
    wanted = max(limit, semantic_ranking.CANDIDATES) if semantic else limit
    with db.read() as conn:
        plan, corrections = plan_search(conn, query, config)
        found = index.match(conn, plan, config, locale=locale, category=category, limit=wanted)
        articles = published(conn, [a for a, _ in found])
    if semantic:
        reranked = semantic_ranking.rerank(text, found, articles)
        if reranked is None:  # just started: lexical now, every article embedded meanwhile
            semantic_ranking.start_warming(lambda: published_articles(db))
        found = (reranked if reranked is not None else found)[:limit]
    hits = [Hit(articles[a], s) for a, s in found if a in articles]
    corrected = " ".join(corrections.get(t, t) for t in query.terms) if corrections else None
    result = SearchResult(query, corrected, hits)
    if log:
        result = replace(result, search_id=_log_search(db, text, query, corrected, locale, category, channel, hits))
    return result


def published_articles(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(sa.select(kb_articles).where(kb_articles.c.status == PUBLISHED)).all()
    return [dict(r._mapping) for r in rows]


def _log_search(
    db: Database,
    text: str,
    query: Query,
    corrected: str | None,
    locale: str | None,
    category: str | None,
    channel: str,
    hits: Iterable[Hit],
) -> str:
    token = secrets.token_urlsafe(16)
    ids = [h.article["id"] for h in hits]
    with db.write() as conn:
        conn.execute(
            kb_searches.insert().values(
                token=token,
                at=utcnow(),
                query=text[: model.MAX_QUERY],
                normalized=model.normalized(query)[:400],
                corrected=corrected[:400] if corrected else None,
                locale=locale,
                category=category,
                channel=channel,
                results=ids,
                result_count=len(ids),
            )
        )
    return token


def record_click(db: Database, search_id: str, article_id: int) -> None:
    """The customer opened one of a search's results; the first click counts."""
    with db.write() as conn:
        row = conn.execute(
            sa.select(kb_searches.c.id, kb_searches.c.results, kb_searches.c.clicked_article_id).where(
                kb_searches.c.token == search_id
            )
        ).first()
        if row is None:
            raise NotFound("search")
        if article_id not in row.results:
            raise Invalid("not_a_result", "that article was not among the search's results")
        if row.clicked_article_id is None:
            conn.execute(
                kb_searches.update()
                .where(kb_searches.c.id == row.id)
                .values(clicked_article_id=article_id, clicked_at=utcnow())
            )


def record_feedback(db: Database, slug: str, helpful: bool) -> None:
    """A reader said whether a published article helped."""
    with db.write() as conn:
        article = article_by_slug(conn, slug)
        if article is None or article["status"] != PUBLISHED:
            raise NotFound("article")
        conn.execute(
            kb_feedback.insert().values(
                article_id=article["id"], version=article["version"], helpful=helpful, at=utcnow()
            )
        )
