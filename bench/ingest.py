"""Ingest throughput of `rapport serve`, as a ratio to raw inserts of the same rows into the same database.

Starts the real server (and so its processor child) on loopback with a fresh SQLite database, or
with `--database-url` on a PostgreSQL database whose schema it recreates before every run, sends
pre-built Segment batches (`POST /v1/batch`, random UUID messageIds as the SDKs send them) from N
keep-alive connections, and prints:

  * accepted events/s, first send to last 2xx;
  * seconds from the last 2xx until the processor has put every event on a profile;
  * peak RSS (VmHWM) of the server processes and of the processor child;
  * the baseline: the very rows the server stored, inserted in the same process, one transaction
    per batch of `--batch` rows: python sqlite3 (same schema, same pragmas) on SQLite; on PostgreSQL
    psycopg into a copy of the events table on the same server, one multi-row `INSERT ... ON
    CONFLICT DO NOTHING RETURNING id` per batch, as the log writer sends each request's rows;
    and the ratio ingest rate / raw rate;
  * CPU seconds of server, processor, this client (and on PostgreSQL its backends) while sending,
    and how many of the machine's cores anything used meanwhile (`machine busy`) and the hypervisor
    gave elsewhere (`stolen`);
  * on PostgreSQL, what the log lock costs: pg_stat_activity and pg_locks sampled every 20 ms while
    sending, the share of the time some append held `rapport:event-log`, how many appends waited
    for it on average, and what its holder was doing (flushing WAL, on CPU in PostgreSQL, or idle
    in its transaction waiting for the Python side).

`--workers 1,2,4` measures `serve --workers N` for each count, in turn within each repeat, and prints
the medians per count (more than one worker needs PostgreSQL, or `--patch workers` on SQLite).

The server holds requests while the profiles lag more than RAPPORT_INGEST_MAX_LAG_S behind what it
acknowledged (backpressure), so the rate is what the server and processor sustain together. Clients
retry a 429 or 5xx after Retry-After, as the SDKs do; the count is printed as `retried`.

Usage:  .venv/bin/python bench/ingest.py [--events 200000] [--batch 100] [--connections 4]
            [--repeat 3] [--synchronous FULL|NORMAL] [--sequential-ids] [--py-spy DIR]
            [--database-url postgresql+psycopg://USER:PW@127.0.0.1:PORT/DB] [--workers 1,2,4]
            [--patch NAMES]   (prototypes in bench/_patched_serve.py: split-log, no-log-lock, committime, ...)
        BENCH_TMPDIR=/dev/shm puts the run's files in memory (no disk cost; diagnosis only).

The machine is shared and noisy: compare the ratios and the medians of several runs, not one run.
Only 127.0.0.1 is contacted. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _pg  # noqa: E402
from _ingest_report import describe, summarize  # noqa: E402
from _server import (  # noqa: E402
    HOST,
    VENV_BIN,
    Server,
    cpu_seconds,
    descendants,
    env_for,
    free_port,
    fresh_dir,
    last_line,
    spread_connections,
    status_kb,
    wait_for_workers,
)
from _workload import messages, percentile, raw_insert_rate  # noqa: E402


def build_bodies(args: argparse.Namespace) -> tuple[list[bytes], int]:
    msgs = list(messages(args.events, args.users, seed=args.seed, random_ids=not args.sequential_ids))
    sent_at = "2026-01-01T12:00:00Z"
    bodies = [
        orjson.dumps({"batch": msgs[i : i + args.batch], "sentAt": sent_at}) for i in range(0, len(msgs), args.batch)
    ]
    return bodies, len(msgs)


class Client(threading.Thread):
    """One keep-alive connection sending its share of the pre-built bodies, one request at a time."""

    def __init__(
        self, conn: http.client.HTTPConnection, auth: str, bodies: list[bytes], start: threading.Barrier
    ) -> None:
        super().__init__(daemon=True)
        self.conn, self.bodies, self.barrier = conn, bodies, start
        self.headers = {"Content-Type": "application/json", "Authorization": auth}
        self.first = self.last = 0.0
        self.accepted = 0
        self.max_offset = 0
        self.errors: list[str] = []
        self.retries = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        conn = self.conn
        self.barrier.wait()
        self.first = time.perf_counter()
        try:
            for body in self.bodies:
                t = time.perf_counter()
                for _attempt in range(5):  # as the SDKs do: 429 and 5xx are retried after Retry-After
                    conn.request("POST", "/v1/batch", body, self.headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.status != 429 and resp.status < 500:
                        break
                    self.retries += 1
                    time.sleep(float(resp.getheader("Retry-After") or 1))
                self.latencies.append(time.perf_counter() - t)
                if resp.status != 200:
                    self.errors.append(f"{resp.status} {data[:200]!r}")
                    continue
                answer = orjson.loads(data)
                self.accepted += answer["accepted"] - answer["duplicates"]
                self.max_offset = max(self.max_offset, answer["offset"])
        except OSError as exc:
            self.errors.append(repr(exc))
        self.last = time.perf_counter()
        conn.close()


def machine_cpu() -> tuple[float, float, float]:
    """(busy, stolen, total) jiffies of the whole machine from /proc/stat: what anything used while
    sending, this run's processes or others', and what the hypervisor gave to other machines."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle, stolen = fields[3] + fields[4], fields[7]  # idle and iowait; steal
    return sum(fields) - idle - stolen, stolen, sum(fields)


def _cores(before: tuple[float, float, float], after: tuple[float, float, float], index: int) -> float:
    total = max(1e-9, after[2] - before[2])
    return (after[index] - before[index]) / total * (os.cpu_count() or 1)


class SqliteLog:
    """What the bench reads while the server runs on SQLite (bench/_pg.py's PgLog on PostgreSQL)."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        if Path(f"{db_path}-log").exists():  # the split-log prototype (bench/_patched_serve.py)
            self.conn.execute("ATTACH DATABASE ? AS log", (f"file:{db_path}-log?mode=ro",))

    def offset(self) -> int:
        row = self.conn.execute("SELECT \"offset\" FROM log_offsets WHERE consumer = 'profiles'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> tuple[int, int, int]:
        """(events stored, events on no profile, profiles)."""
        stored = self.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        placed = self.conn.execute("SELECT count(*) FROM profile_events").fetchone()[0]
        profiles = self.conn.execute("SELECT count(*) FROM profiles WHERE id = canonical_id").fetchone()[0]
        return stored, stored - placed, profiles

    def close(self) -> None:
        self.conn.close()


def start_py_spy(out_dir: Path, pids: dict[str, int], rate: int, idle: bool) -> list[subprocess.Popen[bytes]]:
    spy = str(VENV_BIN / "py-spy") if (VENV_BIN / "py-spy").exists() else "py-spy"
    procs = []
    for name, pid in pids.items():
        procs.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(rate),
                    "--nonblocking",
                    "--threads",
                    "--format",
                    "raw",
                    "--output",
                    str(out_dir / f"{name}.txt"),
                    "--duration",
                    "280",
                    *(["--idle"] if idle else []),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


def stop_py_spy(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def serve_and_send(
    args: argparse.Namespace, bodies: list[bytes], total: int, run_dir: Path, workers: int
) -> dict[str, Any]:
    db_path = run_dir / "bench.db"
    extra = dict(kv.split("=", 1) for kv in args.env)
    if args.database_url:
        _pg.reset_schema(args.database_url)
        extra["RAPPORT_DATABASE_URL"] = args.database_url
    env = env_for(db_path, RAPPORT_SQLITE_SYNCHRONOUS=args.synchronous, RAPPORT_PROCESSOR=args.processor, **extra)
    write_key = last_line(["admin", "create-source", "bench", "--channel", "web", "--rate-limit", "10000000"], env)
    token = last_line(["admin", "create-token", "--role", "admin"], env)
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    options = ("--workers", str(workers)) if workers > 1 else ()
    server = Server(free_port(), env, patches=args.patch, options=options)
    server.start(run_dir)
    spies: list[subprocess.Popen[bytes]] = []
    sampler = None
    try:
        serving, processor_pids = wait_for_workers(server, workers)
        family = [*serving, *processor_pids]
        if args.py_spy:
            named = {f"server-{p}": p for p in serving} | {f"processor-{p}": p for p in processor_pids}
            spies = start_py_spy(Path(args.py_spy), named, args.py_spy_rate, args.py_spy_idle)
            time.sleep(1.0)
        log = _pg.PgLog(args.database_url) if args.database_url else SqliteLog(db_path)
        postmaster = _pg.postmaster_pid(args.database_url) if args.database_url else None
        cpu0 = {p: cpu_seconds(p) for p in family + (descendants(postmaster) if postmaster else [])}
        client0, machine0 = resource.getrusage(resource.RUSAGE_SELF), machine_cpu()
        barrier = threading.Barrier(args.connections)
        connections = spread_connections(server.port, args.connections, serving[1:] if workers > 1 else serving)
        clients = [Client(c, auth, bodies[i :: args.connections], barrier) for i, c in enumerate(connections)]
        if args.database_url:
            sampler = _pg.WaitSampler(args.database_url).start()
        for c in clients:
            c.start()
        deadline = time.monotonic() + args.send_timeout
        for c in clients:
            c.join(timeout=max(0.1, deadline - time.monotonic()))
        if any(c.is_alive() for c in clients):
            raise SystemExit(f"sending did not finish within {args.send_timeout}s")
        if sampler:
            sampler.stop()
        first = min(c.first for c in clients)
        last = max(c.last for c in clients)
        head = max(c.max_offset for c in clients)
        lag_at_last_ack = head - log.offset()
        cpu_send = {p: cpu_seconds(p) - cpu0[p] for p in family}
        # The backends the server opened meanwhile count from 0; those that ended meanwhile are lost.
        cpu_db_send = sum(cpu_seconds(p) - cpu0.get(p, 0.0) for p in descendants(postmaster)) if postmaster else 0.0
        client1, machine1 = resource.getrusage(resource.RUSAGE_SELF), machine_cpu()
        errors = [e for c in clients for e in c.errors]
        accepted = sum(c.accepted for c in clients)
        # From here on the clock runs until the processor has applied everything acknowledged.
        caught_up = None
        wait_deadline = time.perf_counter() + (args.catchup_timeout if args.processor != "off" else 0)
        while time.perf_counter() < wait_deadline:
            if log.offset() >= head:
                caught_up = time.perf_counter()
                break
            time.sleep(0.01)
        reached = log.offset()
        stored, unassigned, n_profiles = log.counts()
        log.close()
        cpu_all = {p: cpu_seconds(p) - cpu0[p] for p in family}
        rss = {p: status_kb(p, "VmHWM") for p in family}
        check = consistency_check(server.port, token, args) if args.processor != "off" else "skipped"
        if spies:
            stop_py_spy(spies)
            spies = []
    finally:
        if sampler:
            sampler.stop()
        if spies:
            stop_py_spy(spies)
        server.stop()
    latencies = [x for c in clients for x in c.latencies]
    send_s = last - first
    return {
        "workers": workers,
        "events": total,
        "accepted": accepted,
        "stored": stored,
        "errors": errors,
        "retries": sum(c.retries for c in clients),
        "send_s": send_s,
        "rate": accepted / send_s if send_s else 0.0,
        "visible_s": (caught_up - last) if caught_up else None,
        "caught_up_s": (caught_up - first) if caught_up else None,
        "reached": reached,
        "head": head,
        "lag_at_last_ack": lag_at_last_ack,
        "unassigned": unassigned,
        "skipped": unassigned if caught_up else 0,  # on no profile once the processor passed them: lost to it
        "profiles": n_profiles,
        "rss_server_mb": sum(rss.get(p, 0) for p in serving) / 1024,
        "rss_processor_mb": sum(rss.get(p, 0) for p in processor_pids) / 1024,
        "rss_total_mb": sum(rss.values()) / 1024,
        "cpu_server_send": sum(cpu_send.get(p, 0.0) for p in serving),
        "cpu_workers_send": [cpu_send.get(p, 0.0) for p in serving[1:]] if workers > 1 else [],
        "cpu_client_send": (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime),
        "machine_busy_cores": _cores(machine0, machine1, 0),
        "machine_stolen_cores": _cores(machine0, machine1, 1),
        "cpu_processor_send": sum(cpu_send.get(p, 0.0) for p in processor_pids),
        "cpu_db_send": cpu_db_send,
        "cpu_server": sum(cpu_all.get(p, 0.0) for p in serving),
        "cpu_processor": sum(cpu_all.get(p, 0.0) for p in processor_pids),
        "p50_ack_ms": percentile(latencies, 50) * 1000,
        "p99_ack_ms": percentile(latencies, 99) * 1000,
        "check": check,
        "db_path": db_path,
        "waits": sampler.summary() if sampler else None,
    }


def consistency_check(port: int, token: str, args: argparse.Namespace) -> str:
    """Read-your-writes through the staff API: person 0's profile holds all of its events."""
    expected = args.events // args.users + (1 if args.events % args.users > 0 else 0)
    email = next(
        m["traits"]["email"]
        for m in messages(min(args.events, 50 * args.users), args.users, seed=args.seed)
        if m["type"] == "identify" and m["userId"].endswith("-0000000")
    )
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request(
        "GET",
        f"/api/v1/profiles?identifier=email:{email}&consistent=true",
        headers={"Authorization": f"Bearer {token}"},
    )
    resp = conn.getresponse()
    body = orjson.loads(resp.read())
    conn.close()
    if resp.status != 200 or not body.get("items"):
        return f"FAIL ({resp.status} {str(body)[:120]})"
    got = body["items"][0]["event_count"]
    return "ok" if got == expected else f"FAIL (event_count {got}, expected {expected})"


def raw_sqlite_rate(server_db: Path, run_dir: Path, batch: int, synchronous: str) -> float:
    """Baseline: python sqlite3 inserting the rows the server stored, same schema and pragmas."""
    return raw_insert_rate(server_db, run_dir, synchronous, batch)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        metavar="postgresql+psycopg://USER:PW@127.0.0.1:PORT/DB",
        help="measure on this PostgreSQL database instead of a fresh SQLite file; its public schema is "
        "dropped and created again before every run",
    )
    parser.add_argument(
        "--workers",
        default="1",
        metavar="N[,N...]",
        help="`serve --workers N`: one series per count, the runs of each repeat in turn (e.g. 1,2,4); "
        "more than 1 needs --database-url (or --patch workers on SQLite)",
    )
    parser.add_argument(
        "--sequential-ids",
        action="store_true",
        help="sequential messageIds (sessions 1 to 4 of issue 2) instead of random UUIDs, which the SDKs send",
    )
    parser.add_argument(
        "--processor",
        choices=("process", "thread", "off"),
        default="process",
        help="RAPPORT_PROCESSOR for the server; `off` measures ingest alone (diagnosis only)",
    )
    parser.add_argument("--send-timeout", type=float, default=240.0, help="give up sending after this many seconds")
    parser.add_argument("--catchup-timeout", type=float, default=120.0, help="give up waiting for the processor")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="RAPPORT_X=V",
        help="extra server setting, e.g. RAPPORT_PROCESSOR_BATCH_SIZE=500 (experiments)",
    )
    parser.add_argument(
        "--patch",
        default="",
        metavar="NAMES",
        help="serve with PROTOTYPE changes from bench/_patched_serve.py (flock, split-log, no-log-lock, ...)",
    )
    parser.add_argument("--py-spy", metavar="DIR", help="record py-spy raw profiles of server and processor into DIR")
    parser.add_argument("--py-spy-rate", type=int, default=100)
    parser.add_argument("--py-spy-idle", action="store_true", help="also sample waiting threads (wall-clock view)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories under /tmp")
    args = parser.parse_args()
    args.worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers takes counts of at least 1, e.g. 1,2,4")
    if args.database_url:
        _pg.libpq_url(args.database_url)  # refuses anything but loopback before any work
    if args.py_spy:
        Path(args.py_spy).mkdir(parents=True, exist_ok=True)
    return args


def run_once(args: argparse.Namespace, bodies: list[bytes], total: int, workers: int) -> dict[str, Any]:
    run_dir = fresh_dir("rapport-bench-ingest-")
    try:
        r = serve_and_send(args, bodies, total, run_dir, workers)
        if args.database_url:
            r["raw_rate"] = _pg.raw_insert_rate(args.database_url, args.batch)
        else:
            r["raw_rate"] = raw_sqlite_rate(r["db_path"], run_dir, args.batch, args.synchronous)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    r["ratio"] = r["rate"] / r["raw_rate"]
    if r["waits"]:  # the log lock's time per event, and the rate it would allow held all the time
        r["lock_us"] = r["waits"]["lock_held"] * r["send_s"] / max(1, r["accepted"]) * 1e6
    r["cpu_us_server"] = r["cpu_server"] / total * 1e6
    r["cpu_us_processor"] = r["cpu_processor"] / total * 1e6
    return r


def main() -> None:
    args = parse_args()
    t = time.perf_counter()
    bodies, total = build_bodies(args)
    where = _pg.server_settings(args.database_url) if args.database_url else f"SQLite, synchronous={args.synchronous}"
    print(
        f"workload: {total} events ({args.users} people) in {len(bodies)} bodies of {args.batch}, "
        f"{sum(map(len, bodies)) / total:.0f} B/event, built in {time.perf_counter() - t:.1f}s; "
        f"{args.connections} connections; workers {args.workers}; "
        f"messageIds {'sequential' if args.sequential_ids else 'random UUIDs'}"
        + (f"; PATCHED: {args.patch}" if args.patch else "")
        + f"\n{where}",
        flush=True,
    )
    raw_name = "psycopg" if args.database_url else "sqlite3"
    results = []
    for n in range(args.repeat):
        for workers in args.worker_counts:  # in turn, so that the machine's drift touches every count alike
            r = run_once(args, bodies, total, workers)
            results.append(r)
            print(f"run {n + 1}, workers {workers}: {describe(r, raw_name)}", flush=True)
            if r["accepted"] != total or r["stored"] != total:
                print(f"  WARNING: accepted {r['accepted']}, stored {r['stored']}, sent {total}")
    summarize(args, results, raw_name)


if __name__ == "__main__":
    main()
