"""The processor: reads the event log in order and turns it into the identity graph and profiles.

One batch is one transaction that also moves the processor's offset, so a crash at any point
replays whole batches and never applies an event twice.
"""

from __future__ import annotations

import gc
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.importer import IMPORT_LIBRARY
from rapport.collect.service import read_offset, write_offset
from rapport.collect.store import sources
from rapport.consent.model import (
    CONSENT_EVENT,
    CONTEXT_CONSENT_KEYS,
    ConsentRecord,
    consent_from_message,
    may_state_consent,
)
from rapport.consent.service import append_consent
from rapport.consent.store import consent_records
from rapport.db import bulk
from rapport.db.bulk import Json
from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, MAX_CACHED, CachedGraph, bump_version, read_version
from rapport.identity.model import (
    CONTEXT_IDENTIFIER_KEYS,
    Identifier,
    IdentityRules,
    alias_candidates,
    extract_identifiers,
    extract_traits,
    id_pair,
    previous_identifier,
    resolve,
)
from rapport.identity.store import merges
from rapport.kernel.clock import utcnow
from rapport.profiles.poison import Failures
from rapport.settings import Settings

Pair = tuple[str | None, str | None]  # a message's (userId, anonymousId)
CONSUMER = "profiles"
log = logging.getLogger("rapport.processor")


def rules_from(settings: Settings) -> IdentityRules:
    return IdentityRules(
        blocked_values=frozenset(v.strip().lower() for v in settings.blocked_identifier_values),
        limits=dict(settings.identifier_limits),
        phone_region=settings.default_phone_region,
    )


@dataclass
class _Batch:
    """Everything one batch will write, gathered in memory and flushed in bulk."""

    last_event_id: int = 0
    new_profiles: list[str] = field(default_factory=list)
    new_identifiers: list[tuple[Any, ...]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[tuple[str, Any, int]] = field(default_factory=list)  # (profile, time, event)
    traits: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    consents: list[tuple[str, ConsentRecord, str]] = field(default_factory=list)  # profile, record, channel
    channels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # profile -> its events' channels


_READ_COLUMNS = "SELECT id, source_id, timestamp, payload, message_id, type, user_id, anonymous_id FROM events"
_READ_BATCH = f"{_READ_COLUMNS} WHERE id > ? ORDER BY id LIMIT ?"
# Text in a stored payload (orjson writes keys as is: no escapes, no spaces) that may carry
# identifiers, traits (`traits` again) or consent; a message with none of it holds nothing for the
# processor but its two ids.
_MORE_THAN_IDS = (*(f'"{key}":' for key in (*CONTEXT_IDENTIFIER_KEYS, *CONTEXT_CONSENT_KEYS)), CONSENT_EVENT)


def _ids_only(kind: str, text: str) -> bool:
    """Surely nothing in this stored message but its type and its two ids matters to the processor.
    A cheap test on the text: a false "no" costs a decode, never a wrong profile."""
    return kind not in ("identify", "alias") and not any(key in text for key in _MORE_THAN_IDS)


class Processor:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.rules = rules_from(db.settings)
        self.graph = CachedGraph(self.rules.limits)
        # Channels of the profiles this processor has written: it is their only writer, so once read
        # they never need reading again (an undo or erasure bumps the graph version, which clears this).
        self.channels: dict[str, frozenset[str]] = {}
        self._sources: dict[int, tuple[str, str]] = {}  # id -> (channel, name)

    def run_once(self, limit: int | None = None) -> int:
        """Process the next batch of the log; answer how many events it held.

        The batch is read, parsed and resolved under a read transaction; SQLite's write lock is taken
        only to write the outcome, so ingest keeps committing meanwhile. Should the graph have changed
        in between (an undo or an erasure), the batch is dropped, the caches forgotten, and the batch
        read again by the next call.
        """
        limit = limit or self.db.settings.processor_batch_size
        with self.db.read() as conn:
            offset = read_offset(conn, CONSUMER)
            version = read_version(conn)
            rows = bulk.query(conn, _READ_BATCH, (offset, limit))
            if not rows:
                return 0
            if version != self.graph.version or max(len(self.channels), self.graph.size()) > MAX_CACHED:
                self._forget(version)
            try:
                batch = self._resolve(conn, rows)
            except Exception:
                self._forget()
                raise
        try:
            with self.db.write(lock=GRAPH_LOCK) as conn:
                if read_offset(conn, CONSUMER) != offset or read_version(conn) != version:
                    self._forget()  # someone else moved first; the next call reads afresh
                    return 0
                self._flush(conn, batch)
                write_offset(conn, CONSUMER, batch.last_event_id)
        except Exception:
            self._forget()  # the transaction rolled back; so must the caches
            raise
        return len(rows)

    def apply_again(self, event_ids: Sequence[int], in_same_transaction: Callable[[Connection], None]) -> int:
        """Apply these events now, out of log order and without moving the offset: how events the
        processor once set aside are replayed (profiles/poison.py). `in_same_transaction` runs after
        the writes, before the commit; raising there undoes them."""
        with self.db.read() as conn:
            version = read_version(conn)
            self._forget(version)
            marks = ",".join("?" * len(event_ids))
            rows = bulk.query(conn, f"{_READ_COLUMNS} WHERE id IN ({marks}) ORDER BY id", list(event_ids))
            if not rows:
                return 0
            batch = self._resolve(conn, rows)
        try:
            with self.db.write(lock=GRAPH_LOCK) as conn:
                if read_version(conn) != version:
                    raise RuntimeError("the identity graph changed meanwhile; replay again")
                self._flush(conn, batch)
                bump_version(conn)  # the running processor's caches know nothing of these writes
                in_same_transaction(conn)
        finally:
            self._forget()
        return len(rows)

    def run_until_caught_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def _forget(self, version: int = -1) -> None:
        self.graph.clear()
        self.graph.version = version
        self.channels.clear()

    def _source(self, conn: Connection, source_id: int) -> tuple[str, str]:
        if source_id not in self._sources:
            rows = conn.execute(sa.select(sources.c.id, sources.c.channel, sources.c.name))
            self._sources.update({r.id: (r.channel, r.name) for r in rows})
        return self._sources.get(source_id, ("other", "unknown"))

    def _resolve(self, conn: Connection, rows: Sequence[Any]) -> _Batch:
        """Place every event of the batch on a profile, in memory: the graph cache and a `_Batch`."""
        settled = self.graph.settled
        payloads, pairs = self._decode(rows)
        found: list[list[Identifier] | None] = []
        by_pair: dict[Pair, list[Identifier]] = {}  # equal pairs extract equally
        for p, pair in zip(payloads, pairs, strict=True):
            if p is None:  # placed by its pair, settled already
                found.append(None)
            elif pair is None:
                found.append(extract_identifiers(p, self.rules))
            elif pair in settled:
                found.append(None)
            else:
                if pair not in by_pair:
                    by_pair[pair] = extract_identifiers(p, self.rules)
                found.append(by_pair[pair])
        aliases = {
            n: alias_candidates(p, self.rules)
            for n, p in enumerate(payloads)
            if p is not None and p.get("type") == "alias"
        }
        self.graph.preload(conn, [i.key for ids in (*found, *aliases.values()) if ids for i in ids])
        batch = _Batch(last_event_id=rows[-1][0])
        now = utcnow()
        stamp = bulk.stored(conn, now)
        # Rows are unpacked as tuples: a Row's attribute access costs a microsecond, five times an event.
        for n, ((event_id, source_id, timestamp, _, message_id, kind, *_), payload, ids) in enumerate(
            zip(rows, payloads, found, strict=True)
        ):
            pair = pairs[n]
            if ids is None or pair in settled:  # settled before or earlier in this batch: nothing to resolve
                profile_id = settled[pair]  # type: ignore[index]
            else:
                if n in aliases:  # decided now, so an id taken earlier in this batch counts
                    ids = sorted({*ids, *previous_identifier(aliases[n], self.graph)}, key=lambda i: (i.rank, i.value))
                profile_id, is_settled = self._place(event_id, message_id, kind, ids, batch, now, stamp)
                if is_settled and pair is not None:
                    settled[pair] = profile_id
            batch.assignments.append((profile_id, timestamp, event_id))
            channel, source_name = self._source(conn, source_id)
            batch.channels[profile_id].add(channel)
            if payload is None:  # its two ids were all it held
                continue
            if may_state_consent(payload):
                via = "import" if _library(payload) == IMPORT_LIBRARY else "tracking"
                for record in consent_from_message(payload, channel, _moment(timestamp), f"{via}:{source_name}"):
                    batch.consents.append((profile_id, record, channel))
            for key, value in extract_traits(payload).items():
                current = batch.traits.get((profile_id, key))
                if current is None or current[4] <= timestamp:
                    batch.traits[(profile_id, key)] = (profile_id, key, Json(value), source_id, timestamp, event_id)
        fresh = set(batch.new_profiles)
        self._load_channels(conn, {p for p in batch.channels if p not in fresh and p not in self.channels})
        return batch

    def _decode(self, rows: Sequence[Any]) -> tuple[list[dict[str, Any] | None], list[Pair | None]]:
        """Each event's payload and id pair (see `id_pair`). The payload is left undecoded (None) where
        the pair is settled and the text holds nothing else: most events of known people, and decoding
        was the largest single cost of placing them."""
        settled = self.graph.settled
        loads = orjson.loads
        payloads: list[dict[str, Any] | None] = []
        pairs: list[Pair | None] = []
        for row in rows:
            payload = row[3]
            if type(payload) is str:  # SQLite gives the stored text; PostgreSQL a decoded document
                pair = (row[6], row[7])
                if pair in settled and _ids_only(row[5], payload):
                    payloads.append(None)
                    pairs.append(pair)
                    continue
                payload = loads(payload)
            payloads.append(payload)
            pairs.append(id_pair(payload))
        return payloads, pairs

    def _load_channels(self, conn: Connection, profile_ids: set[str]) -> None:
        ids = sorted(profile_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            sql = f"SELECT id, channels FROM profiles WHERE id IN ({','.join('?' * len(chunk))})"
            for pid, channels in bulk.query(conn, sql, chunk):
                decoded = orjson.loads(channels) if isinstance(channels, str | bytes) else channels
                self.channels[pid] = frozenset(decoded or ())

    def _new_profile(self, batch: _Batch) -> str:
        profile_id = uuid.uuid4().hex
        self.graph.add_profile(profile_id)
        batch.new_profiles.append(profile_id)
        return profile_id

    def _place(
        self,
        event_id: int,
        message_id: str,
        kind: str,
        ids: list[Identifier],
        batch: _Batch,
        now: datetime,
        stamp: Any,
    ) -> tuple[str, bool]:
        """Resolve one event and apply the outcome to the graph. Answers the profile that takes the
        event, and whether its identifiers are now settled: every one of them in that profile's group,
        none left out by a limit, so a message with the same identifiers would land on the same
        profile without changing anything."""
        result = resolve(ids, self.graph, self.rules)
        target = result.target or self._new_profile(batch)
        for absorbed in result.absorb:
            self.graph.absorb(target, absorbed)
            batch.merges.append(
                {
                    "survivor_id": target,
                    "absorbed_id": absorbed,
                    "identifiers": [i.key for i in ids if i not in result.conflicts],
                    "event_id": event_id,
                    "message_id": message_id,
                    "reason": f"{kind} message shares an identifier of both profiles",
                    "created_at": now,
                }
            )
        for ident in result.attach:
            self.graph.attach(ident, target)
            batch.new_identifiers.append((ident.key, ident.type, ident.value, target, event_id, stamp))
        settled = result.anchor is not None and not result.conflicts
        if result.anchor is None or result.anchor in result.attach:
            return target, settled
        return self.graph.origin(result.anchor.key) or target, settled

    def _flush(self, conn: Connection, batch: _Batch) -> None:
        now = utcnow()
        fresh = set(batch.new_profiles)
        bulk.executemany(
            conn,
            "INSERT INTO profiles (id, canonical_id, created_at, channels) VALUES (?, ?, ?, ?)",
            [(p, p, now, Json(sorted(batch.channels[p]))) for p in batch.new_profiles],
        )
        bulk.executemany(
            conn,
            "INSERT INTO identifiers (key, type, value, profile_id, first_event_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            sorted(batch.new_identifiers),
            as_given=True,
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
            conn,
            "INSERT INTO profile_events (profile_id, timestamp, event_id) VALUES (?, ?, ?)",
            sorted(batch.assignments),
            as_given=True,
        )
        bulk.executemany(
            conn,
            "INSERT INTO profile_traits (profile_id, key, value, source_id, observed_at, event_id) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value, source_id = excluded.source_id, "
            "observed_at = excluded.observed_at, event_id = excluded.event_id "
            "WHERE profile_traits.observed_at <= excluded.observed_at",
            [batch.traits[k] for k in sorted(batch.traits)],
        )
        self._update_channels(conn, batch, fresh)
        _append_consents(conn, batch.consents)

    def _update_channels(self, conn: Connection, batch: _Batch, fresh: set[str]) -> None:
        """A profile's row changes only when it is first seen on another channel (its counts and
        times are read from the timeline, so a batch writes nothing else to it)."""
        changed = []
        for pid, added in batch.channels.items():
            if pid in fresh:  # inserted with its channels
                self.channels[pid] = frozenset(added)
            elif not added <= (old := self.channels[pid]):
                self.channels[pid] = old | added
                changed.append((Json(sorted(old | added)), pid))
        bulk.executemany(conn, "UPDATE profiles SET channels = ? WHERE id = ?", changed)


def applied_offset(db: Database) -> int:
    """How much of the log is on profiles: the processor's committed offset."""
    with db.read() as conn:
        return read_offset(conn, CONSUMER)


def _moment(value: Any) -> datetime:
    """A time as the driver gave it (stored text on SQLite) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _library(payload: dict[str, Any]) -> str | None:
    library = (payload.get("context") or {}).get("library")
    return library.get("name") if isinstance(library, dict) else None


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


# A batch allocates some hundred thousand short-lived objects while the caches hold millions of
# long-lived ones; with CPython's default thresholds (700, 10, 10) the collector then runs so often
# that it cost the processor a fifth of its time (bench/processor.py, 0.115 -> 0.147 of raw insert).
GC_THRESHOLDS = (100_000, 50, 1000)


def run_processor(db: Database, stop: threading.Event, idle_sleep_s: float = 0.02, retry_s: float = 1.0) -> None:
    """Keep the profiles caught up with the log until `stop` is set; an event that keeps failing is
    set aside (profiles/poison.py) rather than holding back every event after it."""
    gc.set_threshold(*GC_THRESHOLDS)
    processor = Processor(db)
    failures = Failures(CONSUMER, db.settings.processor_batch_size)
    offset = 0  # read when a batch fails: a database down as this starts must not end the loop
    while not stop.is_set():
        try:
            done = processor.run_once(failures.limit(offset))
            if failures.active:  # only then is the offset read: the usual path costs no query
                offset = applied_offset(db)
                failures.succeeded(offset, done)
        except Exception as exc:  # noqa: BLE001 - a failed batch rolls back and is retried
            log.exception("processor batch failed; retrying")
            try:
                offset = applied_offset(db)
                failures.failed(db, offset, exc)
            except Exception:  # noqa: BLE001 - the database itself is failing: just retry
                log.exception("cannot read the processor's offset")
            stop.wait(retry_s)
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
