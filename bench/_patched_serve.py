"""`rapport` with PROTOTYPE optimizations patched in, to measure what a change to src/ would gain.

Run as `python bench/_patched_serve.py serve ...` with BENCH_PATCHES=comma,separated,names. The patches
are applied at import, so the processor child (multiprocessing spawn re-runs this file as
`__mp_main__`) gets them too. Nothing here is used by rapport itself; the benchmarks only.

  flock      SQLite write transactions first take an OS file lock (fcntl.flock) next to the database,
             so a waiting writer wakes the moment the other commits instead of sleeping in SQLite's
             busy handler (which backs off up to 100 ms) -- db/engine.py Database.write
  short-txn  the processor reads and resolves a batch in a read transaction and holds the write
             lock only to flush it -- profiles/processor.py Processor.run_once
(Two earlier prototypes, raw-append and phone-cache, are now in rapport itself.)
  stats-sql  profiles/processor.py _update_stats as one UPDATE per profile doing the arithmetic in SQL
             (event_count + n, min/max of the dates, channels only when new), without the SELECT first
"""

from __future__ import annotations

import fcntl
import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

PATCHES = {p.strip() for p in os.environ.get("BENCH_PATCHES", "").split(",") if p.strip()}


def _patch_flock() -> None:
    from rapport.db import engine

    original = engine.Database.write

    @contextmanager
    def write(self: Any, lock: str | None = None) -> Iterator[Any]:
        path = self.settings.sqlite_path
        if path is None:
            with original(self, lock) as conn:
                yield conn
            return
        fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)  # one per call: flock is per open file
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with original(self, lock) as conn:
                yield conn
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    engine.Database.write = write  # type: ignore[method-assign]


def _patch_short_txn() -> None:
    import sqlalchemy as sa

    from rapport.collect.service import read_offset, write_offset
    from rapport.collect.store import events
    from rapport.identity.graph import read_version
    from rapport.identity.model import extract_identifiers
    from rapport.profiles import processor as mod

    real_flush = mod._flush
    takes_found = "found" in inspect.signature(mod.Processor._apply).parameters

    def run_once(self: Any, limit: int | None = None) -> int:
        limit = limit or self.db.settings.processor_batch_size
        captured: list[Any] = []
        with self.db.read() as conn:  # a WAL snapshot: the log writer is never blocked by this part
            self.graph.sync(conn)
            offset = read_offset(conn, mod.CONSUMER)
            rows = conn.execute(
                sa.select(events.c.id, events.c.source_id, events.c.timestamp, events.c.payload, events.c.message_id)
                .where(events.c.id > offset)
                .order_by(events.c.id)
                .limit(limit)
            ).all()
            if not rows:
                return 0
            mod._flush = lambda _conn, batch: captured.append(batch)
            try:
                if takes_found:  # the processor's signature since commit 0007e5a
                    self._apply(conn, rows, [extract_identifiers(r.payload, self.rules) for r in rows])
                else:
                    self._apply(conn, rows)
            except Exception:
                self.graph.clear()
                self.graph.version = -1
                raise
            finally:
                mod._flush = real_flush
        try:
            with self.db.write(lock=mod.GRAPH_LOCK) as conn:
                if read_version(conn) != self.graph.version or read_offset(conn, mod.CONSUMER) != offset:
                    raise RuntimeError("graph changed under the batch; recompute")
                real_flush(conn, captured[0])
                write_offset(conn, mod.CONSUMER, rows[-1].id)
        except Exception:
            self.graph.clear()
            self.graph.version = -1
            raise
        return len(rows)

    mod.Processor.run_once = run_once  # type: ignore[method-assign]


def _sqlite_ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _patch_stats_sql() -> None:
    from rapport.profiles import processor as mod

    def update_stats(conn: Any, stats: dict[str, Any]) -> None:
        """One UPDATE per profile computing the new values in SQL: no SELECT, no JSON or datetime round trip."""
        if not stats:
            return
        cursor = conn.connection.driver_connection.cursor()
        cursor.executemany(
            "UPDATE profiles SET event_count = event_count + ?1,"
            " first_seen = min(coalesce(first_seen, ?2), ?2), last_seen = max(coalesce(last_seen, ?3), ?3),"
            " channels = CASE WHEN ?4 = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(?4) n WHERE n.value NOT IN"
            " (SELECT value FROM json_each(profiles.channels))) THEN channels ELSE (SELECT json_group_array(value) FROM"
            " (SELECT value FROM json_each(profiles.channels) UNION SELECT value FROM json_each(?4) ORDER BY 1)) END"
            " WHERE id = ?5",
            [
                (s.count, _sqlite_ts(s.first), _sqlite_ts(s.last), orjson.dumps(sorted(s.channels)).decode(), pid)
                for pid, s in stats.items()
            ],
        )

    mod._update_stats = update_stats


ALL = {
    "flock": _patch_flock,
    "short-txn": _patch_short_txn,
    "stats-sql": _patch_stats_sql,
}
for _name, _apply in ALL.items():
    if _name in PATCHES:
        _apply()
unknown = PATCHES - set(ALL)
if unknown:
    raise SystemExit(f"unknown BENCH_PATCHES: {', '.join(sorted(unknown))}")

if __name__ == "__main__":
    from rapport.cli import main

    main()
