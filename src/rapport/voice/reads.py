"""What the answers say, read for staff: the metrics by group and over time, the topics that drive
detraction (the outer loop), and a customer's surveys and ask-or-skip decisions."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.texts.store import text_analyses, text_topics
from rapport.voice import model, words
from rapport.voice.store import ask_decisions, survey_answers, survey_invitations, survey_responses, surveys

GROUPS = ("channel", "touchpoint", "delivery", "survey", "month", "week", "all")


def _group_key(row: Any, by: str) -> str:
    if by == "month":
        return f"{row.answered_at:%Y-%m}"
    if by == "week":
        year, week, _ = row.answered_at.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "survey":
        return str(row.survey_id)
    if by == "all":
        return "all"
    return str(getattr(row, by) or "unknown")


def metrics(
    conn: Connection,
    metric: str,
    by: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    survey_id: int | None = None,
) -> list[dict[str, Any]]:
    """The metric by its standard definition (voice/model.py) for each group, in group order."""
    a = survey_answers.c
    query = sa.select(a.score, a.channel, a.touchpoint, a.delivery, a.survey_id, a.answered_at).where(
        a.type == metric, a.score.is_not(None)
    )
    if since is not None:
        query = query.where(a.answered_at >= since)
    if until is not None:
        query = query.where(a.answered_at < until)
    if survey_id is not None:
        query = query.where(a.survey_id == survey_id)
    groups: dict[str, list[int]] = defaultdict(list)
    for row in conn.execute(query):
        groups[_group_key(row, by)].append(int(row.score))
    return [{"group": key, **model.metric(metric, scores)} for key, scores in sorted(groups.items())]


def _responses(conn: Connection, since: datetime | None) -> dict[int, dict[str, Any]]:
    """Per response: its profile, touchpoint, NPS/CSAT scores and the topics of its written answers:
    the topic the latest build gave the text in rapport.texts, else the topics read when answered."""
    a = survey_answers.c
    ref = sa.cast(a.response_id, sa.String) + ":" + a.question_key
    kept = text_analyses.c
    query = sa.select(
        a.response_id, a.profile_id, a.touchpoint, a.type, a.score, a.topics, text_topics.c.name
    ).select_from(
        survey_answers.outerjoin(
            text_analyses, sa.and_(kept.source == words.SOURCE, kept.source_ref == ref, a.type == "text")
        ).outerjoin(text_topics, text_topics.c.id == kept.topic_id)
    )
    if since is not None:
        query = query.where(a.answered_at >= since)
    found: dict[int, dict[str, Any]] = {}
    for row in conn.execute(query):
        item = found.setdefault(
            row.response_id,
            {"profile": row.profile_id, "touchpoint": row.touchpoint, "nps": None, "csat": None, "topics": set()},
        )
        if row.type in ("nps", "csat"):
            item[row.type] = row.score
        if row.type == "text":
            item["topics"].update([row.name] if row.name else [str(t) for t in row.topics or []])
    return found


def _nps_of(items: list[dict[str, Any]]) -> float | None:
    scores = [i["nps"] for i in items if i["nps"] is not None]
    return model.nps(scores)["value"] if scores else None


def _detractor(item: dict[str, Any]) -> bool:
    return (item["nps"] is not None and item["nps"] <= 6) or (item["csat"] is not None and item["csat"] <= 2)


def detraction_topics(conn: Connection, since: datetime | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The outer loop: per touchpoint, the topics detractors wrote about, ranked by how many customers
    they touch (detractors first) and how far they pull the score (NPS of the answers that mention
    the topic, less the touchpoint's NPS)."""
    by_touchpoint: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in _responses(conn, since).values():
        by_touchpoint[item["touchpoint"]].append(item)
    found = []
    for touchpoint, items in sorted(by_touchpoint.items()):
        overall = _nps_of(items)
        topics: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            for topic in item["topics"]:
                topics[topic].append(item)
        rows: list[dict[str, Any]] = []
        for topic, mentions in topics.items():
            detractors = {m["profile"] for m in mentions if _detractor(m)}
            if not detractors:
                continue
            score = _nps_of(mentions)
            pull = round(score - overall, 1) if score is not None and overall is not None else None
            rows.append(
                {
                    "touchpoint": touchpoint,
                    "topic": topic,
                    "customers": len({m["profile"] for m in mentions}),
                    "detractors": len(detractors),
                    "nps": score,
                    "pull": pull,
                }
            )
        rows.sort(key=lambda r: (-int(r["detractors"]), r["pull"] if r["pull"] is not None else 0, str(r["topic"])))
        found += rows[:limit]
    return found


def decisions_of(conn: Connection, members: list[str], limit: int = 20) -> list[dict[str, Any]]:
    d = ask_decisions.c
    query = (
        sa.select(ask_decisions, surveys.c.name.label("survey"))
        .select_from(ask_decisions.outerjoin(surveys, surveys.c.id == d.survey_id))
        .where(d.profile_id.in_(members))
        .order_by(d.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def invitations_of(conn: Connection, members: list[str], limit: int = 50) -> list[dict[str, Any]]:
    i = survey_invitations.c
    query = (
        sa.select(
            *[c for c in survey_invitations.c if c.name != "nonce"],
            surveys.c.name.label("survey"),
            survey_responses.c.id.label("response_id"),
            survey_responses.c.follow_up_case_id,
        )
        .select_from(
            survey_invitations.join(surveys, surveys.c.id == i.survey_id).outerjoin(
                survey_responses, survey_responses.c.invitation_id == i.id
            )
        )
        .where(i.profile_id.in_(members))
        .order_by(i.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def list_surveys(conn: Connection) -> list[dict[str, Any]]:
    answered = (
        sa.select(survey_responses.c.survey_id, sa.func.count().label("n"))
        .group_by(survey_responses.c.survey_id)
        .subquery()
    )
    query = (
        sa.select(surveys, sa.func.coalesce(answered.c.n, 0).label("responses"))
        .select_from(surveys.outerjoin(answered, answered.c.survey_id == surveys.c.id))
        .order_by(surveys.c.id.desc())
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def list_responses(
    conn: Connection, survey_id: int | None = None, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    r = survey_responses.c
    query = sa.select(survey_responses).order_by(r.id.desc()).limit(limit)
    if survey_id is not None:
        query = query.where(r.survey_id == survey_id)
    if before is not None:
        query = query.where(r.id < before)
    items = [dict(row._mapping) for row in conn.execute(query)]
    if items:
        answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        a = survey_answers.c
        for row in conn.execute(
            sa.select(a.response_id, a.question_key, a.type, a.raw, a.score, a.sentiment, a.topics).where(
                a.response_id.in_([i["id"] for i in items])
            )
        ):
            answers[row.response_id].append({k: v for k, v in row._mapping.items() if k != "response_id"})
        for item in items:
            item["answers"] = answers.get(item["id"], [])
    return items
