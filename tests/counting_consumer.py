"""A consumer of the log for tests only: it counts the events it applies, in a table of its own.

A module of its own (not a test file) so that the consumers' child process can import it by name.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, payload_of

counted = sa.Table(
    "test_counted_events",
    sa.MetaData(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # the order they were applied in
    sa.Column("event_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("event", sa.String(200)),
)

BROKEN: set[str] = set()  # event names it fails on: a bug that only this data meets, until a test fixes it


class Counting(Consumer[Events]):
    name = "test-counting"

    def apply(self, conn: Connection, events: Events) -> None:
        rows = [{"event_id": e[0], "event": payload_of(e).get("event")} for e in events]
        conn.execute(counted.insert(), rows)
        if broken := [r["event"] for r in rows if r["event"] in BROKEN]:
            raise KeyError(broken[0])  # after its writes: the transaction must take them back
