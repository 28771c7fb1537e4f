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
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.collect.jsondoc import dumps_anything
from rapport.collect.model import Accepted, Rejected
from rapport.collect.store import dead_letters, events, record_subjects
from rapport.collect.subjects import subject_keys
from rapport.db.bulk import sqlite_time
from rapport.db.engine import Database
from rapport.kernel.clock import utcnow

LOG_LOCK = "rapport:event-log"  # serializes appends on PostgreSQL so offsets commit in order
SQLITE_ROWS_PER_INSERT = 2000  # at 10 values a row, under SQLite's 32,766 bound variables


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
    """Skips a message already in the log: same source, messageId and own time (collect/store.py)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(events).on_conflict_do_nothing()


def _unique(accepted: list[Accepted]) -> list[Accepted]:
    seen: set[tuple[str, datetime | None]] = set()
    unique = []
    for msg in accepted:
        if (key := (msg.message_id, msg.original)) not in seen:
            seen.add(key)
            unique.append(msg)
    return unique


@dataclass
class _Prepared:
    """An append with everything computed that needs no transaction: encoded while no lock is held."""

    source_id: int
    received: int  # messages accepted, duplicates included: those not stored are counted as duplicates
    rejected: list[Rejected]
    unique: list[Accepted]
    sqlite_chunks: list[tuple[str, list[Any]]] | None = None  # (multi-row INSERT, its parameters)


def _prepare(source_id: int, accepted: list[Accepted], rejected: list[Rejected], dialect: str) -> _Prepared:
    unique = _unique(accepted)
    prepared = _Prepared(source_id, len(accepted), rejected, unique)
    if dialect == "sqlite" and unique:
        prepared.sqlite_chunks = _sqlite_chunks(source_id, unique)
    return prepared


def _sqlite_chunks(source_id: int, messages: list[Accepted]) -> list[tuple[str, list[Any]]]:
    """The ingest hot path on SQLite: one multi-row INSERT per chunk on the driver's cursor, which
    halves the per-event cost of going through SQLAlchemy's per-value processing (bench/ingest_parts.py)."""
    chunks = []
    received: datetime | None = None
    received_text = ""
    for start in range(0, len(messages), SQLITE_ROWS_PER_INSERT):
        chunk = messages[start : start + SQLITE_ROWS_PER_INSERT]
        params: list[Any] = []
        for m in chunk:
            if m.received_at is not received:  # one value for all messages of a request
                received, received_text = m.received_at, sqlite_time(m.received_at)
            payload = orjson.dumps(m.payload, option=orjson.OPT_NON_STR_KEYS).decode()
            original = sqlite_time(m.original) if m.original is not None else None
            get = m.payload.get
            params += (
                source_id,
                m.message_id,
                m.type,
                m.event,
                sqlite_time(m.timestamp),
                received_text,
                payload,
                original,
                get("userId"),
                get("anonymousId"),
            )
        sql = (
            "INSERT INTO events (source_id, message_id, type, event, timestamp, received_at, payload, "
            "original_timestamp, user_id, anonymous_id) VALUES "
            + ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(chunk))
            + " ON CONFLICT DO NOTHING RETURNING id"
        )
        chunks.append((sql, params))
    return chunks


def _run_sqlite(conn: Connection, chunks: list[tuple[str, list[Any]]]) -> list[int]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    new_ids: list[int] = []
    for sql, params in chunks:
        new_ids += [row[0] for row in cursor.execute(sql, params).fetchall()]
    return new_ids


def append_messages(conn: Connection, source_id: int, accepted: list[Accepted], rejected: list[Rejected]) -> Appended:
    """Append in the caller's transaction; a messageId already in the log for this source is skipped."""
    return _append(conn, _prepare(source_id, accepted, rejected, conn.dialect.name))


def _append(conn: Connection, prepared: _Prepared) -> Appended:
    if prepared.sqlite_chunks is not None:
        new_ids = _run_sqlite(conn, prepared.sqlite_chunks)
    else:
        new_ids = _append_portable(conn, prepared.source_id, prepared.unique)
    _dead_letters(conn, prepared.source_id, prepared.rejected)
    offset = max(new_ids) if new_ids else _last_offset(conn)
    return Appended(len(new_ids), prepared.received - len(new_ids), offset)


def _append_portable(conn: Connection, source_id: int, messages: list[Accepted]) -> list[int]:
    rows = []
    for msg in messages:
        rows.append(
            {
                "source_id": source_id,
                "message_id": msg.message_id,
                "type": msg.type,
                "event": msg.event,
                "timestamp": msg.timestamp,
                "received_at": msg.received_at,
                "payload": msg.payload,
                "original_timestamp": msg.original,
                "user_id": msg.payload.get("userId"),
                "anonymous_id": msg.payload.get("anonymousId"),
            }
        )
    if not rows:
        return []
    # RETURNING names only the rows inserted, not the duplicates skipped.
    return list(conn.execute(_insert_ignoring_duplicates(conn).returning(events.c.id), rows).scalars())


def _dead_letters(conn: Connection, source_id: int, rejected: list[Rejected]) -> None:
    """The rejected messages, with whom each is about (for export and erasure)."""
    if rejected:
        now = utcnow()
        payloads = [dumps_anything(r.payload) for r in rejected]
        rows = [
            {"source_id": source_id, "received_at": now, "code": r.code, "reason": r.reason, "payload": payload}
            for r, payload in zip(rejected, payloads, strict=True)
        ]
        ids = conn.execute(dead_letters.insert().returning(dead_letters.c.id, sort_by_parameter_order=True), rows)
        record_subjects(conn, list(zip(ids.scalars(), map(subject_keys, payloads), strict=True)))


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
            # Encoded before the write lock is taken: the processor waits for it meanwhile.
            prepared = [_prepare(j.source_id, j.accepted, j.rejected, self.db.dialect) for j in group]
            with self.db.write(lock=LOG_LOCK) as conn:
                results = [_append(conn, p) for p in prepared]
        except Exception as exc:  # noqa: BLE001 - every waiting request must learn of the failure
            if len(group) > 1:  # one bad request must not fail the others: commit them one by one
                for j in group:
                    self._commit([j])
            else:
                group[0].future.set_exception(exc)
            return
        for j, result in zip(group, results, strict=True):
            j.future.set_result(result)
