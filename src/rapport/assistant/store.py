"""Tables of the assistant: conversations (each bound to the browser that started it: its source
and anonymousId) and their turns, what the customer wrote and what the assistant answered.

A conversation handed off names its case (`case_id`, no foreign key: erasure removes cases and
conversations of a person in either order); from then on the case holds the conversation.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData

assistant_conversations = sa.Table(
    "assistant_conversations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("token", sa.String(32), nullable=False, unique=True),  # the public id: random, 128 bits
    sa.Column("source_id", sa.Integer, nullable=False),
    # The browser's anonymousId as an identifier key (`anonymous_id:...`): only it may continue.
    sa.Column("visitor_key", sa.String(420), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # assistant | clarifying | handed_off
    sa.Column("failed_turns", sa.Integer, nullable=False),
    sa.Column("options", JSONDoc, nullable=False),  # the two intents a clarifying question offered
    sa.Column("case_id", BigId, index=True),
    sa.Column("handoff_reason", sa.String(32)),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

assistant_turns = sa.Table(
    "assistant_turns",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", BigId, sa.ForeignKey("assistant_conversations.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("author", sa.String(16), nullable=False),  # customer | assistant
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("action", sa.String(16)),  # the assistant's: answer | clarify | retry | handoff | relay
    sa.Column("intent", sa.String(120)),
    sa.Column("confidence", sa.Float),
    sa.Column("article_id", BigId),
    sa.Column("article_slug", sa.String(120)),
    sqlite_autoincrement=True,
)


def _their_conversations(keys: list[str]) -> sa.Select[Any]:
    return sa.select(assistant_conversations.c.id).where(assistant_conversations.c.visitor_key.in_(keys))


PERSONAL_DATA = (
    PersonalData(
        assistant_conversations,
        lambda _ids, keys: assistant_conversations.c.visitor_key.in_(keys),
        description="their conversations with the assistant: how each went and the case it became",
    ),
    PersonalData(
        assistant_turns,
        lambda _ids, keys: assistant_turns.c.conversation_id.in_(_their_conversations(keys)),
        found_through=("assistant_conversations",),
        description="what they wrote to the assistant and what it answered",
    ),
)


def conversation_by_token(conn: Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(assistant_conversations).where(assistant_conversations.c.token == token)).first()
    return dict(row._mapping) if row else None


def turns_of(conn: Connection, conversation_id: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(assistant_turns)
        .where(assistant_turns.c.conversation_id == conversation_id)
        .order_by(assistant_turns.c.id)
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]


def recent_handoffs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(assistant_conversations)
        .where(assistant_conversations.c.case_id.is_not(None))
        .order_by(assistant_conversations.c.updated_at.desc())
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]


def counts(conn: Connection) -> dict[str, int]:
    c = assistant_conversations.c
    rows = conn.execute(sa.select(c.status, sa.func.count()).group_by(c.status)).all()
    return {str(status): int(n) for status, n in rows}
