"""What the words say: the public functions other contexts call, and the write path of analyses and
topics.

`sentiment_of` and `analyze` need no database: the model loads lazily, once per process, and where
the model stack is not installed the lexical model answers (each Analysis names its model).
`record_texts` keeps texts with their analysis (the voice context sends survey answers here);
`sync_case_messages` brings in what customers wrote to the service desk (chat transcripts, mail, social
mentions: its channels); `rebuild_topics` clusters everything kept into topics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, Unavailable
from rapport.service.store import case_messages, cases
from rapport.texts import encoder, sentiment, topics
from rapport.texts.model import SOURCES, Analysis, TextError, TextItem, check_texts
from rapport.texts.store import current_build, text_analyses, text_topic_builds, text_topics, topics_of_build

MAX_TOPIC_TEXTS = 50_000  # the most recent texts a topic build reads
SERVICE_DESK = "service desk"


@dataclass(frozen=True)
class TopicModel:
    build_id: int
    ids: list[int]
    names: list[str]
    centroids: np.ndarray  # (topics, 384)


def analyze(texts: Sequence[str], topic_model: TopicModel | None = None) -> list[Analysis]:
    """Sentiment, and the topic where a topic model is given, of each text, in order."""
    texts = list(texts)
    if not texts:
        return []
    embeddings = encoder.embed(texts)
    answers = sentiment.analyses(texts, embeddings)
    if topic_model is None or embeddings is None:
        return answers
    nearest = topics.nearest(topic_model.centroids, embeddings)
    return [
        replace(a, topics=[topic_model.names[n]] if n is not None else [])
        for a, n in zip(answers, nearest, strict=True)
    ]


def sentiment_of(text: str) -> Analysis:
    return analyze([text])[0]


_topic_models: dict[int, TopicModel] = {}
_topic_lock = threading.Lock()


def topic_model(conn: Connection) -> TopicModel | None:
    """The latest build's topics, read once per build and process."""
    build = current_build(conn)
    if build is None:
        return None
    with _topic_lock:
        if build["id"] not in _topic_models:
            rows = topics_of_build(conn, build["id"])
            centroids = np.vstack([encoder.from_bytes(r["centroid"]) for r in rows]) if rows else np.zeros((0, 384))
            _topic_models.clear()
            _topic_models[build["id"]] = TopicModel(
                build["id"], [r["id"] for r in rows], [r["name"] for r in rows], centroids
            )
        return _topic_models[build["id"]]


def analyze_request(db: Database, texts: object) -> list[Analysis]:
    """The analyze endpoint's work: checked input, sentiment, and topics of the latest build."""
    try:
        checked = check_texts(texts)
    except TextError as exc:
        raise Invalid(exc.code, str(exc)) from None
    with db.read() as conn:
        model = topic_model(conn)
    return analyze(checked, model)


def _rows(items: Sequence[TextItem], model: TopicModel | None) -> list[dict[str, Any]]:
    texts = [item.text for item in items]
    embeddings = encoder.embed(texts)
    answers = sentiment.analyses(texts, embeddings)
    nearest = (
        topics.nearest(model.centroids, embeddings)
        if model is not None and embeddings is not None
        else [None] * len(items)
    )
    now = utcnow()
    rows = []
    for i, (item, answer) in enumerate(zip(items, answers, strict=True)):
        rows.append(
            {
                "source": item.source,
                "source_ref": item.source_ref,
                "profile_id": item.profile_id,
                "case_id": item.case_id,
                "channel": item.channel[:16],
                "touchpoint": item.touchpoint[:64],
                "text": item.text,
                "occurred_at": item.occurred_at,
                "sentiment": answer.sentiment,
                "score": answer.score,
                "model": answer.model,
                "embedding": encoder.to_text(embeddings[i]) if embeddings is not None else None,
                "topic_id": model.ids[n] if model is not None and (n := nearest[i]) is not None else None,
                "analyzed_at": now,
            }
        )
    return rows


def record_texts(db: Database, items: Sequence[TextItem]) -> int:
    """Analyse and keep these texts (a text already kept from the same source is analysed again)."""
    for item in items:
        if item.source not in SOURCES:
            raise Invalid("invalid_source", f"source must be one of {', '.join(SOURCES)}")
    if not items:
        return 0
    with db.read() as conn:
        model = topic_model(conn)
    rows = _rows(items, model)  # the model runs outside the transaction
    a = text_analyses.c
    with db.write() as conn:
        for row in rows:
            conn.execute(text_analyses.delete().where(a.source == row["source"], a.source_ref == row["source_ref"]))
        conn.execute(text_analyses.insert(), rows)
    return len(rows)


def sync_case_messages(db: Database, batch: int = 1000) -> int:
    """Analyse what customers wrote on cases that is not analysed yet; answers how many were."""
    m, c, a = case_messages.c, cases.c, text_analyses.c
    done = sa.select(a.source_ref).where(a.source == "case_message")
    query = (
        sa.select(m.id, m.at, m.channel, m.display_text, c.id.label("case_id"), c.topic, c.requester_profile_id)
        .join(cases, c.id == m.case_id)
        .where(m.author_kind == "customer", m.public.is_(True), sa.cast(m.id, sa.String).not_in(done))
        .order_by(m.id)
        .limit(batch)
    )
    total = 0
    while True:
        with db.read() as conn:
            found = conn.execute(query).all()
        items = [
            TextItem(
                source="case_message",
                source_ref=str(r.id),
                text=r.display_text[: 4 * 5000],
                channel=r.channel,
                touchpoint=f"{SERVICE_DESK}: {r.topic}" if r.topic else SERVICE_DESK,
                occurred_at=r.at,
                profile_id=r.requester_profile_id,
                case_id=r.case_id,
            )
            for r in found
            if r.display_text.strip()
        ]
        total += record_texts(db, items)
        if len(found) < batch:
            return total


def _embeddings_of(db: Database, rows: list[Any]) -> np.ndarray:
    missing = [r for r in rows if r.embedding is None]
    fresh = encoder.embed([r.text for r in missing]) if missing else np.zeros((0, 384), dtype=np.float32)
    if fresh is None:
        raise Unavailable(
            "no_model", f"topics need the model stack (pip install 'rapport[ml]'): {encoder.unavailable_reason()}"
        )
    if missing:
        with db.write() as conn:
            conn.execute(
                text_analyses.update().where(text_analyses.c.id == sa.bindparam("row_id")),
                [{"row_id": r.id, "embedding": encoder.to_text(v)} for r, v in zip(missing, fresh, strict=True)],
            )
    by_id = {r.id: v for r, v in zip(missing, fresh, strict=True)}
    return np.vstack([by_id[r.id] if r.embedding is None else encoder.from_text(r.embedding) for r in rows])


def rebuild_topics(db: Database, built_by: str, max_topics: int = 30) -> dict[str, Any]:
    """Cluster the kept texts (the most recent MAX_TOPIC_TEXTS) into topics; they replace the last build."""
    started = time.perf_counter()
    a = text_analyses.c
    with db.read() as conn:
        rows = list(
            conn.execute(
                sa.select(a.id, a.text, a.embedding).order_by(a.occurred_at.desc()).limit(MAX_TOPIC_TEXTS)
            ).all()
        )
    if len(rows) < 4:
        raise Invalid("too_few_texts", f"topics need at least 4 texts; {len(rows)} are kept")
    embeddings = _embeddings_of(db, rows)
    found = topics.cluster([r.text for r in rows], embeddings, max_topics)
    with db.write() as conn:
        conn.execute(text_analyses.update().values(topic_id=None))
        conn.execute(text_topics.delete())
        conn.execute(text_topic_builds.delete())
        build_id = conn.execute(
            text_topic_builds.insert()
            .returning(text_topic_builds.c.id)
            .values(
                built_at=utcnow(),
                texts=len(rows),
                topics=len(found.topics),
                seconds=round(time.perf_counter() - started, 3),
                built_by=built_by,
            )
        ).scalar_one()
        topic_ids = [
            conn.execute(
                text_topics.insert()
                .returning(text_topics.c.id)
                .values(
                    build_id=build_id,
                    name=t.name[:200],
                    terms=t.terms,
                    size=t.size,
                    centroid=encoder.to_bytes(t.centroid),
                )
            ).scalar_one()
            for t in found.topics
        ]
        conn.execute(
            text_analyses.update().where(a.id == sa.bindparam("row_id")),
            [{"row_id": r.id, "topic_id": topic_ids[int(label)]} for r, label in zip(rows, found.labels, strict=True)],
        )
    return {"build": build_id, "texts": len(rows), "topics": [t.name for t in found.topics]}
