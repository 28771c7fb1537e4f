"""Tables of decide: the catalogue, the item lines of e-commerce events, the trained models and the
decision log.

Item lines keep the event they came from, not a profile: which profile took an event is the
processor's to record (`profile_events`), so a person's lines are those of the events of every
profile in their merge group, read at the time of asking. Merges and their undo move nothing here,
and this context's consumer never waits for the processor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.decide.model import HelpLink, Interaction, Item
from rapport.kernel.registry import PersonalData, by_profile
from rapport.profiles.store import profile_events

CONSUMER = "decide"  # this context's consumer of the log: its offset's name; never rename it

items = sa.Table(
    "decide_items",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("category", sa.String(200)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("price", sa.Float),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("help", JSONDoc, nullable=False),  # [{"title", "url"}]
    # catalog: `rapport catalog import`, which an event never changes; event: described by the first
    # event that named it (a write key is public: a later event cannot rename what others see)
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per item an e-commerce event names: what was done with it, when, in which order.
item_events = sa.Table(
    "decide_item_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", BigId, nullable=False, index=True),  # no FK: erasure deletes these first
    sa.Column("source_id", sa.Integer, nullable=False),
    sa.Column("item_id", sa.String(200), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("order_id", sa.String(200)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("anonymous_id", sa.String(200)),  # the current visit is read by it
    sqlite_autoincrement=True,
)
sa.Index("ix_decide_item_events_visit", item_events.c.anonymous_id, item_events.c.at)

# Trained models: aggregates only (items at least `min_support` people had), no profile id.
models = sa.Table(
    "decide_models",
    metadata,
    sa.Column("version", sa.String(40), primary_key=True),
    sa.Column("trained_at", UTCDateTime, nullable=False, index=True),
    sa.Column("algorithm", sa.String(32), nullable=False),
    sa.Column("params", JSONDoc, nullable=False),
    sa.Column("summary", JSONDoc, nullable=False),  # people, items, interactions, seconds
    sa.Column("artifact", sa.LargeBinary, nullable=False),  # np.savez of learn.to_arrays
)

decisions = sa.Table(
    "decide_decisions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), index=True),  # None: a stranger
    sa.Column("placement", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("level_reason", sa.Text, nullable=False),
    sa.Column("model_version", sa.String(40)),
    sa.Column("items", JSONDoc, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def _persons_lines(ids: list[str], _keys: list[str]) -> sa.ColumnElement[bool]:
    return item_events.c.event_id.in_(sa.select(profile_events.c.event_id).where(profile_events.c.profile_id.in_(ids)))


def item_from_row(row: Any) -> Item:
    links = tuple(
        HelpLink(str(h.get("title", "")), str(h.get("url", ""))) for h in row.help or [] if isinstance(h, dict)
    )
    return Item(row.id, row.name, row.category, row.kind, row.price, bool(row.available), links)


def load_items(conn: Connection, ids: Sequence[str] | None = None) -> dict[str, Item]:
    query = sa.select(items)
    if ids is not None:
        if not ids:
            return {}
        query = query.where(items.c.id.in_(list(ids)))
    return {row.id: item_from_row(row) for row in conn.execute(query)}


_LINE_COLUMNS = (
    item_events.c.item_id,
    item_events.c.action,
    item_events.c.at,
    item_events.c.quantity,
    item_events.c.order_id,
)


def history(conn: Connection, member_ids: list[str], since: datetime | None = None) -> list[Interaction]:
    """The person's item lines, from the events of every profile in their merge group, oldest first."""
    query = (
        sa.select(*_LINE_COLUMNS)
        .select_from(item_events.join(profile_events, profile_events.c.event_id == item_events.c.event_id))
        .where(profile_events.c.profile_id.in_(member_ids))
        .order_by(item_events.c.at, item_events.c.id)
    )
    if since is not None:
        query = query.where(item_events.c.at >= since)
    return [Interaction(r.item_id, r.action, r.at, r.quantity, r.order_id) for r in conn.execute(query)]


def visit(conn: Connection, anonymous_id: str, source_id: int, since: datetime) -> list[Interaction]:
    """What one browser (anonymousId, through one source) did since `since`, oldest first."""
    query = (
        sa.select(*_LINE_COLUMNS)
        .where(
            item_events.c.anonymous_id == anonymous_id,
            item_events.c.source_id == source_id,
            item_events.c.at >= since,
        )
        .order_by(item_events.c.at, item_events.c.id)
    )
    return [Interaction(r.item_id, r.action, r.at, r.quantity, r.order_id) for r in conn.execute(query)]


def decision_log(conn: Connection, member_ids: list[str], limit: int = 50) -> list[dict[str, Any]]:
    query = (
        sa.select(decisions)
        .where(decisions.c.profile_id.in_(member_ids))
        .order_by(decisions.c.created_at.desc(), decisions.c.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        item_events,
        _persons_lines,
        found_through=("profile_events",),
        description="items viewed, added, bought, refunded or dismissed, from every channel",
    ),
    PersonalData(
        decisions,
        by_profile(decisions.c.profile_id),
        description="what was recommended to the person, when, and why",
    ),
)
