"""The event log's two write paths (SQLite's fast path and the portable one) store the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from rapport.collect import log
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.store import events


def _messages(n: int, prefix: str) -> list:
    env = Envelope({"ip": "1.2.3.4"}, {}, None, datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    return [
        normalize_message(
            {
                "type": "track",
                "userId": f"u{i}",
                "event": "E",
                "messageId": f"{prefix}{i}",
                "timestamp": "1997-01-01T00:00:00.5+02:00",
                "properties": {"n": i, "ü": "✓"},
            },
            env,
        )
        for i in range(n)
    ]


def test_fast_and_portable_paths_store_identical_rows(db, source):
    with db.write() as conn:
        fast = log._run_sqlite(conn, log._sqlite_chunks(source.id, _messages(3, "a"))) if db.dialect == "sqlite" else []
        portable = log._append_portable(conn, source.id, _messages(3, "b"))
    with db.read() as conn:
        rows = {r.message_id: r for r in conn.execute(sa.select(events))}
    assert len(portable) == 3
    if db.dialect == "sqlite":
        assert len(fast) == 3
        for i in range(3):
            a, b = rows[f"a{i}"], rows[f"b{i}"]
            assert (a.timestamp, a.received_at, a.type, a.event) == (b.timestamp, b.received_at, b.type, b.event)
            assert a.payload == {**b.payload, "messageId": f"a{i}"}
        assert rows["a0"].timestamp == datetime(1996, 12, 31, 22, 0, 0, 500000, tzinfo=UTC)
        with db.read() as conn:  # ordering and range queries must agree across both
            later = conn.execute(
                sa.select(sa.func.count()).where(events.c.received_at > datetime(2026, 5, 1, 12, tzinfo=UTC))
            ).scalar()
        assert later == 6


def test_large_appends_are_chunked_and_duplicates_counted(db, source):
    batch = _messages(log.SQLITE_ROWS_PER_INSERT + 500, "c")
    with db.write() as conn:
        first = log.append_messages(conn, source.id, batch, [])
    with db.write() as conn:
        again = log.append_messages(conn, source.id, batch[:10] + batch[:1], [])
    assert (first.stored, first.duplicates) == (len(batch), 0)
    assert (again.stored, again.duplicates) == (0, 11)
    assert again.offset == first.offset
