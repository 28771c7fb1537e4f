"""Throughput of the event processor alone, as a ratio to raw SQLite inserts of the same rows.

Fills a fresh event log in this process (the ingest workload: identify/track/page from people who
start anonymous, some merging two devices), then times `Processor.run_until_caught_up()` and, as the
baseline in the same process, python sqlite3 inserting the same event rows (one commit per 100).
The processor must keep up with ingest for profiles to be visible within 2 s of the last 2xx, so
its rate is what bounds the ingest target (20,000 events/s) end to end.

Usage:  .venv/bin/python bench/processor.py [--events 100000] [--users 10000] [--repeat 3]
            [--batch-size 10000] [--synchronous FULL|NORMAL] [--cprofile N]

Noisy shared machine: compare the ratio and medians of several runs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_dir  # noqa: E402
from _workload import median, messages, raw_insert_rate  # noqa: E402


def fill_log(db_path: Path, args: argparse.Namespace):  # noqa: ANN201 - returns rapport's Database
    from rapport.collect import model
    from rapport.collect.log import append_messages
    from rapport.collect.service import create_source
    from rapport.db.engine import open_database
    from rapport.db.migrate import upgrade
    from rapport.settings import load_settings

    db = open_database(
        load_settings(
            database_url=f"sqlite:///{db_path}",
            sqlite_synchronous=args.synchronous,
            processor_batch_size=args.batch_size,
        )
    )
    upgrade(db)
    source = create_source(db, "bench-web", "web")
    envelope = model.Envelope({}, {}, None, datetime.now(UTC))
    accepted = [model.normalize_message(m, envelope) for m in messages(args.events, args.users, seed=args.seed)]
    for i in range(0, len(accepted), 5000):
        with db.write() as conn:
            append_messages(conn, source.id, accepted[i : i + 5000], [])  # type: ignore[arg-type]
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10_000, help="RAPPORT_PROCESSOR_BATCH_SIZE")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N hottest functions (last run)")
    parser.add_argument(
        "--patch",
        default="",
        metavar="NAMES",
        help="PROTOTYPE changes from bench/_patched_serve.py, e.g. flock",
    )
    args = parser.parse_args()
    if args.patch:
        import os

        os.environ["BENCH_PATCHES"] = args.patch
        import _patched_serve  # noqa: F401 - applies the patches at import

    import gc

    from rapport.collect.consumer import GC_THRESHOLDS
    from rapport.profiles.processor import Processor

    gc.set_threshold(*GC_THRESHOLDS)  # as the processor process runs (run_consumer)
    results = []
    for n in range(args.repeat):
        work = fresh_dir("rapport-bench-proc-")
        try:
            db = fill_log(work / "bench.db", args)
            processor = Processor(db)
            profiler = cProfile.Profile() if args.cprofile and n == args.repeat - 1 else None
            t = time.perf_counter()
            if profiler:
                profiler.enable()
            done = processor.run_until_caught_up()
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - t
            db.dispose()
            raw = raw_insert_rate(work / "bench.db", work, args.synchronous)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rate = done / elapsed
        results.append((rate, raw, rate / raw))
        print(
            f"run {n + 1}: processor {rate:,.0f} events/s "
            f"({done} in {elapsed:.1f}s{', under cProfile' if profiler else ''}) "
            f"| raw sqlite3 insert {raw:,.0f} rows/s | ratio {rate / raw:.3f}",
            flush=True,
        )
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.cprofile)
            stats.sort_stats("cumulative").print_stats(args.cprofile)
    plain = [r for r in results[: len(results) - (1 if args.cprofile else 0)]] or results
    print(
        f"\nmedian of {len(plain)} runs (batch {args.batch_size}, synchronous={args.synchronous}"
        f"{', PATCHED: ' + args.patch if args.patch else ''}): processor "
        f"{median([r[0] for r in plain]):,.0f} events/s | raw sqlite3 {median([r[1] for r in plain]):,.0f} rows/s | "
        f"RATIO {median([r[2] for r in plain]):.3f}  (to keep up with 20,000 events/s ingest it needs >= 20,000)"
    )


if __name__ == "__main__":
    main()
