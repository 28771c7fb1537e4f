"""The processor: reads the event log in order and turns it into the identity graph and profiles.

One batch is one transaction that also moves the processor's offset, so a crash at any point
replays whole batches and never applies an event twice.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.importer import IMPORT_LIBRARY
from rapport.collect.service import read_offset, write_offset
from rapport.collect.store import events, sources
from rapport.consent.model import ConsentRecord, consent_from_message
from rapport.consent.service import append_consent
from rapport.consent.store import consent_records
from rapport.db import bulk
from rapport.db.bulk import Json
from rapport.db.engine import Database
from rapport.db.metadata import utcnow
from rapport.identity.graph import CachedGraph, read_version
from rapport.identity.model import (
    Identifier,
    IdentityRules,
    alias_candidates,
    extract_identifiers,
    extract_traits,
    previous_identifier,
    resolve,
)
from rapport.identity.store import merges, profiles
from rapport.settings import Settings

CONSUMER = "profiles"
GRAPH_LOCK = "rapport:identity-graph"
log = logging.getLogger("rapport.processor")


def rules_from(settings: Settings) -> IdentityRules:
    return IdentityRules(
        blocked_values=frozenset(v.strip().lower() for v in settings.blocked_identifier_values),
        limits=dict(settings.identifier_limits),
        phone_region=settings.default_phone_region,
    )


@dataclass
class _Stats:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    channels: set[str] = field(default_factory=set)

    def add(self, ts: datetime, channel: str) -> None:
        self.count += 1
        self.first = ts if self.first is None or ts < self.first else self.first
        self.last = ts if self.last is None or ts > self.last else self.last
        self.channels.add(channel)


@dataclass
class _Batch:
    """Everything one batch will write, gathered in memory and flushed in bulk."""

    new_profiles: list[str] = field(default_factory=list)
    new_identifiers: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    traits: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    consents: list[tuple[str, ConsentRecord, str]] = field(default_factory=list)  # profile, record, channel
    stats: dict[str, _Stats] = field(default_factory=lambda: defaultdict(_Stats))


class Processor:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.rules = rules_from(db.settings)
        self.graph = CachedGraph(self.rules.limits)
        self._sources: dict[int, tuple[str, str]] = {}  # id -> (channel, name)

    def run_once(self, limit: int | None = None) -> int:
        """Process the next batch of the log; answer how many events it held.

        The batch is read and parsed under a read transaction; SQLite's write lock is taken only
        for resolving and writing, so ingest keeps committing meanwhile. Should the graph change
        in between (an undo or an erasure), the batch is dropped and read again.
        """
        limit = limit or self.db.settings.processor_batch_size
        with self.db.read() as conn:
            offset = read_offset(conn, CONSUMER)
            version = read_version(conn)
            rows = conn.execute(
                sa.select(events.c.id, events.c.source_id, events.c.timestamp, events.c.payload, events.c.message_id)
                .where(events.c.id > offset)
                .order_by(events.c.id)
                .limit(limit)
            ).all()
        if not rows:
            return 0
        found = [extract_identifiers(r.payload, self.rules) for r in rows]
        with self.db.write(lock=GRAPH_LOCK) as conn:
            if read_offset(conn, CONSUMER) != offset or read_version(conn) != version:
                return 0  # someone else moved first; the next call reads afresh
            self.graph.sync(conn)
            try:
                self._apply(conn, rows, found)
            except Exception:
                self.graph.clear()  # the transaction rolls back; so must the cache
                self.graph.version = -1
                raise
            write_offset(conn, CONSUMER, rows[-1].id)
        return len(rows)

    def run_until_caught_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def _source(self, conn: Connection, source_id: int) -> tuple[str, str]:
        if source_id not in self._sources:
            rows = conn.execute(sa.select(sources.c.id, sources.c.channel, sources.c.name))
            self._sources.update({r.id: (r.channel, r.name) for r in rows})
        return self._sources.get(source_id, ("other", "unknown"))

    def _apply(self, conn: Connection, rows: Sequence[Any], found: list[list[Identifier]]) -> None:
        aliases = {
            n: alias_candidates(r.payload, self.rules) for n, r in enumerate(rows) if r.payload.get("type") == "alias"
        }
        self.graph.preload(conn, [i.key for ids in (*found, *aliases.values()) for i in ids])
        batch = _Batch()
        for n, (row, ids) in enumerate(zip(rows, found, strict=True)):
            if n in aliases:  # decided now, so an id taken earlier in this batch counts
                ids = sorted({*ids, *previous_identifier(aliases[n], self.graph)}, key=lambda i: (i.rank, i.value))
            profile_id = self._place(row, ids, batch)
            batch.assignments.append({"eid": row.id, "pid": profile_id})
            channel, source_name = self._source(conn, row.source_id)
            batch.stats[profile_id].add(row.timestamp, channel)
            via = "import" if _library(row.payload) == IMPORT_LIBRARY else "tracking"
            for record in consent_from_message(row.payload, channel, row.timestamp, f"{via}:{source_name}"):
                batch.consents.append((profile_id, record, channel))
            for key, value in extract_traits(row.payload).items():
                current = batch.traits.get((profile_id, key))
                if current is None or current["observed_at"] <= row.timestamp:
                    batch.traits[(profile_id, key)] = {
                        "profile_id": profile_id,
                        "key": key,
                        "value": value,
                        "source_id": row.source_id,
                        "observed_at": row.timestamp,
                        "event_id": row.id,
                    }
        _flush(conn, batch)

    def _new_profile(self, batch: _Batch) -> str:
        profile_id = uuid.uuid4().hex
        self.graph.add_profile(profile_id)
        batch.new_profiles.append(profile_id)
        return profile_id

    def _place(self, row: Any, ids: list[Identifier], batch: _Batch) -> str:
        """Resolve one event, apply the outcome to the graph, and answer the profile that takes it."""
        result = resolve(ids, self.graph, self.rules)
        target = result.target or self._new_profile(batch)
        for absorbed in result.absorb:
            self.graph.absorb(target, absorbed)
            batch.merges.append(
                {
                    "survivor_id": target,
                    "absorbed_id": absorbed,
                    "identifiers": [i.key for i in ids if i not in result.conflicts],
                    "event_id": row.id,
                    "message_id": row.message_id,
                    "reason": f"{row.payload.get('type')} message shares an identifier of both profiles",
                    "created_at": utcnow(),
                }
            )
        for ident in result.attach:
            self.graph.attach(ident, target)
            batch.new_identifiers.append(
                {
                    "key": ident.key,
                    "type": ident.type,
                    "value": ident.value,
                    "profile_id": target,
                    "first_event_id": row.id,
                    "created_at": utcnow(),
                }
            )
        if result.anchor is None or result.anchor in result.attach:
            return target
        return self.graph.origin(result.anchor.key) or target


def _library(payload: dict[str, Any]) -> str | None:
    library = (payload.get("context") or {}).get("library")
    return library.get("name") if isinstance(library, dict) else None


def _flush(conn: Connection, batch: _Batch) -> None:
    now = utcnow()
    fresh = set(batch.new_profiles)
    bulk.executemany(
        conn,
        "INSERT INTO profiles (id, canonical_id, created_at, first_seen, last_seen, event_count, channels) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p,
                p,
                now,
                batch.stats[p].first,
                batch.stats[p].last,
                batch.stats[p].count,
                Json(sorted(batch.stats[p].channels)),
            )
            for p in batch.new_profiles
        ],
    )
    bulk.executemany(
        conn,
        "INSERT INTO identifiers (key, type, value, profile_id, first_event_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (i["key"], i["type"], i["value"], i["profile_id"], i["first_event_id"], i["created_at"])
            for i in batch.new_identifiers
        ],
    )
    # In order: a profile absorbed earlier in the batch may itself be absorbed later.
    bulk.executemany(
        conn,
        "UPDATE profiles SET canonical_id = ? WHERE canonical_id = ?",
        [(m["survivor_id"], m["absorbed_id"]) for m in batch.merges],
    )
    bulk.executemany(
        conn,
        "UPDATE profiles SET merged_into = ? WHERE id = ?",
        [(m["survivor_id"], m["absorbed_id"]) for m in batch.merges],
    )
    if batch.merges:
        conn.execute(merges.insert(), batch.merges)
    bulk.executemany(
        conn, "UPDATE events SET profile_id = ? WHERE id = ?", [(a["pid"], a["eid"]) for a in batch.assignments]
    )
    bulk.executemany(
        conn,
        "INSERT INTO profile_traits (profile_id, key, value, source_id, observed_at, event_id) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value, source_id = excluded.source_id, "
        "observed_at = excluded.observed_at, event_id = excluded.event_id "
        "WHERE profile_traits.observed_at <= excluded.observed_at",
        [
            (t["profile_id"], t["key"], Json(t["value"]), t["source_id"], t["observed_at"], t["event_id"])
            for t in batch.traits.values()
        ],
    )
    _update_stats(conn, {p: s for p, s in batch.stats.items() if p not in fresh})
    _append_consents(conn, batch.consents)


def _append_consents(conn: Connection, consents: list[tuple[str, ConsentRecord, str]]) -> None:
    """Ledger rows for consent stated in events, only where it changes what is on record."""
    if not consents:
        return
    profile_ids = sorted({p for p, _, _ in consents})
    latest: dict[tuple[str, str, str, str | None], Any] = {}
    for r in conn.execute(
        sa.select(consent_records).where(consent_records.c.profile_id.in_(profile_ids)).order_by(consent_records.c.id)
    ):
        latest[(r.profile_id, r.purpose, r.channel, r.contact_point)] = r
    for profile_id, record, channel in consents:
        key = (profile_id, record.purpose, record.channel, record.contact_point)
        current = latest.get(key)
        if current is not None and (current.status, current.notice_version) == (record.status, record.notice_version):
            continue
        append_consent(conn, profile_id, record, actor="customer:tracking", via=channel)
        latest[key] = record


def _update_stats(conn: Connection, stats: dict[str, _Stats]) -> None:
    if not stats:
        return
    ids = sorted(stats)
    current: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        query = sa.select(
            profiles.c.id, profiles.c.first_seen, profiles.c.last_seen, profiles.c.event_count, profiles.c.channels
        )
        current.update({r.id: r for r in conn.execute(query.where(profiles.c.id.in_(ids[i : i + 500])))})
    rows = []
    for pid, s in stats.items():
        old = current[pid]
        first = min(d for d in (old.first_seen, s.first) if d is not None)
        last = max(d for d in (old.last_seen, s.last) if d is not None)
        rows.append((old.event_count + s.count, first, last, Json(sorted(set(old.channels) | s.channels)), pid))
    bulk.executemany(
        conn, "UPDATE profiles SET event_count = ?, first_seen = ?, last_seen = ?, channels = ? WHERE id = ?", rows
    )


def run_processor(db: Database, stop: threading.Event, idle_sleep_s: float = 0.02) -> None:
    """Keep the profiles caught up with the log until `stop` is set."""
    processor = Processor(db)
    while not stop.is_set():
        try:
            done = processor.run_once()
        except Exception:  # noqa: BLE001 - a failed batch rolls back and is retried
            log.exception("processor batch failed; retrying")
            stop.wait(1.0)
            continue
        if not done:
            stop.wait(idle_sleep_s)


def processor_process_main(settings_json: str, parent_pid: int) -> None:
    """Entry point of the processor child process that `rapport serve` starts; it stops with its parent."""
    import os
    import signal

    from rapport.db.engine import open_database

    stop = threading.Event()

    # Setting the Event from a handler could deadlock on its lock while the main thread waits on it.
    def request_stop(*_: object) -> None:
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def watch_parent() -> None:
        while not stop.wait(0.5):
            if os.getppid() != parent_pid:
                stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    db = open_database(Settings.model_validate_json(settings_json))
    try:
        run_processor(db, stop)
    finally:
        db.dispose()
