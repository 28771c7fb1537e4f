"""Headline figures of issue 3: the permission check and one-click unsubscribe.

1. p50/p99 of `check_permission_for` (marketing by email, with outreach rules) over a database of
   100,000 profiles, in-process; baseline: a primary-key SELECT of one profile row on the same
   connection. Target p99 <= 1 ms.
2. p50/p99 from the start of a one-click unsubscribe POST (RFC 8058) until a send check for that
   person is refused, over HTTP to a real uvicorn server on loopback; baseline: GET /healthz on the
   same server. Target p99 <= 50 ms.

    .venv/bin/python bench/consent_check.py [--profiles 100000] [--checks 5000] [--unsubscribes 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn

from rapport.app import create_app
from rapport.consent.service import check_permission_for
from rapport.consent.store import consent_records, preferences
from rapport.consent.unsubscribe import UnsubscribeTarget, make_token
from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.identity.store import identifiers, profiles
from rapport.kernel.clock import utcnow
from rapport.settings import load_settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(db: Database, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """`count` profiles with an email, consent history on most, preferences on some."""
    rng = random.Random(seed)
    now = utcnow()
    people = [(uuid.uuid4().hex, f"person{i}@example.com") for i in range(count)]
    with db.write() as conn:
        for start in range(0, count, 5000):
            chunk = people[start : start + 5000]
            conn.execute(
                profiles.insert(),
                [
                    {
                        "id": p,
                        "canonical_id": p,
                        "created_at": now,
                        "channels": ["web"],
                    }
                    for p, _ in chunk
                ],
            )
            conn.execute(
                identifiers.insert(),
                [
                    {"key": f"email:{e}", "type": "email", "value": e, "profile_id": p, "created_at": now}
                    for p, e in chunk
                ],
            )
            ledger = []
            for p, _email in chunk:
                for status in rng.sample(["granted", "withdrawn", "granted"], rng.randint(0, 3)):
                    ledger.append(
                        {
                            "profile_id": p,
                            "purpose": "marketing",
                            "channel": "email",
                            "contact_point": None,
                            "status": status,
                            "recorded_at": now,
                            "source": "bench",
                            "actor": "bench",
                        }
                    )
            if ledger:
                conn.execute(consent_records.insert(), ledger)
            conn.execute(
                preferences.insert(),
                [
                    {
                        "profile_id": p,
                        "updated_at": now,
                        "document": {
                            "personalization_level": "personal",
                            "frequency_caps": {"email": {"max": 3, "per_days": 7}},
                        },
                    }
                    for p, _ in chunk
                    if rng.random() < 0.3
                ],
            )
    return people


def bench_check(db: Database, people: list[tuple[str, str]], n: int) -> tuple[list[float], list[float]]:
    sample = random.Random(1).sample(people, n)
    checks, baseline = [], []
    with db.read() as conn:
        for pid, email in sample:
            t0 = time.perf_counter()
            conn.execute(sa.select(profiles).where(profiles.c.id == pid)).first()
            t1 = time.perf_counter()
            check_permission_for(conn, pid, "marketing", "email", contact_point=email, outreach=True)
            t2 = time.perf_counter()
            baseline.append(t1 - t0)
            checks.append(t2 - t1)
    return checks, baseline


def bench_unsubscribe(db: Database, people: list[tuple[str, str]], n: int) -> tuple[list[float], list[float]]:
    settings = db.settings.model_copy(update={"processor": "off"})
    port = 18000 + random.randint(0, 999)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    sample = random.Random(2).sample(people, n)
    tokens = [make_token(db, UnsubscribeTarget(pid, "marketing", "email", email)) for pid, email in sample]
    latency, baseline = [], []
    try:
        with httpx.Client(base_url=base) as http:
            for (pid, email), token in zip(sample, tokens, strict=True):
                t0 = time.perf_counter()
                http.get("/healthz")
                t1 = time.perf_counter()
                res = http.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
                with db.read() as conn:
                    refused = not check_permission_for(
                        conn, pid, "marketing", "email", contact_point=email, outreach=True
                    )
                t2 = time.perf_counter()
                assert res.status_code == 200 and refused, (res.status_code, res.text)
                baseline.append(t1 - t0)
                latency.append(t2 - t1)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return latency, baseline


def report(name: str, values: list[float], baseline: list[float], target_ms: float) -> float:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    b50, b99 = percentile(baseline, 0.5) * 1000, percentile(baseline, 0.99) * 1000
    verdict = "meets" if p99 <= target_ms else "MISSES"
    print(
        f"{name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms ({verdict} target {target_ms} ms); "
        f"baseline p50 {b50:.3f} ms, p99 {b99:.3f} ms; ratio p99/baseline p99 {p99 / b99:.1f}x"
    )
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--unsubscribes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(load_settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", processor="off"))
        upgrade(db)
        t0 = time.perf_counter()
        people = build(db, args.profiles)
        print(f"built {len(people):,} profiles in {time.perf_counter() - t0:.1f} s")
        check_p99, unsub_p99 = [], []
        for run in range(1, args.repeat + 1):
            print(f"run {run}/{args.repeat}")
            check_p99.append(report("  permission check", *bench_check(db, people, args.checks), target_ms=1.0))
            unsub_p99.append(
                report(
                    "  one-click unsubscribe -> refused",
                    *bench_unsubscribe(db, people, args.unsubscribes),
                    target_ms=50.0,
                )
            )
        print(
            f"median of runs: permission check p99 {statistics.median(check_p99):.3f} ms; "
            f"unsubscribe-to-suppression p99 {statistics.median(unsub_p99):.3f} ms"
        )
        db.dispose()


if __name__ == "__main__":
    main()
