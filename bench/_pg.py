"""PostgreSQL for bench/ingest.py: a fresh schema per run, the processor's progress, the raw-insert
baseline, and a sampler of what the server's connections wait for (the log lock among them).

Only a server on loopback is accepted. Every statement runs under a statement timeout.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

LOG_LOCK = "rapport:event-log"  # rapport.collect.log.LOG_LOCK; the sampler tells its waiters apart
RAW_SCHEMA = "bench_raw"
TIMEOUT_MS = 120_000
COLUMNS = (
    "source_id, message_id, type, event, timestamp, received_at, payload, original_timestamp, user_id, anonymous_id"
)


def libpq_url(url: str) -> str:
    """psycopg's URL for SQLAlchemy's `postgresql+psycopg://...`, refusing any host but loopback."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    host = urlsplit(plain).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the benchmarks only contact 127.0.0.1, not {host!r}")
    return plain


def connect(url: str, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(
        libpq_url(url), autocommit=autocommit, connect_timeout=10, options=f"-c statement_timeout={TIMEOUT_MS}"
    )


def reset_schema(url: str) -> None:
    """Every run starts on an empty database: `rapport admin create-source` then migrates it."""
    with connect(url) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def server_settings(url: str) -> str:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'commit_delay', 'max_connections') "
            "ORDER BY name"
        ).fetchall()
        version = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {version[0] if version else '?'}: " + ", ".join(f"{n}={v}" for n, v in rows)


def postmaster_pid(url: str) -> int:
    """The server's postmaster, whose children are the backends: their CPU is the database's."""
    with connect(url) as conn:  # read while the backend lives: it ends with its connection
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row
        stat = Path(f"/proc/{row[0]}/stat").read_text()  # a local server only
    return int(stat.rsplit(")", 1)[1].split()[1])


class PgLog:
    """What the bench reads while the server runs: the processor's offset, then the counts."""

    def __init__(self, url: str) -> None:
        self.conn = connect(url)

    def offset(self) -> int:
        row = self.conn.execute("SELECT \"offset\" FROM log_offsets WHERE consumer = 'profiles'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> tuple[int, int, int]:
        """(events stored, events on no profile, profiles)."""
        stored = self.conn.execute("SELECT count(*) FROM events").fetchone()
        placed = self.conn.execute("SELECT count(*) FROM profile_events").fetchone()
        profiles = self.conn.execute("SELECT count(*) FROM profiles WHERE id = canonical_id").fetchone()
        assert stored and placed and profiles
        return int(stored[0]), int(stored[0]) - int(placed[0]), int(profiles[0])

    def close(self) -> None:
        self.conn.close()


def raw_insert_rate(url: str, batch: int) -> float:
    """The baseline: psycopg inserting the rows the server stored into a copy of `events` (same
    columns, indexes, foreign key and conflict handling) on the same server, one transaction per
    `batch` rows, each one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING id` as the server's
    log writer sends them per request; rows per second."""
    with connect(url) as conn:
        rows = conn.execute(f"SELECT {COLUMNS.replace('payload', 'payload::text')} FROM events ORDER BY id").fetchall()
        conn.execute(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        conn.execute(f"CREATE TABLE {RAW_SCHEMA}.events (LIKE public.events INCLUDING ALL EXCLUDING DEFAULTS)")
        conn.execute(f"CREATE SEQUENCE {RAW_SCHEMA}.events_id_seq OWNED BY {RAW_SCHEMA}.events.id")
        conn.execute(f"ALTER TABLE {RAW_SCHEMA}.events ALTER id SET DEFAULT nextval('{RAW_SCHEMA}.events_id_seq')")
        conn.execute(f"ALTER TABLE {RAW_SCHEMA}.events ADD FOREIGN KEY (source_id) REFERENCES public.sources (id)")
    one = "(%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s)"
    with connect(url, autocommit=False) as conn:
        t = time.perf_counter()
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            sql = (
                f"INSERT INTO {RAW_SCHEMA}.events ({COLUMNS}) VALUES "
                + ",".join([one] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING id"
            )
            conn.execute(sql, [v for row in chunk for v in row]).fetchall()  # type: ignore[arg-type]
            conn.commit()
        elapsed = time.perf_counter() - t
    with connect(url) as conn:
        conn.execute(f"DROP SCHEMA {RAW_SCHEMA} CASCADE")
    return len(rows) / elapsed if elapsed else 0.0


# Each server connection, each sample: does it hold the log lock, wait for it, or neither; and what
# it waits for in PostgreSQL (wait_event_type:wait_event, e.g. IO:WALSync while its commit is
# flushed). A holder `idle in transaction` is waiting for its next statement: the lock then waits
# on the Python side (the log writer thread between statements, the GIL).
_SAMPLE = """
WITH log_lock AS (
  SELECT l.pid, l.granted FROM pg_locks l
  WHERE l.locktype = 'advisory' AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext(%s)::bigint
)
SELECT a.pid, a.state, coalesce(a.wait_event_type || ':' || a.wait_event, ''),
       bool_or(k.granted), bool_or(NOT k.granted)
FROM pg_stat_activity a LEFT JOIN log_lock k ON k.pid = a.pid
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
GROUP BY a.pid, a.state, a.wait_event_type, a.wait_event
"""


@dataclass
class WaitSampler:
    """Samples pg_stat_activity and pg_locks every `interval_s` in a thread of its own."""

    url: str
    interval_s: float = 0.02
    samples: int = 0
    held: int = 0  # samples in which some connection held the log lock
    waiting: int = 0  # connection-samples spent waiting for it
    holder: Counter[str] = field(default_factory=Counter)  # what the holder was doing
    others: Counter[str] = field(default_factory=Counter)  # what the other active connections waited for
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, name="pg-wait-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with connect(self.url) as conn:
            conn.execute("SET statement_timeout = 2000")
            while not self._stop.wait(self.interval_s):
                rows = conn.execute(_SAMPLE, (LOG_LOCK,)).fetchall()
                self.samples += 1
                for _pid, state, wait, holds, waits in rows:
                    if holds:
                        self.held += 1
                        self.holder["waits for Python" if state != "active" else wait or "on CPU"] += 1
                    elif waits:
                        self.waiting += 1
                    elif state == "active":
                        self.others[wait or "on CPU"] += 1

    def summary(self) -> dict[str, Any]:
        n = max(1, self.samples)
        held = max(1, self.held)
        return {
            "lock_held": self.held / n,
            "lock_waiters": self.waiting / n,
            "holder": {k: v / held for k, v in self.holder.most_common(4)},
            "others": {k: v / n for k, v in self.others.most_common(4)},
            "samples": self.samples,
        }
