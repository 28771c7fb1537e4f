"""What the console page and the topics API show: the topics of the latest build with their size,
sentiment and weekly trend, and sentiment and topics per channel and touchpoint."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from rapport.texts import store, topics

WEEKS = 12


def overview(conn: Connection, now: datetime, weeks: int = WEEKS) -> dict[str, Any]:
    build = store.current_build(conn)
    by_channel = store.sentiment_by(conn, "channel")
    by_touchpoint = store.sentiment_by(conn, "touchpoint")
    if build is None:
        return {"build": None, "topics": [], "by_channel": by_channel, "by_touchpoint": by_touchpoint}
    stats = store.topic_stats(conn, build["id"])
    times: dict[int, list[datetime]] = {}
    for topic_id, when in store.topic_times(conn, build["id"], now - timedelta(weeks=weeks)):
        times.setdefault(topic_id, []).append(when)
    listed = []
    for row in store.topics_of_build(conn, build["id"]):
        counts = topics.weekly(times.get(row["id"], []), now, weeks)
        direction, ratio = topics.trend(counts)
        stat = stats.get(row["id"], {"texts": 0, "mean_score": None, "negative": 0, "positive": 0})
        listed.append(
            {
                "id": row["id"],
                "name": row["name"],
                "terms": row["terms"],
                "size": stat["texts"],
                "mean_score": round(stat["mean_score"], 3) if stat["mean_score"] is not None else None,
                "negative": stat["negative"] or 0,
                "positive": stat["positive"] or 0,
                "weekly": counts,
                "trend": direction,
                "trend_ratio": round(ratio, 2),
            }
        )
    names = {t["id"]: t["name"] for t in listed}
    by = {}
    for column in ("channel", "touchpoint"):
        grouped: dict[str, list[dict[str, Any]]] = {}
        for r in store.topics_by(conn, build["id"], column):
            grouped.setdefault(r["key"], []).append(
                {"topic": names.get(r["topic_id"], ""), "texts": r["texts"], "mean_score": round(r["mean_score"], 3)}
            )
        by[column] = {key: rows[:5] for key, rows in grouped.items()}
    build_view = {k: build[k] for k in ("id", "built_at", "texts", "topics", "seconds", "built_by")}
    return {
        "build": build_view,
        "topics": listed,
        "trending": sorted((t for t in listed if t["trend"] == "rising"), key=lambda t: -t["trend_ratio"]),
        "by_channel": by_channel,
        "by_touchpoint": by_touchpoint,
        "topics_by_channel": by["channel"],
        "topics_by_touchpoint": by["touchpoint"],
        "weeks": weeks,
    }
