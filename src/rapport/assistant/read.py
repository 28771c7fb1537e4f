"""The conversation as the widget shows it: the customer's and the assistant's turns, and after a
handoff the agents' public replies on the case, in order. Only to the browser that started it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rapport.assistant.service import article_view, own_conversation, published_articles, visitor_key
from rapport.assistant.store import turns_of
from rapport.db.engine import Database
from rapport.service.store import case_messages, cases


def conversation_messages(db: Database, *, source_id: int, anonymous_id: str, conversation_id: str) -> dict[str, Any]:
    """The conversation as the widget shows it: the customer's and the assistant's turns, and after
    a handoff the agents' public replies on the case, in order."""
    key = visitor_key(anonymous_id)
    with db.read() as conn:
        conversation = own_conversation(conn, conversation_id, source_id, key)
        turns = turns_of(conn, conversation["id"])
        slugs = {t["article_slug"] for t in turns if t["article_slug"]}
        articles = published_articles(conn, list(slugs))
        replies: list[dict[str, Any]] = []
        reference = None
        if conversation["case_id"]:
            case_id = int(conversation["case_id"])
            reference = conn.execute(sa.select(cases.c.reference).where(cases.c.id == case_id)).scalar()
            m = case_messages.c
            rows = conn.execute(
                sa.select(m.id, m.at, m.display_text)
                .where(m.case_id == case_id, m.public.is_(True), m.author_kind == "agent")
                .order_by(m.at, m.id)
                .limit(500)
            ).all()
            replies = [{"id": f"r{r.id}", "at": r.at, "author": "agent", "text": r.display_text} for r in rows]
    shown = [
        {
            "id": f"t{t['id']}",
            "at": t["at"],
            "author": t["author"],
            "text": t["text"],
            "article": article_view(articles[t["article_slug"]]) if t["article_slug"] in articles else None,
        }
        for t in turns
        if t["text"]
    ]
    messages = sorted(shown + replies, key=lambda m: (m["at"], m["id"]))
    return {
        "conversation_id": conversation["token"],
        "status": conversation["status"],
        "case": {"reference": reference} if reference else None,
        "messages": [m | {"at": m["at"].isoformat()} for m in messages],
    }
