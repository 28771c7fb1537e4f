"""Realistic Segment-style traffic for the benchmarks: deterministic, built before any timing starts.

Each person starts anonymous (a web page view, a track), then identifies with a user id, an email
and a phone number; later events carry the user id. One person in ten also uses a second device
anonymously before identifying on it, so the processor has real merges to do.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rapport.db.engine import sqlite_pragmas
from rapport.settings import Settings

AREA_CODES = ("415", "212", "617", "312", "646", "206", "512", "303")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie")
PAGES = (("Home", "/"), ("Pricing", "/pricing"), ("Docs", "/docs/start"), ("Product", "/p/blue-mug"), ("Cart", "/cart"))
EVENTS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Coupon Applied")
LIBRARY = {"name": "analytics.js", "version": "4.1.0"}
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


class Person:
    __slots__ = ("n", "user_id", "anon", "anon2", "email", "phone", "name", "two_devices")

    def __init__(self, n: int, rng: random.Random, run: str) -> None:
        self.n = n
        self.user_id = f"u-{run}-{n:07d}"
        self.anon = f"a-{run}-{n:07d}-{rng.getrandbits(32):08x}"
        self.anon2 = f"m-{run}-{n:07d}-{rng.getrandbits(32):08x}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        self.name = f"{first} {last}"
        self.email = f"{first.lower()}.{last.lower()}.{n}@example.com"
        code = AREA_CODES[n % len(AREA_CODES)]
        self.phone = f"+1 {code} 555 {(n // len(AREA_CODES)) % 10000:04d}" if n < 80_000 else None
        self.two_devices = n % 10 == 3


def _ts(base: datetime, seq: int) -> str:
    return (base + timedelta(milliseconds=seq * 37)).isoformat().replace("+00:00", "Z")


def message_for(p: Person, k: int, seq: int, rng: random.Random, base: datetime, run: str) -> dict[str, Any]:
    """The k-th message of person p's stream."""
    common: dict[str, Any] = {"messageId": f"{run}-{seq:09d}", "timestamp": _ts(base, seq)}
    ctx: dict[str, Any] = {"library": LIBRARY, "ip": f"10.{p.n % 250}.{(p.n // 250) % 250}.7", "userAgent": UA}
    if k == 0:
        title, path = rng.choice(PAGES)
        ctx["page"] = {"path": path, "title": title, "url": f"https://shop.example.com{path}"}
        return {
            **common,
            "type": "page",
            "anonymousId": p.anon,
            "name": title,
            "properties": {
                "path": path,
                "url": f"https://shop.example.com{path}",
                "referrer": "https://www.google.com/",
            },
            "context": ctx,
        }
    if k == 1 and p.two_devices:
        ctx["device"] = {"id": f"dev-{p.anon2}", "type": "ios"}
        return {
            **common,
            "type": "track",
            "anonymousId": p.anon2,
            "event": "Application Opened",
            "properties": {"from_background": False},
            "context": ctx,
        }
    if k == 2:
        traits: dict[str, Any] = {
            "email": p.email,
            "name": p.name,
            "plan": rng.choice(("free", "pro", "team")),
            "createdAt": _ts(base, seq - 1000),
        }
        if p.phone:
            traits["phone"] = p.phone
        return {
            **common,
            "type": "identify",
            "userId": p.user_id,
            "anonymousId": p.anon,
            "traits": traits,
            "context": ctx,
        }
    if k == 3 and p.two_devices:
        return {
            **common,
            "type": "identify",
            "userId": p.user_id,
            "anonymousId": p.anon2,
            "traits": {"email": p.email, "app_version": "7.2.1"},
            "context": ctx,
        }
    if k % 4 == 1:
        title, path = rng.choice(PAGES)
        return {
            **common,
            "type": "page",
            "userId": p.user_id,
            "anonymousId": p.anon,
            "name": title,
            "properties": {"path": path, "url": f"https://shop.example.com{path}"},
            "context": ctx,
        }
    event = rng.choice(EVENTS)
    props: dict[str, Any] = {
        "product_id": f"sku-{rng.randrange(5000)}",
        "price": round(rng.uniform(3, 300), 2),
        "currency": "USD",
        "quantity": rng.randrange(1, 4),
    }
    if event == "Order Completed":
        props["order_id"] = f"o-{run}-{seq}"
        props["revenue"] = props["price"] * props["quantity"]
    return {
        **common,
        "type": "track",
        "userId": p.user_id,
        "anonymousId": p.anon,
        "event": event,
        "properties": props,
        "context": ctx,
    }


def messages(
    total: int, users: int, seed: int = 7, run: str = "r", merge_step: bool = False, random_ids: bool = False
) -> Iterator[dict[str, Any]]:
    """`total` messages over `users` people, interleaved at random while each person's order is kept.

    `merge_step`: people with two devices get one more message than the others (the identify that
    merges their second device's profile), so even three messages a person include merges.
    `random_ids`: messageIds are random UUIDs, as the SDKs send them, instead of sequential ones
    (which land at the end of the log's unique index, the cheapest place); nothing else changes.
    """
    ids = random.Random(seed + 1)
    rng = random.Random(seed)
    people = [Person(n, rng, run) for n in range(users)]
    per = [total // users + (1 if n < total % users else 0) for n in range(users)]
    if merge_step:
        per = [c + 1 if people[n].two_devices and c <= 3 else c for n, c in enumerate(per)]
    order = [n for n in range(users) for _ in range(per[n])]
    rng.shuffle(order)
    seen = [0] * users
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for seq, n in enumerate(order):
        k = seen[n]
        seen[n] += 1
        message = message_for(people[n], k, seq, rng, base, run)
        if random_ids:
            message["messageId"] = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        yield message


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def raw_insert_rate(db_path: Path, work: Path, synchronous: str, batch: int = 100) -> float:
    """The baseline of every ingest figure: python sqlite3 inserting the events stored in `db_path`
    into a fresh copy of its schema (same pragmas), one commit per `batch`; rows per second."""
    log_path = Path(f"{db_path}-log")  # the split-log prototype (bench/_patched_serve.py) keeps events there
    src = sqlite3.connect(f"file:{log_path if log_path.exists() else db_path}?mode=ro", uri=True)
    schema = [
        r[0]
        for r in src.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type = 'index', rowid"
        )
    ]
    if log_path.exists():
        src.execute("ATTACH DATABASE ? AS main_db", (f"file:{db_path}?mode=ro",))
        schema.insert(0, src.execute("SELECT sql FROM main_db.sqlite_master WHERE name = 'sources'").fetchone()[0])
    source_rows = src.execute("SELECT * FROM sources").fetchall()
    rows = src.execute(
        "SELECT source_id, message_id, type, event, timestamp, received_at, payload, original_timestamp, user_id, "
        "anonymous_id FROM events ORDER BY id"
    ).fetchall()
    src.close()
    db = sqlite3.connect(work / "baseline.db", isolation_level=None)
    for pragma in sqlite_pragmas(Settings(sqlite_synchronous=synchronous)):
        db.execute(f"PRAGMA {pragma}")
    for stmt in schema:
        db.execute(stmt)
    db.executemany(f"INSERT INTO sources VALUES ({','.join('?' * len(source_rows[0]))})", source_rows)
    insert = (
        "INSERT INTO events (source_id, message_id, type, event, timestamp, received_at, payload, original_timestamp, "
        "user_id, anonymous_id) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN")
        db.executemany(insert, rows[i : i + batch])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t
    db.close()
    return len(rows) / elapsed
