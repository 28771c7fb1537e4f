"""What the processor's per-event writes cost in SQLite itself, against inserting the event (the baseline).

For rows shaped like the event log (~700-byte JSON payload, the events table's indexes), one process,
python sqlite3, WAL, one transaction per 2000 events (a processor batch):

  baseline        INSERT the event rows (what ingest does)
  assign-update   UPDATE events SET profile_id = ? WHERE id = ?   (the processor per event until migration 0003)
  assign-side     INSERT INTO a narrow (event_id, profile_id, timestamp) table instead (what it does now,
                  into profile_events)
  and the same UPDATE with secure_delete=OFF, to show what secure_delete costs on this path.

Usage:  .venv/bin/python bench/sqlite_write_costs.py [--events 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_dir  # noqa: E402
from _workload import median, messages  # noqa: E402

SCHEMA = """
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, source_id INTEGER NOT NULL, message_id VARCHAR(200) NOT NULL,
  type VARCHAR(16) NOT NULL, event VARCHAR(200), timestamp DATETIME NOT NULL, received_at DATETIME NOT NULL,
  payload JSON NOT NULL, profile_id VARCHAR(32), CONSTRAINT uq_events_source_message UNIQUE (source_id, message_id));
CREATE INDEX ix_events_profile_time ON events (profile_id, timestamp);
CREATE TABLE event_profiles (event_id INTEGER PRIMARY KEY, profile_id VARCHAR(32) NOT NULL,
  timestamp DATETIME NOT NULL);
CREATE INDEX ix_event_profiles_profile_time ON event_profiles (profile_id, timestamp);
"""


def connect(path: Path, secure_delete: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", f"secure_delete={secure_delete}"):
        db.execute(f"PRAGMA {pragma}")
    return db


def timed_batches(db: sqlite3.Connection, sql: str, rows: list[tuple], batch: int) -> float:
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows[i : i + batch])
        db.execute("COMMIT")
    return time.perf_counter() - t


def one_round(n: int, work: Path, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    msgs = list(messages(n, max(1, n // 10), seed=seed))
    rows = [
        (
            1,
            m["messageId"],
            m["type"],
            m.get("event"),
            m["timestamp"][:19].replace("T", " ") + ".000000",
            "2026-01-02 00:00:00.000000",
            orjson.dumps(m).decode(),
        )
        for m in msgs
    ]
    profiles = [f"{rng.getrandbits(128):032x}" for _ in range(n // 10)]
    assign = [(rng.choice(profiles), i + 1) for i in range(n)]
    side = [(i + 1, pid, rows[i][4]) for i, (pid, _) in enumerate(assign)]
    out = {}
    for secure in ("ON", "OFF"):
        path = work / f"sd-{secure}.db"
        db = connect(path, secure)
        db.executescript(SCHEMA)
        ins = timed_batches(
            db,
            "INSERT INTO events (source_id, message_id, type, event, timestamp, received_at, payload) "
            "VALUES (?,?,?,?,?,?,?)",
            rows,
            2000,
        )
        upd = timed_batches(db, "UPDATE events SET profile_id = ? WHERE id = ?", assign, 2000)
        if secure == "ON":
            out["baseline"] = ins
            out["assign-update"] = upd
            out["assign-side"] = timed_batches(db, "INSERT INTO event_profiles VALUES (?,?,?)", side, 2000)
        else:
            out["assign-update secure_delete=OFF"] = upd
        db.close()
    return {k: v / n * 1e6 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for n in range(args.repeat):
        work = fresh_dir("rapport-bench-sqlite-")
        try:
            rounds.append(one_round(args.events, work, 7 + n))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(
            f"round {n + 1}: " + "  ".join(f"{k} {v:.1f}" for k, v in rounds[-1].items()) + "  (us/event)", flush=True
        )
    print(f"\nmedian of {len(rounds)} rounds, us per event; ratio to inserting the event:")
    for key in rounds[0]:
        print(
            f"  {key:<33} {median([r[key] for r in rounds]):6.1f} us  "
            f"{median([r[key] / r['baseline'] for r in rounds]):5.2f}x"
        )


if __name__ == "__main__":
    main()
