"""`rapport` with PROTOTYPE optimizations patched in, to measure what a change to src/ would gain.

Run as `python bench/_patched_serve.py serve ...` with BENCH_PATCHES=comma,separated,names. The patches
are applied at import, so the processor child (multiprocessing spawn re-runs this file as
`__mp_main__`) gets them too. Nothing here is used by rapport itself; the benchmarks only.

  flock      SQLite write transactions first take an OS file lock (fcntl.flock) next to the database,
             so a waiting writer wakes the moment the other commits instead of sleeping in SQLite's
             busy handler (which backs off up to 100 ms) -- db/engine.py Database.write
  split-log  SQLite only: the event log (events, dead_letters) in its own file, attached to every
             connection as `log`, so the log writer and the processor each take their own file's write
             lock. The log writer writes through a connection to the log file alone, the processor
             through one to the main file alone; reads see both (unqualified names resolve to the
             attached file). The tables move there right after the migrations at `serve`.
  workers    lets `serve --workers N` (bench/ingest.py --workers) run on SQLite too, which rapport
             refuses: several server processes, each with its own event loop and log writer, wait
             for SQLite's one write lock. On PostgreSQL `--workers` needs no patch. (This was the
             prototype of `serve --workers`; its figures in bench/README.md are `--workers 2`.)
  no-log-lock UNSAFE, diagnosis only: appends on PostgreSQL take no `rapport:event-log` advisory lock,
             to measure what serializing them costs. Two appends may then commit their offsets out
             of order, and the processor, which reads in offset order, can pass over an event for
             good: bench/ingest.py prints such events as `skipped`.
  pg-encode-first  PostgreSQL: the log writer encodes its rows (payload JSON, the multi-row INSERT and
             its parameters) before it takes the log lock, as it already does on SQLite, and sends
             them on the driver's cursor; as shipped, SQLAlchemy encodes them inside the transaction,
             under the lock -- collect/log.py _prepare
  committime A diagnostic, not an optimization: the log writer times each group's phases (encode,
             wait for the write lock, insert, commit) and writes them at exit to BENCH_COMMIT_LOG
             (default /tmp/commit_spans.txt), one line per group: start, four durations, events.
(Earlier prototypes are now in rapport itself: raw-append, phone-cache, short-txn (resolve under a
read transaction, write lock only to flush) and, instead of stats-sql, the processor's stats cache.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


LOG_TABLES = ("events", "dead_letters")


def log_file(db_path: Any) -> str:
    return f"{db_path}-log"


def _patch_split_log() -> None:
    import re

    import sqlalchemy as sa

    from rapport.collect.log import LOG_LOCK
    from rapport.db import engine, migrate
    from rapport.identity.graph import GRAPH_LOCK

    plain = engine._sqlite_engine
    schema_pragmas = ("journal_mode=WAL", "synchronous", "secure_delete", "cache_size")

    def attached(settings: Any, immediate: bool) -> Any:
        eng = plain(settings, immediate)

        @sa.event.listens_for(eng, "connect")
        def _attach(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("ATTACH DATABASE ? AS log", (log_file(settings.sqlite_path),))
            for pragma in engine.sqlite_pragmas(settings):
                if pragma.startswith(schema_pragmas):
                    cur.execute(f"PRAGMA log.{pragma}")
            cur.close()

        return eng

    def open_database(settings: Any) -> Any:
        if not settings.is_sqlite:
            raise SystemExit("split-log is a SQLite prototype")
        db = engine.Database(settings, attached(settings, False), attached(settings, True))
        log_settings = settings.model_copy(update={"database_url": f"sqlite:///{log_file(settings.sqlite_path)}"})
        db.memo["log_writer"] = plain(log_settings, True)
        db.memo["main_writer"] = plain(settings, True)
        return db

    original_write = engine.Database.write

    @contextmanager
    def write(self: Any, lock: str | None = None) -> Iterator[Any]:
        special = {LOG_LOCK: "log_writer", GRAPH_LOCK: "main_writer"}.get(lock or "")
        if special is None:
            with original_write(self, lock) as conn:
                yield conn
            return
        with self.memo[special].begin() as conn:  # type: ignore[attr-defined]
            yield conn

    original_upgrade = migrate.upgrade

    def upgrade(db: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_upgrade(db, *args, **kwargs)
        with db.writer.connect() as conn:
            raw = conn.connection.driver_connection
            names = {r[0] for r in raw.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
            for table in LOG_TABLES:
                if table not in names:
                    continue
                for (sql,) in raw.execute(
                    "SELECT sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'index'",
                    (table,),
                ).fetchall():
                    sql = re.sub(r",\s*CONSTRAINT \w+ FOREIGN KEY\(source_id\) REFERENCES sources \(id\)", "", sql)
                    sql = re.sub(r'^CREATE (UNIQUE )?(TABLE|INDEX) "?(\w+)"?', r"CREATE \1\2 log.\3", sql)
                    raw.execute(sql)
                raw.execute(f"INSERT INTO log.{table} SELECT * FROM main.{table}")
                raw.execute(f"DROP TABLE main.{table}")
            conn.commit()
        return result

    engine.open_database = open_database
    engine.Database.write = write  # type: ignore[method-assign]
    migrate.upgrade = upgrade
    import rapport.app
    import rapport.kernel.commands

    rapport.app.open_database = open_database  # type: ignore[attr-defined]
    rapport.kernel.commands.open_database = open_database  # type: ignore[attr-defined]
    rapport.kernel.commands.upgrade = upgrade  # type: ignore[attr-defined]


def _patch_workers() -> None:
    import rapport.cli

    refuse = rapport.cli._refuse_workers

    def allow_sqlite(settings: Any, workers: int) -> None:
        refuse(settings.model_copy(update={"database_url": "postgresql://bench"}), workers)

    rapport.cli._refuse_workers = allow_sqlite


def _patch_no_log_lock() -> None:
    from rapport.collect.log import LOG_LOCK
    from rapport.db import engine

    original = engine.Database.write

    @contextmanager
    def write(self: Any, lock: str | None = None) -> Iterator[Any]:
        with original(self, None if lock == LOG_LOCK else lock) as conn:
            yield conn

    engine.Database.write = write  # type: ignore[method-assign]


def _patch_pg_encode_first() -> None:
    import orjson

    from rapport.collect import log

    original = log._prepare
    columns = (
        "source_id, message_id, type, event, timestamp, received_at, payload, original_timestamp, user_id, anonymous_id"
    )
    row = "(%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s)"

    def prepare(source_id: int, accepted: list[Any], rejected: list[Any], dialect: str) -> Any:
        prepared = original(source_id, accepted, rejected, dialect)
        if dialect != "postgresql" or not prepared.unique:
            return prepared
        chunks = []  # log._run_sqlite runs these on the driver's cursor; psycopg reads them as well
        for start in range(0, len(prepared.unique), 2000):  # 20,000 parameters, under PostgreSQL's 65,535
            chunk = prepared.unique[start : start + 2000]
            params: list[Any] = []
            for m in chunk:
                payload = orjson.dumps(m.payload, option=orjson.OPT_NON_STR_KEYS).decode()
                get = m.payload.get
                params += (source_id, m.message_id, m.type, m.event, m.timestamp, m.received_at, payload)
                params += (m.original, get("userId"), get("anonymousId"))
            sql = f"INSERT INTO events ({columns}) VALUES " + ",".join([row] * len(chunk))
            chunks.append((sql + " ON CONFLICT DO NOTHING RETURNING id", params))
        prepared.sqlite_chunks = chunks
        return prepared

    log._prepare = prepare


def _patch_committime() -> None:
    import atexit
    import time

    from rapport.collect import log

    spans: list[tuple[float, ...]] = []

    def _commit(self: Any, group: list[Any]) -> None:
        t0 = time.perf_counter()
        prepared = [log._prepare(j.source_id, j.accepted, j.rejected, self.db.dialect) for j in group]
        t1 = time.perf_counter()
        with self.db.write(lock=log.LOG_LOCK) as conn:
            t2 = time.perf_counter()
            results = [log._append(conn, p) for p in prepared]
            t3 = time.perf_counter()
        t4 = time.perf_counter()
        for j, result in zip(group, results, strict=True):
            j.future.set_result(result)
        spans.append((t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3, sum(len(j.accepted) for j in group)))

    log.LogWriter._commit = _commit  # type: ignore[method-assign]

    def dump() -> None:
        with open(os.environ.get("BENCH_COMMIT_LOG", "/tmp/commit_spans.txt"), "w") as out:
            for row in spans:
                out.write(" ".join(f"{v:.6f}" for v in row) + "\n")

    atexit.register(dump)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (dump(), os._exit(0)))


ALL = {
    "committime": _patch_committime,
    "workers": _patch_workers,
    "no-log-lock": _patch_no_log_lock,
    "pg-encode-first": _patch_pg_encode_first,
    "flock": _patch_flock,
    "split-log": _patch_split_log,
}
import rapport  # noqa: E402

# Patch once per process, whatever imports this file (spawned children run it as `__mp_main__`).
if not getattr(rapport, "_bench_patched", False):
    rapport._bench_patched = True  # type: ignore[attr-defined]
    for _name, _apply in ALL.items():
        if _name in PATCHES:
            _apply()
unknown = PATCHES - set(ALL)
if unknown:
    raise SystemExit(f"unknown BENCH_PATCHES: {', '.join(sorted(unknown))}")

if __name__ == "__main__":
    from rapport.cli import main

    main()
