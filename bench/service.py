"""Headline figures of issue 15 for the service desk.

1. `GET /api/v1/queue/next` p50/p99 with N open cases (default 100,000; target p99 <= 20 ms) on the
   real `rapport serve` over loopback, alternating on one keep-alive connection with `GET /healthz`
   (baseline: the same server, routing and JSON, no database); the ratio is printed.
2. SLA state of M cases (default 10,000) computed from their histories (`parity.states`: one query
   per thousand cases, then `sla.compute` on a business-hours calendar with public holidays), in
   cases/s; baseline: reading the same histories without computing (the ratio is printed).
3. Inbound mail to visible case: a mail sent through a real SMTP session to `serve --smtp-port`,
   until `GET /api/v1/cases/{id}` answers it (target <= 1 s), p50 and max of K mails; baseline: the
   SMTP session alone (the server answers 250 only once the mail is stored).

    .venv/bin/python bench/service.py [--cases 100000] [--requests 3000] [--sla-cases 10000] [--mails 30]

SQLite in a fresh directory (BENCH_TMPDIR, default /tmp). Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import smtplib
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import HOST, Server, env_for, free_port, fresh_dir  # noqa: E402
from _workload import median, percentile  # noqa: E402

SEED = 15
LONDON = {
    "timezone": "Europe/London",
    "hours": {d: [["09:00", "12:30"], ["13:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
SNAPSHOT = {
    "name": "office",
    "calendar": "london",
    "targets": {"first_response_s": 14_400, "next_response_s": 14_400, "resolution_s": 144_000, "warn_before_s": 1800},
}


def build(db_path: Path, n_cases: int, n_sla: int) -> tuple[str, list[int]]:
    """N open cases (queue rows) and, for the first M, a realistic history; answers an agent token and those ids."""
    import sqlalchemy as sa

    from rapport.access.service import create_token
    from rapport.db.engine import open_database
    from rapport.db.migrate import upgrade
    from rapport.kernel.clock import utcnow
    from rapport.service.store import case_events, cases, sla_calendars
    from rapport.settings import load_settings

    db = open_database(load_settings(database_url=f"sqlite:///{db_path}", sqlite_synchronous="NORMAL"))
    upgrade(db)
    rng, now = random.Random(SEED), utcnow()
    t = time.perf_counter()
    with db.write() as conn:
        conn.execute(sla_calendars.insert().values(name="london", document=LONDON, updated_at=now, updated_by="bench"))
        rows = []
        for i in range(n_cases):
            opened = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 20))
            rank = rng.randrange(4)
            rows.append(
                {
                    "reference": f"B{i:09d}",
                    "subject": f"Bench case {i}",
                    "status": rng.choice(("new", "open", "open", "pending")),
                    "priority": ("urgent", "high", "normal", "low")[rank],
                    "priority_rank": rank,
                    "channel": rng.choice(("email", "phone", "chat", "social", "portal")),
                    "team": rng.choice((None, None, "billing", "returns")),
                    "tags": [],
                    "requester_key": f"anonymous_id:bench-{i}",
                    "policy": "office",
                    "next_due_at": opened + timedelta(hours=rng.randrange(1, 72)) if rng.random() < 0.9 else None,
                    "waiting_since": opened,
                    "opened_at": opened,
                    "updated_at": opened,
                    "created_by": "bench",
                }
            )
            if len(rows) == 10_000:
                conn.execute(cases.insert(), rows)
                rows.clear()
        if rows:
            conn.execute(cases.insert(), rows)
        ids = list(conn.execute(sa.select(cases.c.id).order_by(cases.c.id).limit(n_sla)).scalars())
        events = []
        for case_id in ids:
            at = now - timedelta(minutes=rng.randrange(60, 60 * 24 * 20))
            events += [
                (at, "opened", {"channel": "email"}),
                (at, "policy", SNAPSHOT),
                (at, "message", {"author_kind": "customer", "public": True}),
            ]
            for _ in range(rng.randrange(1, 4)):  # replies, waits on the customer, their answers
                at += timedelta(minutes=rng.randrange(5, 600))
                events.append((at, "message", {"author_kind": "agent", "public": True}))
                events.append((at, "status", {"from": "open", "to": "pending"}))
                at += timedelta(minutes=rng.randrange(5, 2000))
                events.append((at, "message", {"author_kind": "customer", "public": True}))
                events.append((at, "status", {"from": "pending", "to": "open"}))
            conn.execute(
                case_events.insert(),
                [{"case_id": case_id, "at": a, "kind": k, "actor": "bench", "data": d} for a, k, d in events],
            )
            events.clear()
    _, token = create_token(db, "agent", "bench-agent")
    db.dispose()
    print(f"built {n_cases:,} open cases ({n_sla:,} with histories) in {time.perf_counter() - t:.1f}s", flush=True)
    return token, ids


def queue_latencies(port: int, token: str, n: int, warmup: int) -> tuple[list[float], list[float]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    staff = {"Authorization": f"Bearer {token}"}
    health, queue = [], []
    for i in range(warmup + n):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        t_health = time.perf_counter() - t
        t = time.perf_counter()
        conn.request("GET", "/api/v1/queue/next", headers=staff)
        resp = conn.getresponse()
        body = resp.read()
        t_queue = time.perf_counter() - t
        if resp.status != 200 or not orjson.loads(body)["case"]:
            raise SystemExit(f"GET /api/v1/queue/next: {resp.status} {body[:200]!r}")
        if i >= warmup:
            health.append(t_health)
            queue.append(t_queue)
    conn.close()
    return health, queue


def sla_rate(db_path: Path, ids: list[int], repeat: int) -> tuple[float, float]:
    """Median cases/s of computing the clocks, and of only reading the histories (the baseline)."""
    import sqlalchemy as sa

    from rapport.db.engine import open_database
    from rapport.kernel.clock import utcnow
    from rapport.service.parity import states
    from rapport.service.store import case_events
    from rapport.settings import load_settings

    db = open_database(load_settings(database_url=f"sqlite:///{db_path}"))
    computed, read = [], []
    for _ in range(repeat):
        with db.read() as conn:
            t = time.perf_counter()
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                query = sa.select(case_events).where(case_events.c.case_id.in_(chunk)).order_by(case_events.c.id)
                [dict(r._mapping) for r in conn.execute(query)]
            read.append(len(ids) / (time.perf_counter() - t))
            t = time.perf_counter()
            found = states(conn, ids, utcnow())
            computed.append(len(ids) / (time.perf_counter() - t))
            assert len(found) == len(ids)
    db.dispose()
    return median(computed), median(read)


def mail_to_visible(port: int, smtp_port: int, token: str, n: int) -> tuple[list[float], list[float]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    staff = {"Authorization": f"Bearer {token}"}

    def newest() -> int:
        conn.request("GET", "/api/v1/cases?limit=1", headers=staff)
        resp = conn.getresponse()
        items = orjson.loads(resp.read())["items"]
        return int(items[0]["id"]) if items else 0

    visible, acked = [], []
    for i in range(n):
        before = newest()
        mail = EmailMessage()
        mail["From"] = f"Customer {i} <customer{i}@example.org>"
        mail["To"] = "support@example.com"
        mail["Subject"] = f"My order {i} has not arrived"
        mail["Message-ID"] = f"<bench-{i}-{time.time_ns()}@example.org>"
        mail.set_content("Hello,\n\nmy order has not arrived yet. Where is it?\n\nThanks")
        t = time.perf_counter()
        with smtplib.SMTP(HOST, smtp_port, timeout=30) as smtp:
            smtp.send_message(mail)
        acked.append(time.perf_counter() - t)
        while newest() <= before:
            if time.perf_counter() - t > 30:
                raise SystemExit("the mail never became a visible case")
        conn.request("GET", f"/api/v1/cases/{newest()}", headers=staff)
        resp = conn.getresponse()
        body = orjson.loads(resp.read())
        assert resp.status == 200 and body["subject"] == f"My order {i} has not arrived", body
        visible.append(time.perf_counter() - t)
    conn.close()
    return acked, visible


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--sla-cases", type=int, default=10_000)
    parser.add_argument("--mails", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = fresh_dir("rapport-bench-service-")
    db_path = work / "service.db"
    token, ids = build(db_path, args.cases, min(args.sla_cases, args.cases))

    computed, read = sla_rate(db_path, ids, args.repeat)
    print(
        f"SLA state of {len(ids):,} cases: {computed:,.0f} cases/s computed "
        f"(reading their histories alone: {read:,.0f} cases/s; ratio {computed / read:.2f})",
        flush=True,
    )

    # The queue with the processor off, as bench/profile_read.py reads: nothing is being written.
    server = Server(free_port(), env_for(db_path, RAPPORT_PROCESSOR="off"))
    server.start(work)
    try:
        runs = []
        for n in range(args.repeat):
            health, queue = queue_latencies(server.port, token, args.requests, args.warmup)
            r = {
                "p50": percentile(queue, 50) * 1e3,
                "p99": percentile(queue, 99) * 1e3,
                "h50": percentile(health, 50) * 1e3,
                "h99": percentile(health, 99) * 1e3,
            }
            runs.append(r)
            print(
                f"run {n + 1}: GET /api/v1/queue/next p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms | "
                f"/healthz p50 {r['h50']:.2f} ms p99 {r['h99']:.2f} ms | ratio p50 {r['p50'] / r['h50']:.2f} "
                f"p99 {r['p99'] / r['h99']:.2f}",
                flush=True,
            )
    finally:
        server.stop()
    p99 = median([r["p99"] for r in runs])
    print(
        f"queue/next with {args.cases:,} open cases, median of {args.repeat}: p50 "
        f"{median([r['p50'] for r in runs]):.2f} ms, p99 {p99:.2f} ms (target <= 20 ms: "
        f"{'met' if p99 <= 20 else 'MISSED'}); ratio to /healthz p50 "
        f"{median([r['p50'] / r['h50'] for r in runs]):.2f}, p99 {median([r['p99'] / r['h99'] for r in runs]):.2f}",
        flush=True,
    )

    # Mail with everything running, as deployed: the listener and the processor (it makes the sender's profile).
    smtp_port = free_port()
    server = Server(free_port(), env_for(db_path), options=("--smtp-port", str(smtp_port)))
    server.start(work)
    try:
        acked, visible = mail_to_visible(server.port, smtp_port, token, args.mails)
        print(
            f"inbound mail to visible case ({args.mails} mails over SMTP): p50 {median(visible) * 1e3:.1f} ms, "
            f"p90 {percentile(visible, 90) * 1e3:.1f} ms, max {max(visible) * 1e3:.1f} ms (the first after start "
            f"{visible[0] * 1e3:.1f} ms; target <= 1 s: {'met' if max(visible) <= 1 else 'MISSED'}); "
            f"the SMTP session alone p50 {median(acked) * 1e3:.1f} ms (ratio {median(visible) / median(acked):.2f})",
            flush=True,
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"finished at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
