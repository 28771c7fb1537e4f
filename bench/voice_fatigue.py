"""Headline figure of issue 17 for survey fatigue: the ask-or-skip decision's p99.

p50/p99 of one ask-or-skip decision as a trigger makes it (`rapport.voice.fatigue.decide`: the
person's merge group, their uses and surveys in the window, open complaints, the case's closer and
last message, every rule, and the decision's row written, inside the write transaction; the
commit, which the invitation's rows share and whose fsync is the disk's, is timed apart), in-process, over a
database of --profiles customers with about ten timeline events each, a case for one in ten (some
of them open complaints) and earlier invitations for a third. Baseline: the one permission check
(`check_permission_for`, surveys by email with outreach rules) for the same people on the same
database. Target p99 <= 5 ms. Medians of --repeat runs.

    .venv/bin/python bench/voice_fatigue.py [--profiles 20000] [--decisions 2000] [--repeat 3] [--database-url URL]

With --database-url (PostgreSQL, wiped) it runs there.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from rapport.collect.store import events, sources
from rapport.consent.service import check_permission_for
from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.identity.service import members_of
from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.profiles.store import profile_events
from rapport.service.store import case_events, cases
from rapport.settings import load_settings
from rapport.voice.fatigue import decide
from rapport.voice.store import survey_invitations, surveys

USES = ("Order Completed", "Case Opened", "Page Viewed", "Product Viewed", "Case Message Received")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(db: Database, count: int, seed: int = 17) -> tuple[list[str], dict[str, int], dict[str, object]]:
    rng = random.Random(seed)
    now = utcnow()
    people = [uuid.uuid4().hex for _ in range(count)]
    case_of: dict[str, int] = {}
    with db.write() as conn:
        source_id = conn.execute(
            sources.insert().values(
                name="bench",
                channel="other",
                write_key="bench-key",
                max_message_bytes=32768,
                max_batch_bytes=512000,
                rate_limit_per_s=1000,
                created_at=now,
                trust="server",
            )
        ).inserted_primary_key[0]
        survey_id = conn.execute(
            surveys.insert().values(
                name="After your request",
                trigger="case_solved",
                delivery="email",
                questions=[{"key": "nps", "type": "nps", "text": "Recommend?", "required": True}],
                active=True,
                created_at=now,
                created_by="bench",
            )
        ).inserted_primary_key[0]
        event_id = 0
        for start in range(0, count, 2000):
            chunk = people[start : start + 2000]
            conn.execute(
                profiles.insert(), [{"id": p, "canonical_id": p, "created_at": now, "channels": ["web"]} for p in chunk]
            )
            rows, placed, invitations = [], [], []
            for p in chunk:
                for _ in range(rng.randint(4, 16)):
                    event_id += 1
                    at = now - timedelta(days=rng.uniform(0, 200))
                    name = rng.choice(USES)
                    rows.append(
                        {
                            "id": event_id,
                            "source_id": source_id,
                            "message_id": f"m{event_id}",
                            "type": "track",
                            "event": name,
                            "timestamp": at,
                            "received_at": at,
                            "payload": {"event": name},
                        }
                    )
                    placed.append({"profile_id": p, "timestamp": at, "event_id": event_id})
                if rng.random() < 0.33:
                    for _ in range(rng.randint(1, 3)):
                        at = now - timedelta(days=rng.uniform(0, 120))
                        invitations.append(
                            {
                                "survey_id": survey_id,
                                "profile_id": p,
                                "nonce": "n",
                                "touchpoint": "case_solved",
                                "channel": "phone",
                                "delivery": "email",
                                "sent_status": "sent",
                                "sent_reason": "",
                                "created_at": at,
                                "expires_at": at + timedelta(days=30),
                            }
                        )
            conn.execute(events.insert(), rows)
            conn.execute(profile_events.insert(), placed)
            if invitations:
                conn.execute(survey_invitations.insert(), invitations)
            for p in chunk:
                if rng.random() < 0.1:
                    status = rng.choice(("solved", "solved", "open"))
                    case_id = conn.execute(
                        cases.insert().values(
                            reference=uuid.uuid4().hex[:8].upper(),
                            subject="Late",
                            status=status,
                            priority="normal",
                            priority_rank=2,
                            topic=rng.choice((None, "complaint")),
                            channel=rng.choice(("phone", "chat")),
                            tags=[],
                            requester_profile_id=p,
                            opened_at=now,
                            updated_at=now,
                            created_by="bench",
                        )
                    ).inserted_primary_key[0]
                    conn.execute(
                        case_events.insert().values(
                            case_id=case_id, at=now, kind="status", actor="agent", data={"from": "open", "to": status}
                        )
                    )
                    case_of[p] = int(case_id)
        survey = dict(conn.execute(sa.select(surveys).where(surveys.c.id == survey_id)).one()._mapping)
    return people, case_of, survey


def run(
    db: Database, people: list[str], case_of: dict[str, int], survey: dict[str, object], n: int, seed: int
) -> dict[str, float]:
    rng = random.Random(seed)
    chosen = [rng.choice(people) for _ in range(n)]
    baseline, decisions, commits = [], [], []
    for p in chosen:
        t0 = time.perf_counter()
        with db.read() as conn:
            check_permission_for(conn, p, "surveys", "email", outreach=True)
        baseline.append(time.perf_counter() - t0)
        with db.write() as conn:
            t0 = time.perf_counter()
            canonical, members = members_of(conn, p)
            decide(conn, canonical, members, survey, "case_solved", utcnow(), channel="phone", case_id=case_of.get(p))
            decisions.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
        commits.append(time.perf_counter() - t0)  # the commit of the invite's transaction, apart
    return {
        "decide_p50_ms": percentile(decisions, 0.5) * 1000,
        "decide_p99_ms": percentile(decisions, 0.99) * 1000,
        "commit_p50_ms": percentile(commits, 0.5) * 1000,
        "commit_p99_ms": percentile(commits, 0.99) * 1000,
        "baseline_p50_ms": percentile(baseline, 0.5) * 1000,
        "baseline_p99_ms": percentile(baseline, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(load_settings(database_url=url))
        if args.database_url:
            with db.writer.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade(db)
        started = time.monotonic()
        people, case_of, survey = build(db, args.profiles)
        built_s = time.monotonic() - started
        runs = [run(db, people, case_of, survey, args.decisions, seed) for seed in range(args.repeat)]
        db.dispose()
    result = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    result["p99_ratio_to_permission_check"] = round(result["decide_p99_ms"] / result["baseline_p99_ms"], 2)
    result |= {
        "profiles": args.profiles,
        "decisions": args.decisions,
        "repeat": args.repeat,
        "build_s": round(built_s, 1),
        "database": "postgresql" if args.database_url else "sqlite",
        "target_p99_ms": 5.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
