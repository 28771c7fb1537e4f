"""Where the ingest path spends its CPU, per event, in this process, each part against the raw baseline.

No server: the same workload as bench/ingest.py, timed piece by piece on one thread:

  decode      orjson.loads of a 100-message body
  normalize   collect.model.normalize_message (the current code)
  append      collect.log.append_messages in Database.write(), one transaction per 100 (the log writer's work)
  baseline    python sqlite3 executemany of the same rows, one commit per 100 (as bench/ingest.py)

and prints microseconds per event with each part's ratio to the baseline. Budget to reach 20,000 events/s on
one core: 50 us per event for everything the server does.

Usage:  .venv/bin/python bench/ingest_parts.py [--events 20000] [--repeat 5] [--synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_dir  # noqa: E402
from _workload import median, messages, raw_insert_rate  # noqa: E402


def sqlite_ts(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME stores for a UTC datetime (naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def one_round(args: argparse.Namespace, bodies: list[bytes], work: Path) -> dict[str, float]:
    from rapport.collect import model
    from rapport.collect.log import append_messages
    from rapport.collect.service import create_source
    from rapport.db.engine import open_database
    from rapport.db.migrate import upgrade
    from rapport.settings import load_settings

    n_events = args.events
    out: dict[str, float] = {}
    t = time.perf_counter()
    decoded = [orjson.loads(b) for b in bodies]
    out["decode"] = time.perf_counter() - t

    received = datetime.now(UTC)
    t = time.perf_counter()
    batches = []
    for body in decoded:
        envelope, msgs = model.read_envelope(body, received, True)
        batches.append([model.normalize_message(m, envelope) for m in msgs])
    out["normalize"] = time.perf_counter() - t

    db = open_database(load_settings(database_url=f"sqlite:///{work}/append.db", sqlite_synchronous=args.synchronous))
    upgrade(db)
    source_id = create_source(db, "bench", "web").id
    t = time.perf_counter()
    for batch in batches:
        with db.write() as conn:
            append_messages(conn, source_id, batch, [])
    out["append"] = time.perf_counter() - t

    # Baseline: the rows the server stored, inserted with python sqlite3 (same schema and pragmas).
    out["baseline"] = n_events / raw_insert_rate(work / "append.db", work, args.synchronous)
    db.dispose()
    return {k: v / n_events * 1e6 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    args = parser.parse_args()
    msgs = list(messages(args.events, max(1, args.events // 10)))
    bodies = [
        orjson.dumps({"batch": msgs[i : i + 100], "sentAt": "2026-01-01T12:00:00Z"}) for i in range(0, len(msgs), 100)
    ]
    rounds = []
    for n in range(args.repeat):
        work = fresh_dir("rapport-bench-parts-")
        try:
            r = one_round(args, bodies, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rounds.append(r)
        print(f"round {n + 1}: " + "  ".join(f"{k} {v:.1f}" for k, v in r.items()) + "  (us/event)", flush=True)
    print(f"\nmedian of {len(rounds)} rounds, us per event (synchronous={args.synchronous}); ratio to baseline:")
    base = median([r["baseline"] for r in rounds])
    for key in rounds[0]:
        value = median([r[key] for r in rounds])
        ratio = median([r[key] / r["baseline"] for r in rounds])
        print(f"  {key:<11} {value:7.1f} us   {ratio:5.2f}x baseline")
    print(f"  (baseline = {1e6 / base:,.0f} rows/s)")


if __name__ == "__main__":
    main()
