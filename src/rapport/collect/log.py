"""The event log's write side: group commit.

Requests hand their messages to one writer thread; it commits everything that is waiting in one
transaction and only then resolves each request's future, so a 2xx always follows a durable
commit and concurrent requests share one fsync.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.collect.model import Accepted, Rejected
from rapport.collect.store import dead_letters, events
from rapport.db.engine import Database
from rapport.db.metadata import utcnow

LOG_LOCK = "rapport:event-log"  # serializes appends on PostgreSQL so offsets commit in order


@dataclass
class Appended:
    stored: int
    duplicates: int
    offset: int  # the log offset after this append: read-your-writes waits for it


@dataclass
class _Job:
    source_id: int
    accepted: list[Accepted]
    rejected: list[Rejected]
    future: Future[Appended]


def _insert_ignoring_duplicates(conn: Connection) -> sa.Insert:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(events).on_conflict_do_nothing(index_elements=["source_id", "message_id"])


def append_messages(conn: Connection, source_id: int, accepted: list[Accepted], rejected: list[Rejected]) -> Appended:
    """Append in the caller's transaction; a messageId already in the log for this source is skipped."""
    rows, seen = [], set()
    for msg in accepted:
        if msg.message_id in seen:
            continue
        seen.add(msg.message_id)
        rows.append(
            {
                "source_id": source_id,
                "message_id": msg.message_id,
                "type": msg.type,
                "event": msg.event,
                "timestamp": msg.timestamp,
                "received_at": msg.received_at,
                "payload": msg.payload,
            }
        )
    new_ids: list[int] = []
    if rows:  # RETURNING names only the rows inserted, not the duplicates skipped
        new_ids = list(conn.execute(_insert_ignoring_duplicates(conn).returning(events.c.id), rows).scalars())
    if rejected:
        now = utcnow()
        conn.execute(
            dead_letters.insert(),
            [
                {
                    "source_id": source_id,
                    "received_at": now,
                    "code": r.code,
                    "reason": r.reason,
                    "payload": orjson.dumps(r.payload, default=str).decode(),
                }
                for r in rejected
            ],
        )
    offset = max(new_ids) if new_ids else _last_offset(conn)
    return Appended(len(new_ids), len(accepted) - len(new_ids), offset)


def _last_offset(conn: Connection) -> int:
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar_one()


class LogWriter:
    """One thread that commits what concurrent requests hand it, many requests per transaction."""

    def __init__(self, db: Database, max_group: int = 64) -> None:
        self.db = db
        self.max_group = max_group
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="rapport-log-writer", daemon=True)
        self._thread.start()

    def submit(self, source_id: int, accepted: list[Accepted], rejected: list[Rejected]) -> Future[Appended]:
        future: Future[Appended] = Future()
        self._queue.put(_Job(source_id, accepted, rejected, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            while len(group) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(group)
                    return
                group.append(nxt)
            self._commit(group)

    def _commit(self, group: list[_Job]) -> None:
        try:
            with self.db.write(lock=LOG_LOCK) as conn:
                results = [append_messages(conn, j.source_id, j.accepted, j.rejected) for j in group]
        except Exception as exc:  # noqa: BLE001 - every waiting request must learn of the failure
            if len(group) > 1:  # one bad request must not fail the others: commit them one by one
                for j in group:
                    self._commit([j])
            else:
                group[0].future.set_exception(exc)
            return
        for j, result in zip(group, results, strict=True):
            j.future.set_result(result)
