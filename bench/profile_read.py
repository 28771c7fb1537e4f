"""Latency of reading one unified profile over HTTP, as a ratio to a trivial round trip to the same server.

Builds (or reuses) a SQLite database with ~100,000 profiles by running rapport's own pipeline in this
process (normalize_message -> append_messages -> Processor.run_until_caught_up), starts the real
`rapport serve` on loopback, and on one keep-alive connection alternates

  GET /healthz                      (baseline: the same server, routing and JSON, no database)
  GET /api/v1/profiles/{random id}  (staff token; canonical ids drawn at random)

so both see the same noise. Prints p50/p99 of each and their ratios; then, in this process and
without HTTP, the cost of the pieces the route runs (token check, load_profile) and of a raw
sqlite3 primary-key SELECT of the profile row, to show where the time goes.

Usage:  .venv/bin/python bench/profile_read.py [--profiles 100000] [--requests 5000] [--repeat 3]
            [--db /tmp/rapport-profiles.db]   (reused when it exists; built otherwise)

The machine is shared and noisy: compare ratios and medians of several runs. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import HOST, VENV_BIN, Server, env_for, free_port, fresh_dir, status_kb  # noqa: E402
from _workload import median, messages, percentile  # noqa: E402

TARGET_P99_MS = 20.0


def build(db_path: Path, people: int, per_person: int, seed: int) -> None:
    from rapport.collect import model
    from rapport.collect.log import append_messages
    from rapport.collect.service import create_source
    from rapport.db.engine import open_database
    from rapport.db.migrate import upgrade
    from rapport.profiles.processor import Processor
    from rapport.settings import load_settings

    settings = load_settings(
        database_url=f"sqlite:///{db_path}", sqlite_synchronous="NORMAL", processor_batch_size=5000
    )
    db = open_database(settings)
    upgrade(db)
    web = create_source(db, "bench-web", "web")
    t = time.perf_counter()
    envelope = model.Envelope({}, {}, None, datetime.now(UTC))
    pending: list[model.Accepted] = []
    appended = 0

    def flush() -> None:
        nonlocal appended
        with db.write() as conn:
            append_messages(conn, web.id, pending, [])
        appended += len(pending)
        pending.clear()

    for raw in messages(people * per_person, people, seed=seed, run="p", merge_step=True):
        result = model.normalize_message(raw, envelope)
        assert isinstance(result, model.Accepted), result
        pending.append(result)
        if len(pending) >= 5000:
            flush()
    flush()
    t_log = time.perf_counter() - t
    t = time.perf_counter()
    processed = Processor(db).run_until_caught_up()
    t_proc = time.perf_counter() - t
    db.dispose()
    print(
        f"built {db_path}: {appended} events appended in {t_log:.1f}s ({appended / t_log:,.0f}/s), "
        f"processed in {t_proc:.1f}s ({processed / t_proc:,.0f} events/s in-process)",
        flush=True,
    )


def profile_ids(db_path: Path, n: int, seed: int) -> tuple[list[str], int]:
    ro = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    ids = [r[0] for r in ro.execute("SELECT id FROM profiles WHERE id = canonical_id")]
    total = ro.execute("SELECT count(*) FROM profiles").fetchone()[0]
    ro.close()
    rng = random.Random(seed)
    return [rng.choice(ids) for _ in range(n)], total


def http_latencies(port: int, token: str, ids: list[str], warmup: int) -> tuple[list[float], list[float], int]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    staff = {"Authorization": f"Bearer {token}"}
    health: list[float] = []
    profile: list[float] = []
    size = 0
    for i, pid in enumerate(ids[:warmup] + ids):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        t_health = time.perf_counter() - t
        assert resp.status == 200, resp.status
        t = time.perf_counter()
        conn.request("GET", f"/api/v1/profiles/{pid}", headers=staff)
        resp = conn.getresponse()
        body = resp.read()
        t_profile = time.perf_counter() - t
        if resp.status != 200:
            raise SystemExit(f"GET /api/v1/profiles/{pid}: {resp.status} {body[:200]!r}")
        if i >= warmup:
            health.append(t_health)
            profile.append(t_profile)
            size += len(body)
    conn.close()
    return health, profile, size // max(1, len(ids))


def in_process_parts(db_path: Path, token: str, ids: list[str]) -> dict[str, float]:
    """Median microseconds of what the route does, without HTTP, and of a raw primary-key SELECT."""
    from rapport.access.service import authenticate
    from rapport.db.engine import open_database
    from rapport.profiles.service import load_profile
    from rapport.settings import load_settings

    db = open_database(load_settings(database_url=f"sqlite:///{db_path}"))
    auth, load, raw, dump, raw4 = [], [], [], [], []
    ro = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    for pid in ids:
        t = time.perf_counter()
        with db.read() as conn:
            authenticate(conn, token)
        auth.append(time.perf_counter() - t)
        t = time.perf_counter()
        with db.read() as conn:
            view = load_profile(conn, pid)
        load.append(time.perf_counter() - t)
        assert view is not None
        t = time.perf_counter()
        orjson.dumps(view.public(), option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
        dump.append(time.perf_counter() - t)
        t = time.perf_counter()
        ro.execute("SELECT * FROM profiles WHERE id = ?", (pid,)).fetchone()
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        canonical = ro.execute("SELECT canonical_id FROM profiles WHERE id = ?", (pid,)).fetchone()[0]
        members = [
            r[0]
            for r in ro.execute(
                "SELECT id, channels FROM profiles WHERE canonical_id = ?",
                (canonical,),
            )
        ]
        marks = ",".join("?" * len(members))
        ro.execute(
            f"SELECT count(*), min(timestamp), max(timestamp) FROM profile_events WHERE profile_id IN ({marks})",
            members,
        ).fetchone()
        ro.execute(f"SELECT type, value FROM identifiers WHERE profile_id IN ({marks})", members).fetchall()
        ro.execute(
            "SELECT t.key, t.value, t.observed_at, s.name, s.channel FROM profile_traits t LEFT OUTER JOIN "
            f"sources s ON s.id = t.source_id WHERE t.profile_id IN ({marks})",
            members,
        ).fetchall()
        raw4.append(time.perf_counter() - t)
    ro.close()
    db.dispose()
    return {
        name: median(v) * 1e6
        for name, v in (
            ("token check", auth),
            ("load_profile", load),
            ("JSON encode", dump),
            ("raw sqlite3 SELECT by id", raw),
            ("raw sqlite3 running load_profile's 5 queries", raw4),
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000, help="people; two-device people add a merged profile")
    parser.add_argument("--events-per-person", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", type=Path, help="database to reuse (built here when missing)")
    parser.add_argument("--py-spy", metavar="FILE", help="record a py-spy raw profile (with idle) of the first run")
    args = parser.parse_args()

    work = fresh_dir("rapport-bench-read-")
    try:
        db_path = args.db or work / "profiles.db"
        if not db_path.exists():
            build(db_path, args.profiles, args.events_per_person, args.seed)
        else:
            print(f"reusing {db_path}")
        from rapport.access.service import create_token
        from rapport.db.engine import open_database
        from rapport.settings import load_settings

        db = open_database(load_settings(database_url=f"sqlite:///{db_path}"))
        _, token = create_token(db, "admin", "bench")
        db.dispose()
        results = []
        for n in range(args.repeat):
            ids, total = profile_ids(db_path, args.requests + args.warmup, args.seed + n)
            server = Server(free_port(), env_for(db_path, RAPPORT_PROCESSOR="off"))
            server.start(work)
            spy = None
            if args.py_spy and n == 0:
                spy = subprocess.Popen(
                    [
                        str(VENV_BIN / "py-spy"),
                        "record",
                        "--pid",
                        str(server.pid),
                        "--rate",
                        "200",
                        "--nonblocking",
                        "--threads",
                        "--idle",
                        "--format",
                        "raw",
                        "--output",
                        args.py_spy,
                        "--duration",
                        "280",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
            try:
                health, profile, size = http_latencies(server.port, token, ids[args.warmup :], args.warmup)
                if spy:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=30)
                rss = status_kb(server.pid, "VmHWM") / 1024
            finally:
                server.stop()
            r = {
                "p50": percentile(profile, 50) * 1e3,
                "p99": percentile(profile, 99) * 1e3,
                "h50": percentile(health, 50) * 1e3,
                "h99": percentile(health, 99) * 1e3,
            }
            r["ratio50"], r["ratio99"] = r["p50"] / r["h50"], r["p99"] / r["h99"]
            results.append(r)
            print(
                f"run {n + 1}: {total} profiles, {len(profile)} reads, {size} B/answer | "
                f"GET profile p50 {r['p50']:.2f} ms "
                f"p99 {r['p99']:.2f} ms | GET /healthz p50 {r['h50']:.2f} ms p99 {r['h99']:.2f} ms | ratio p50 "
                f"{r['ratio50']:.1f}x p99 {r['ratio99']:.1f}x | server RSS {rss:.0f} MB",
                flush=True,
            )
        parts = in_process_parts(db_path, token, ids[: min(2000, len(ids))])
        med = {k: median([r[k] for r in results]) for k in results[0]}
        print(f"\nmedian of {len(results)} runs:")
        print(
            f"  GET /api/v1/profiles/{{id}}  p50 {med['p50']:6.2f} ms   p99 {med['p99']:6.2f} ms   "
            f"(target p99 <= {TARGET_P99_MS:.0f} ms: {'met' if med['p99'] <= TARGET_P99_MS else 'NOT met'})"
        )
        print(f"  GET /healthz (baseline)    p50 {med['h50']:6.2f} ms   p99 {med['h99']:6.2f} ms")
        print(f"  RATIO profile/healthz      p50 {med['ratio50']:6.1f}x    p99 {med['ratio99']:6.1f}x")
        print("  in-process, no HTTP (median us): " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
