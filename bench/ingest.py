"""Ingest throughput of `rapport serve`, as a ratio to raw SQLite inserts of the same rows.

Starts the real server (and so its processor child) on loopback with a fresh SQLite database, sends
pre-built Segment batches (`POST /v1/batch`, random UUID messageIds as the SDKs send them) from N
keep-alive connections, and prints:

  * accepted events/s, first send to last 2xx;
  * seconds from the last 2xx until the processor has put every event on a profile;
  * peak RSS (VmHWM) of the server process and of its processor child;
  * the baseline: python sqlite3 inserting the very rows the server stored (same schema, same
    pragmas, one commit per batch) in the same process, and the ratio ingest rate / raw rate;
  * CPU seconds of server, processor and this client while sending, and how many of the machine's
    cores anything used meanwhile (`machine busy`) and the hypervisor gave elsewhere (`stolen`).

The server holds requests while the profiles lag more than RAPPORT_INGEST_MAX_LAG_S behind what it
acknowledged (backpressure), so the rate is what the server and processor sustain together. Clients
retry a 429 or 5xx after Retry-After, as the SDKs do; the count is printed as `retried`.

Usage:  .venv/bin/python bench/ingest.py [--events 200000] [--batch 100] [--connections 4]
            [--repeat 3] [--synchronous FULL|NORMAL] [--sequential-ids] [--py-spy DIR]
            [--patch NAMES]   (prototypes in bench/_patched_serve.py: split-log, workers, committime, ...)
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
from _server import HOST, VENV_BIN, Server, cmdline, cpu_seconds, env_for, free_port, fresh_dir, last_line, status_kb  # noqa: E402
from _workload import median, messages, percentile, raw_insert_rate  # noqa: E402

TARGET_RATE = 20_000
TARGET_VISIBLE_S = 2.0
TARGET_RSS_MB = 1024


def build_bodies(args: argparse.Namespace) -> tuple[list[bytes], int]:
    msgs = list(messages(args.events, args.users, seed=args.seed, random_ids=not args.sequential_ids))
    sent_at = "2026-01-01T12:00:00Z"
    bodies = [
        orjson.dumps({"batch": msgs[i : i + args.batch], "sentAt": sent_at}) for i in range(0, len(msgs), args.batch)
    ]
    return bodies, len(msgs)


class Client(threading.Thread):
    """One keep-alive connection sending its share of the pre-built bodies, one request at a time."""

    def __init__(self, port: int, auth: str, bodies: list[bytes], start: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.port, self.bodies, self.barrier = port, bodies, start
        self.headers = {"Content-Type": "application/json", "Authorization": auth}
        self.first = self.last = 0.0
        self.accepted = 0
        self.max_offset = 0
        self.errors: list[str] = []
        self.retries = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        conn.connect()
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


def processor_offset(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT \"offset\" FROM log_offsets WHERE consumer = 'profiles'").fetchone()
    return int(row[0]) if row else 0


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


def serve_and_send(args: argparse.Namespace, bodies: list[bytes], total: int, run_dir: Path) -> dict[str, Any]:
    db_path = run_dir / "bench.db"
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = env_for(db_path, RAPPORT_SQLITE_SYNCHRONOUS=args.synchronous, RAPPORT_PROCESSOR=args.processor, **extra)
    write_key = last_line(["admin", "create-source", "bench", "--channel", "web", "--rate-limit", "10000000"], env)
    token = last_line(["admin", "create-token", "--role", "admin"], env)
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    server = Server(free_port(), env, patches=args.patch)
    server.start(run_dir)
    spies: list[subprocess.Popen[bytes]] = []
    try:
        family = server.family()
        processor_pids = [
            p for p in family[1:] if "multiprocessing" in cmdline(p) and "resource_tracker" not in cmdline(p)
        ]
        if args.py_spy:
            named = {"server": server.pid, **{f"processor-{p}": p for p in processor_pids}}
            spies = start_py_spy(Path(args.py_spy), named, args.py_spy_rate, args.py_spy_idle)
            time.sleep(1.0)
        cpu0 = {p: cpu_seconds(p) for p in family}
        client0, machine0 = resource.getrusage(resource.RUSAGE_SELF), machine_cpu()
        barrier = threading.Barrier(args.connections)
        clients = [Client(server.port, auth, bodies[i :: args.connections], barrier) for i in range(args.connections)]
        for c in clients:
            c.start()
        ro = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        if Path(f"{db_path}-log").exists():  # the split-log prototype (bench/_patched_serve.py)
            ro.execute("ATTACH DATABASE ? AS log", (f"file:{db_path}-log?mode=ro",))
        lag_at_last_ack = None
        deadline = time.monotonic() + args.send_timeout
        for c in clients:
            c.join(timeout=max(0.1, deadline - time.monotonic()))
        if any(c.is_alive() for c in clients):
            raise SystemExit(f"sending did not finish within {args.send_timeout}s")
        first = min(c.first for c in clients)
        last = max(c.last for c in clients)
        head = max(c.max_offset for c in clients)
        lag_at_last_ack = head - processor_offset(ro)
        cpu_send = {p: cpu_seconds(p) - cpu0[p] for p in family}
        client1, machine1 = resource.getrusage(resource.RUSAGE_SELF), machine_cpu()
        errors = [e for c in clients for e in c.errors]
        accepted = sum(c.accepted for c in clients)
        # From here on the clock runs until the processor has applied everything acknowledged.
        caught_up = None
        wait_deadline = time.perf_counter() + (args.catchup_timeout if args.processor != "off" else 0)
        while time.perf_counter() < wait_deadline:
            if processor_offset(ro) >= head:
                caught_up = time.perf_counter()
                break
            time.sleep(0.01)
        reached = processor_offset(ro)
        stored = ro.execute("SELECT count(*) FROM events").fetchone()[0]
        unassigned = stored - ro.execute("SELECT count(*) FROM profile_events").fetchone()[0]
        n_profiles = ro.execute("SELECT count(*) FROM profiles WHERE id = canonical_id").fetchone()[0]
        ro.close()
        cpu_all = {p: cpu_seconds(p) - cpu0[p] for p in family}
        rss = {p: status_kb(p, "VmHWM") for p in family}
        check = consistency_check(server.port, token, args) if args.processor != "off" else "skipped"
        if spies:
            stop_py_spy(spies)
            spies = []
    finally:
        if spies:
            stop_py_spy(spies)
        server.stop()
    latencies = [x for c in clients for x in c.latencies]
    send_s = last - first
    return {
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
        "profiles": n_profiles,
        "rss_server_mb": rss[server.pid] / 1024,
        "rss_processor_mb": sum(rss.get(p, 0) for p in processor_pids) / 1024,
        "rss_total_mb": sum(rss.values()) / 1024,
        "cpu_server_send": cpu_send.get(server.pid, 0.0),
        "cpu_client_send": (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime),
        "machine_busy_cores": _cores(machine0, machine1, 0),
        "machine_stolen_cores": _cores(machine0, machine1, 1),
        "cpu_processor_send": sum(cpu_send.get(p, 0.0) for p in processor_pids),
        "cpu_server": cpu_all.get(server.pid, 0.0),
        "cpu_processor": sum(cpu_all.get(p, 0.0) for p in processor_pids),
        "p50_ack_ms": percentile(latencies, 50) * 1000,
        "p99_ack_ms": percentile(latencies, 99) * 1000,
        "check": check,
        "db_path": db_path,
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


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--seed", type=int, default=7)
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
        help="serve with PROTOTYPE changes from bench/_patched_serve.py (flock)",
    )
    parser.add_argument("--py-spy", metavar="DIR", help="record py-spy raw profiles of server and processor into DIR")
    parser.add_argument("--py-spy-rate", type=int, default=100)
    parser.add_argument("--py-spy-idle", action="store_true", help="also sample waiting threads (wall-clock view)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories under /tmp")
    args = parser.parse_args()
    if args.py_spy:
        Path(args.py_spy).mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    bodies, total = build_bodies(args)
    print(
        f"workload: {total} events ({args.users} people) in {len(bodies)} bodies of {args.batch}, "
        f"{sum(map(len, bodies)) / total:.0f} B/event, built in {time.perf_counter() - t:.1f}s; "
        f"{args.connections} connections; synchronous={args.synchronous}; "
        f"messageIds {'sequential' if args.sequential_ids else 'random UUIDs'}"
        + (f"; PATCHED: {args.patch}" if args.patch else ""),
        flush=True,
    )
    results = []
    for n in range(args.repeat):
        run_dir = fresh_dir("rapport-bench-ingest-")
        try:
            r = serve_and_send(args, bodies, total, run_dir)
            r["raw_rate"] = raw_sqlite_rate(r["db_path"], run_dir, args.batch, args.synchronous)
        finally:
            if not args.keep:
                shutil.rmtree(run_dir, ignore_errors=True)
        r["ratio"] = r["rate"] / r["raw_rate"]
        r["cpu_us_server"] = r["cpu_server"] / total * 1e6
        r["cpu_us_processor"] = r["cpu_processor"] / total * 1e6
        results.append(r)
        print(
            f"run {n + 1}: {r['rate']:,.0f} ev/s accepted ({r['send_s']:.1f}s; ack p50 {r['p50_ack_ms']:.0f} ms, "
            f"p99 {r['p99_ack_ms']:.0f} ms) | raw sqlite {r['raw_rate']:,.0f} rows/s | ratio {r['ratio']:.3f} | "
            f"visible {fmt(r['visible_s'])}s after last ack (lag then {r['lag_at_last_ack']} events; "
            f"reached {r['reached']}/{r['head']}) | RSS server {r['rss_server_mb']:.0f} MB, "
            f"processor {r['rss_processor_mb']:.0f} MB | CPU during send: server {r['cpu_server_send']:.1f}s, "
            f"processor {r['cpu_processor_send']:.1f}s, client {r['cpu_client_send']:.1f}s, machine busy "
            f"{r['machine_busy_cores']:.2f} of {os.cpu_count()} cores, stolen {r['machine_stolen_cores']:.2f}; "
            f"CPU us/event to caught-up: server {r['cpu_us_server']:.0f}, "
            f"processor {r['cpu_us_processor']:.0f} | profiles {r['profiles']} | check {r['check']}"
            + f" | retried {r['retries']}"
            + (f" | ERRORS {len(r['errors'])}: {r['errors'][:3]}" if r["errors"] else ""),
            flush=True,
        )
        if r["accepted"] != total or r["stored"] != total:
            print(f"  WARNING: accepted {r['accepted']}, stored {r['stored']}, sent {total}")
    vis = [r["visible_s"] for r in results]
    med_vis = median(vis) if all(v is not None for v in vis) else None
    med = {
        k: median([r[k] for r in results])
        for k in (
            "rate",
            "raw_rate",
            "ratio",
            "rss_server_mb",
            "rss_processor_mb",
            "rss_total_mb",
            "p99_ack_ms",
            "cpu_us_server",
            "cpu_us_processor",
        )
    }
    print(
        f"\nmedian of {len(results)} runs (synchronous={args.synchronous}"
        + (f", PATCHED: {args.patch}" if args.patch else "")
        + "):"
    )
    print(
        f"  ingest rate          {med['rate']:>10,.0f} events/s   (target >= {TARGET_RATE:,}: "
        f"{'met' if med['rate'] >= TARGET_RATE else 'NOT met'})"
    )
    print(f"  raw sqlite3 baseline {med['raw_rate']:>10,.0f} rows/s")
    print(f"  RATIO ingest/raw     {med['ratio']:>10.3f}")
    print(
        f"  visible after ack    {fmt(med_vis):>10} s          (target <= {TARGET_VISIBLE_S}: "
        f"{'met' if med_vis is not None and med_vis <= TARGET_VISIBLE_S else 'NOT met'})"
    )
    print(
        f"  peak RSS             {med['rss_server_mb']:>10.0f} MB server + {med['rss_processor_mb']:.0f} MB processor "
        f"= {med['rss_total_mb']:.0f} MB (target <= {TARGET_RSS_MB}: "
        f"{'met' if med['rss_total_mb'] <= TARGET_RSS_MB else 'NOT met'})"
    )
    print(f"  ack latency p99      {med['p99_ack_ms']:>10.0f} ms")
    print(
        f"  CPU per event        {med['cpu_us_server']:>10.0f} us server + {med['cpu_us_processor']:.0f} us processor "
        f"(20,000 events/s on 2 shared cores allows ~100 us in all)"
    )


if __name__ == "__main__":
    main()
