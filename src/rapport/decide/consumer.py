"""Decide's consumer of the log: e-commerce events (Segment's `Product Viewed`, `Product Added`,
`Order Completed` with `products[]`, `Order Refunded`, and `Recommendation Dismissed`) become item
lines, and items the catalogue does not know yet are described from them.

Every channel counts: a website, an app, a store's import, a call centre's server. A line keeps its
event, not a profile (decide/store.py), so the consumer never waits for the profile processor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, moment_of, payload_of
from rapport.decide.model import ITEM_EVENTS, Item, lines_of
from rapport.decide.service import insert_described_items
from rapport.decide.store import CONSUMER, item_events

# A cheap test on the stored text before decoding it: every event this consumer reads has one of these.
_MARKERS = tuple({name.split()[0] for name in ITEM_EVENTS} | {"Dismissed"})


def _may_name_items(event: Any) -> bool:
    if event[5] != "track":
        return False
    payload = event[3]
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    return not isinstance(payload, str) or any(marker in payload for marker in _MARKERS)


class Decide(Consumer[Events]):
    name = CONSUMER

    def apply(self, conn: Connection, events: Events) -> None:
        rows: list[dict[str, Any]] = []
        described: dict[str, Item] = {}
        for event in events:
            if not _may_name_items(event):
                continue
            message = payload_of(event)
            lines, found = lines_of(message.get("event"), message.get("properties"))
            if not lines:
                continue
            at = moment_of(event[2])
            anonymous_id = event[7][:200] if isinstance(event[7], str) else None
            for line in lines:
                rows.append(
                    {
                        "event_id": event[0],
                        "source_id": event[1],
                        "item_id": line.item_id,
                        "action": line.action,
                        "quantity": line.quantity,
                        "order_id": line.order_id,
                        "at": at,
                        "anonymous_id": anonymous_id,
                    }
                )
            for item in found:
                described.setdefault(item.id, item)  # the first description in log order stays
        if rows:
            conn.execute(item_events.insert(), rows)
        insert_described_items(conn, list(described.values()))
