"""Engine factory and the Database handle passed to every service.

SQLite runs in WAL mode with `secure_delete=ON`. Writes on SQLite begin with `BEGIN IMMEDIATE` so
that a read-then-write service never meets a lock upgrade failure; reads use deferred
transactions so they never wait on the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from rapport.settings import Settings


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def sqlite_pragmas(settings: Settings) -> list[str]:
    """Every SQLite connection's settings (the ingest benchmarks' raw baseline uses the same).

    The page cache matters most: the processor's writes land on pages all over the timeline and
    profile indexes, and SQLite's default 2 MiB cache made each batch spill and re-read them
    (bench/ingest.py: 15.2 s to catch up after the last ack with 2 MiB, 6.8 s with 64 MiB)."""
    return [
        "journal_mode=WAL",
        f"synchronous={settings.sqlite_synchronous}",
        "secure_delete=ON",
        "foreign_keys=ON",
        "busy_timeout=30000",
        f"cache_size=-{settings.sqlite_cache_mib * 1024}",
    ]


def _sqlite_engine(settings: Settings, immediate: bool) -> Engine:
    path = settings.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        settings.database_url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
    )
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own is broken)
        cur = dbapi_conn.cursor()
        for pragma in sqlite_pragmas(settings):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _postgres_engine(settings: Settings) -> Engine:
    return sa.create_engine(
        settings.database_url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=8,
        max_overflow=8,
        pool_pre_ping=True,
    )


@dataclass
class Database:
    """Read engine, write engine and the settings they were built from."""

    settings: Settings
    engine: Engine
    writer: Engine
    memo: dict[str, object] = field(default_factory=dict)  # values read once per process, e.g. secrets

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Connection]:
        """One write transaction; `lock` names a PostgreSQL advisory lock to serialize on."""
        with self.writer.begin() as conn:
            if lock:
                advisory_lock(conn, lock)
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.writer is not self.engine:
            self.writer.dispose()


def advisory_lock(conn: Connection, name: str) -> None:
    """Hold the PostgreSQL advisory lock `name` until this transaction ends: what serializes a kind
    of writer there. On SQLite a write transaction already holds the one write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": name})


def open_database(settings: Settings) -> Database:
    if settings.is_sqlite:
        return Database(settings, _sqlite_engine(settings, False), _sqlite_engine(settings, True))
    engine = _postgres_engine(settings)
    return Database(settings, engine, engine)
