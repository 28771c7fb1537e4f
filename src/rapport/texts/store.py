"""Tables of what the words say: each analysed text (its sentiment, its topic, its embedding), and the
topics of the latest build.

A text is kept with its analysis because topics are rebuilt from the texts, and because a survey
answer (the voice context) has no other home here; it is the writer's personal data, found by their
profile or, for a case message, through the case (registered below: export and erasure cover it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData
from rapport.service.store import cases, of_requester

text_topic_builds = sa.Table(
    "text_topic_builds",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("built_at", UTCDateTime, nullable=False),
    sa.Column("texts", sa.Integer, nullable=False),
    sa.Column("topics", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("built_by", sa.String(200), nullable=False),
    sqlite_autoincrement=True,
)

text_topics = sa.Table(
    "text_topics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("build_id", BigId, sa.ForeignKey("text_topic_builds.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),  # its key terms, joined
    sa.Column("terms", JSONDoc, nullable=False),  # key terms, most telling first
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("centroid", sa.LargeBinary, nullable=False),  # float32 x 384, unit length
    sqlite_autoincrement=True,
)

text_analyses = sa.Table(
    "text_analyses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),  # case_message | survey_answer | ...
    sa.Column("source_ref", sa.String(64), nullable=False),  # the id of the text in its source
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), index=True),  # the writer
    sa.Column("case_id", BigId, sa.ForeignKey("cases.id"), index=True),  # a case message's case
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("touchpoint", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),
    sa.Column("sentiment", sa.String(8), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("model", sa.String(32), nullable=False),
    sa.Column("embedding", sa.Text),  # float32 x 384 in base64; None where the model stack is missing
    sa.Column("topic_id", BigId, sa.ForeignKey("text_topics.id"), index=True),
    sa.Column("analyzed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "source_ref", name="uq_text_analyses_source"),
    sqlite_autoincrement=True,
)


def _their_texts(ids: list[str], keys: list[str]) -> sa.ColumnElement[bool]:
    their_cases = sa.select(cases.c.id).where(of_requester(ids, keys))
    return sa.or_(text_analyses.c.profile_id.in_(ids), text_analyses.c.case_id.in_(their_cases))


PERSONAL_DATA = (
    PersonalData(
        text_analyses,
        _their_texts,
        found_through=("cases",),
        description="what they wrote to us (survey answers, messages), with the sentiment and topic we read in it",
    ),
)


def current_build(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(text_topic_builds).order_by(text_topic_builds.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def topics_of_build(conn: Connection, build_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(text_topics).where(text_topics.c.build_id == build_id).order_by(text_topics.c.id))
    return [dict(r._mapping) for r in rows]


def topic_stats(conn: Connection, build_id: int) -> dict[int, dict[str, Any]]:
    """Per topic: texts, mean score, and how many are negative / positive."""
    a = text_analyses.c
    query = (
        sa.select(
            a.topic_id,
            sa.func.count().label("texts"),
            sa.func.avg(a.score).label("mean_score"),
            sa.func.sum(sa.case((a.sentiment == "negative", 1), else_=0)).label("negative"),
            sa.func.sum(sa.case((a.sentiment == "positive", 1), else_=0)).label("positive"),
        )
        .join(text_topics, text_topics.c.id == a.topic_id)
        .where(text_topics.c.build_id == build_id)
        .group_by(a.topic_id)
    )
    return {r.topic_id: dict(r._mapping) for r in conn.execute(query)}


def topic_times(conn: Connection, build_id: int, since: datetime) -> list[tuple[int, datetime]]:
    """(topic, when) of every text of the build's topics since a time: bucketed in Python, alike on
    both stores."""
    a = text_analyses.c
    query = (
        sa.select(a.topic_id, a.occurred_at)
        .join(text_topics, text_topics.c.id == a.topic_id)
        .where(text_topics.c.build_id == build_id, a.occurred_at >= since)
    )
    return [(r.topic_id, r.occurred_at) for r in conn.execute(query)]


def sentiment_by(conn: Connection, column: str) -> list[dict[str, Any]]:
    """Texts and their sentiment per channel or touchpoint."""
    key = text_analyses.c[column]
    a = text_analyses.c
    query = (
        sa.select(
            key.label("key"),
            sa.func.count().label("texts"),
            sa.func.avg(a.score).label("mean_score"),
            sa.func.sum(sa.case((a.sentiment == "negative", 1), else_=0)).label("negative"),
            sa.func.sum(sa.case((a.sentiment == "neutral", 1), else_=0)).label("neutral"),
            sa.func.sum(sa.case((a.sentiment == "positive", 1), else_=0)).label("positive"),
        )
        .group_by(key)
        .order_by(sa.func.count().desc(), key)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def topics_by(conn: Connection, build_id: int, column: str) -> list[dict[str, Any]]:
    """Texts per (channel or touchpoint, topic) in the build."""
    key = text_analyses.c[column]
    a = text_analyses.c
    query = (
        sa.select(
            key.label("key"), a.topic_id, sa.func.count().label("texts"), sa.func.avg(a.score).label("mean_score")
        )
        .join(text_topics, text_topics.c.id == a.topic_id)
        .where(text_topics.c.build_id == build_id)
        .group_by(key, a.topic_id)
        .order_by(key, sa.func.count().desc())
    )
    return [dict(r._mapping) for r in conn.execute(query)]
