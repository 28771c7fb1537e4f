"""What next best action adds to a decision, in process: the median and p99 of one staff decision
(`recommend.decide`, recorded in the decision log) for a random profile with a catalogue of
`--actions` actions under `--policies` policies, as a ratio to the same decision with no action
(the baseline: the recommender's part alone, measured in the same process, interleaved).

Builds a SQLite database of `--profiles` people with rapport's own pipeline (their events through
the processor), so every decision reads a real timeline (cases, surveys), consent and the contact
policy's counts. Without HTTP: the route adds the same on both sides.

Usage:  .venv/bin/python bench/decide_actions.py [--profiles 20000] [--actions 20] [--policies 5]
            [--decisions 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _workload import median, messages, percentile  # noqa: E402


def build(db_path: Path, people: int) -> None:
    from rapport.collect import model
    from rapport.collect.log import append_messages
    from rapport.collect.service import create_source
    from rapport.db.engine import open_database
    from rapport.db.migrate import upgrade
    from rapport.profiles.processor import Processor
    from rapport.settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{db_path}", sqlite_synchronous="NORMAL")
    db = open_database(settings)
    upgrade(db)
    web = create_source(db, "bench-web", "web")
    envelope = model.Envelope({}, {}, None, datetime.now(UTC))
    pending = []
    for raw in messages(people * 3, people, seed=11, run="nba", merge_step=True):
        result = model.normalize_message(raw, envelope)
        assert isinstance(result, model.Accepted), result
        pending.append(result)
    with db.write() as conn:
        append_messages(conn, web.id, pending, [])
    Processor(db).run_until_caught_up()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--actions", type=int, default=20)
    parser.add_argument("--policies", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=2_000)
    args = parser.parse_args()

    from rapport.db.engine import open_database
    from rapport.decide import actions_service
    from rapport.decide.actions_store import actions as actions_table
    from rapport.decide.recommend import decide
    from rapport.decide.service import Ask, Person
    from rapport.decide.training import cache_for
    from rapport.identity.store import profiles
    from rapport.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nba.db"
        t = time.perf_counter()
        build(path, args.profiles)
        print(f"built {args.profiles:,} profiles in {time.perf_counter() - t:.1f}s", flush=True)
        db = open_database(load_settings(database_url=f"sqlite:///{path}", sqlite_synchronous="NORMAL"))
        with db.read() as conn:
            ids = conn.execute(sa.select(profiles.c.id).where(profiles.c.id == profiles.c.canonical_id)).scalars().all()
        kinds = ("offer", "retention_offer", "service_action", "help", "survey")
        documents = [
            {"id": f"a{n}", "name": f"A{n}", "kind": kinds[n % 5], "title": f"T{n}", "value": 1 + n, "lever": 1}
            for n in range(args.actions)
        ]
        rules = [
            ("eligibility", {"all": [{"trait": "plan", "op": "in", "value": ["gold", "silver"]}]}),
            ("applicability", {"placements": ["home", "cart"]}),
            ("applicability", {"channels": ["web", "mobile"]}),
            ("eligibility", {"all": [{"stage": ["customer"]}]}),
            ("applicability", {"ends_at": "2099-01-01T00:00:00+00:00"}),
        ]
        cache = cache_for(db)
        rng = random.Random(5)
        ask = Ask("home", "web", 10)

        def one() -> float:
            pid = rng.choice(ids)
            t = time.perf_counter()
            decide(db, cache, Person(pid, (pid,)), ask, actor="bench")
            return time.perf_counter() - t

        def load_catalogue() -> None:
            for document in documents:
                actions_service.create_action(db, document, actor="bench", via="bench")
            for n in range(args.policies):
                stage, body = rules[n % len(rules)]
                scope = [d["id"] for d in documents[n :: args.policies]]
                actions_service.create_policy(
                    db, {"name": f"p{n}", "stage": stage, "actions": scope, "rules": body}, actor="bench", via="bench"
                )

        load_catalogue()
        for _ in range(200):  # warm up both paths
            one()
        base: list[float] = []
        with_actions: list[float] = []
        for _ in range(args.decisions // 100):  # alternate blocks: both see the same noise
            with db.write() as conn:
                saved = [dict(r._mapping) for r in conn.execute(sa.select(actions_table))]
                conn.execute(actions_table.delete())
            base.extend(one() for _ in range(100))
            with db.write() as conn:
                conn.execute(actions_table.insert(), saved)
            with_actions.extend(one() for _ in range(100))
        db.dispose()

    def ms(values: list[float], q: float | None = None) -> float:
        return 1000 * (percentile(values, q) if q is not None else median(values))

    print(
        f"decisions: {len(base)} without actions, {len(with_actions)} with {args.actions} actions"
        f" under {args.policies} policies"
    )
    print(f"  without actions  p50 {ms(base):.2f} ms  p99 {ms(base, 99):.2f} ms")
    print(f"  with actions     p50 {ms(with_actions):.2f} ms  p99 {ms(with_actions, 99):.2f} ms")
    print(f"  ratio            p50 {ms(with_actions) / ms(base):.2f}x  p99 {ms(with_actions, 99) / ms(base, 99):.2f}x")


if __name__ == "__main__":
    main()
