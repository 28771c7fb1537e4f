"""The consumer of the log that records usage: `Feature Used`, screens, pages and the choices in
other track events become usage lines (decide/usage.py), from every channel but Rapport's own.

A line keeps its event, not a profile (decide/suggest_store.py), so this consumer never waits for
the profile processor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, moment_of, payload_of
from rapport.decide.suggest_store import USAGE_CONSUMER, internal_sources, usage
from rapport.decide.usage import usage_of

_KINDS = frozenset({"track", "screen", "page"})


class Usage(Consumer[Events]):
    name = USAGE_CONSUMER

    def apply(self, conn: Connection, events: Events) -> None:
        internal = internal_sources(conn)
        rows: list[dict[str, Any]] = []
        for event in events:
            if event[5] not in _KINDS or event[1] in internal:
                continue
            lines = usage_of(payload_of(event))
            if not lines:
                continue
            at = moment_of(event[2])
            rows.extend(
                {"event_id": event[0], "kind": u.kind, "name": u.name, "key": u.key, "value": u.value, "at": at}
                for u in lines
            )
        if rows:
            conn.execute(usage.insert(), rows)
