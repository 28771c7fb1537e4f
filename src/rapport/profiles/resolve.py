"""Resolving a batch of the log into the identity graph and profiles, in memory, then writing it.

`Resolver.resolve` places every event of a batch on a profile (a new one, identifiers attached,
other profiles absorbed), gathers the newest value of each trait and the consent events state,
all in memory over the graph cache; `Resolver.flush` writes the outcome in bulk. The profile
processor (profiles/processor.py) runs the first in the read transaction and the second in its
short write transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.consumer import moment_of
from rapport.collect.importer import IMPORT_LIBRARY
from rapport.collect.internal import profile_hint
from rapport.collect.model import INTERNAL_CHANNEL, SERVER
from rapport.collect.store import sources
from rapport.consent.model import (
    ANY,
    CONSENT_EVENT,
    CONTEXT_CONSENT_KEYS,
    PENDING,
    ConsentRecord,
    as_claim,
    consent_from_message,
    may_state_consent,
)
from rapport.consent.service import append_consent
from rapport.consent.store import consent_records
from rapport.db import bulk
from rapport.db.bulk import Json
from rapport.identity.graph import CachedGraph
from rapport.identity.model import (
    ASSERTED,
    CONTEXT_IDENTIFIER_KEYS,
    Identifier,
    IdentityRules,
    alias_candidates,
    extract_identifiers,
    extract_traits,
    id_pair,
    normalize_email,
    previous_identifier,
    resolve,
)
from rapport.identity.store import set_channels, write_graph
from rapport.kernel.clock import utcnow
from rapport.profiles.store import write_timeline

Pair = tuple[str | None, str | None]  # a message's (userId, anonymousId)


@dataclass
class Batch:
    """Everything one batch will write, gathered in memory and flushed in bulk."""

    new_profiles: list[str] = field(default_factory=list)
    new_identifiers: list[tuple[Any, ...]] = field(default_factory=list)
    verified: list[tuple[str, Any, str]] = field(default_factory=list)  # (by, at, key) asserted by a server source
    merges: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[tuple[str, Any, int]] = field(default_factory=list)  # (profile, time, event)
    traits: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    consents: list[tuple[str, ConsentRecord, str]] = field(default_factory=list)  # profile, record, channel
    channels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # profile -> its events' channels
    # (profile, address or None: the profile's own) to ask to confirm a grant at
    confirmations: set[tuple[str, str | None]] = field(default_factory=set)


# Text in a stored payload (orjson writes keys as is: no escapes, no spaces) that may carry
# identifiers, traits (`traits` again) or consent; a message with none of it holds nothing for the
# processor but its two ids.
_MORE_THAN_IDS = (*(f'"{key}":' for key in (*CONTEXT_IDENTIFIER_KEYS, *CONTEXT_CONSENT_KEYS)), CONSENT_EVENT)


def _ids_only(kind: str, text: str) -> bool:
    """Surely nothing in this stored message but its type and its two ids matters to the processor.
    A cheap test on the text: a false "no" costs a decode, never a wrong profile."""
    return kind not in ("identify", "alias") and not any(key in text for key in _MORE_THAN_IDS)


class Resolver:
    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self.graph = CachedGraph(rules.limits)
        # Channels of the profiles this processor has written: it is their only writer, so once read
        # they never need reading again (an undo or erasure bumps the graph version, which clears this).
        self.channels: dict[str, frozenset[str]] = {}
        # id -> (channel, name, whether it asserts); a changed trust level bumps the graph version
        self._sources: dict[int, tuple[str, str, bool]] = {}

    def forget(self, version: int = -1) -> None:
        self.graph.clear()
        self.graph.version = version
        self.channels.clear()
        self._sources.clear()

    def _source(self, conn: Connection, source_id: int) -> tuple[str, str, bool]:
        if source_id not in self._sources:
            rows = conn.execute(sa.select(sources.c.id, sources.c.channel, sources.c.name, sources.c.trust))
            self._sources.update({r.id: (r.channel, r.name, r.trust == SERVER) for r in rows})
        return self._sources.get(source_id, ("other", "unknown", False))

    def resolve(self, conn: Connection, rows: Sequence[Any]) -> Batch:
        """Place every event of the batch on a profile, in memory: the graph cache and a `Batch`."""
        settled = self.graph.settled
        payloads, pairs = self._decode(conn, rows)
        hinted = self._hinted(conn, rows, payloads)
        found: list[list[Identifier] | None] = []
        by_pair: dict[Pair, list[Identifier]] = {}  # equal pairs extract equally
        for row, p, pair in zip(rows, payloads, pairs, strict=True):
            if p is None:  # placed by its pair, settled already
                found.append(None)
            elif pair is None:
                found.append(extract_identifiers(p, self.rules))
            elif self._placed(conn, pair, row[1]):
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
        batch = Batch()
        now = utcnow()
        stamp = bulk.stored(conn, now)
        # Rows are unpacked as tuples: a Row's attribute access costs a microsecond, five times an event.
        for n, ((event_id, source_id, timestamp, _, message_id, kind, *_), payload, ids) in enumerate(
            zip(rows, payloads, found, strict=True)
        ):
            pair = pairs[n]
            channel, source_name, asserted = self._source(conn, source_id)
            if hinted and n in hinted:  # an internal source named the profile: placed there, ids unread
                if (profile_id := hinted[n]) is None:
                    continue  # that profile was erased since: the event is on none
            elif ids is None or self._placed(conn, pair, source_id):  # settled before or earlier in this batch
                profile_id = settled[pair]  # type: ignore[index]
            else:
                if n in aliases:  # decided now, so an id taken earlier in this batch counts
                    ids = sorted({*ids, *previous_identifier(aliases[n], self.graph)}, key=lambda i: (i.rank, i.value))
                said = Said(source_id, source_name, asserted)
                profile_id, is_settled = self._place(event_id, message_id, kind, ids, batch, now, stamp, said)
                if is_settled and pair is not None:
                    settled[pair] = profile_id
                    if asserted:  # every identifier of the pair is asserted now
                        self.graph.asserted_pairs.add(pair)
            batch.assignments.append((profile_id, timestamp, event_id))
            if channel != INTERNAL_CHANNEL:  # what a context recorded is no channel the person used
                batch.channels[profile_id].add(channel)
            if payload is None:  # its two ids were all it held
                continue
            traits = extract_traits(payload)
            if may_state_consent(payload):
                via = _via(payload, channel)
                claimed = normalize_email(traits.get("email"))
                for record in consent_from_message(payload, channel, moment_of(timestamp), f"{via}:{source_name}"):
                    if not asserted:
                        record = as_claim(record, claimed)
                    if record.status == PENDING and record.channel in ("email", ANY):  # ask at the address
                        address = normalize_email(record.contact_point)
                        record = replace(record, contact_point=address or record.contact_point)
                        batch.confirmations.add((profile_id, address))
                    batch.consents.append((profile_id, record, channel))
            for key, value in traits.items():
                current = batch.traits.get((profile_id, key))
                if current is None or _newer_trait(asserted, timestamp, current[6], current[4]):
                    trait = (profile_id, key, Json(value), source_id, timestamp, event_id, asserted)
                    batch.traits[(profile_id, key)] = trait
        fresh = set(batch.new_profiles)
        self._load_channels(conn, {p for p in batch.channels if p not in fresh and p not in self.channels})
        return batch

    def _placed(self, conn: Connection, pair: Pair | None, source_id: int) -> bool:
        """Whether an event with this pair goes where the pair's events went without being resolved:
        the pair is settled, and either its source only claims (nothing to upgrade) or the pair's
        identifiers are asserted already."""
        if pair is None or pair not in self.graph.settled:
            return False
        return pair in self.graph.asserted_pairs or not self._source(conn, source_id)[2]

    def _decode(self, conn: Connection, rows: Sequence[Any]) -> tuple[list[dict[str, Any] | None], list[Pair | None]]:
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
                if pair in settled and _ids_only(row[5], payload) and self._placed(conn, pair, row[1]):
                    payloads.append(None)
                    pairs.append(pair)
                    continue
                payload = loads(payload)
            payloads.append(payload)
            pairs.append(id_pair(payload))
        return payloads, pairs

    def _hinted(
        self, conn: Connection, rows: Sequence[Any], payloads: list[dict[str, Any] | None]
    ) -> dict[int, str | None]:
        """The events of internal sources that name their profile (`context.rapport.profileId`), by
        position: that profile, or None where it no longer exists. From any other source the name is
        a client's claim and means nothing. Batches without internal events pay one set of source ids."""
        internal = {s for s in {row[1] for row in rows} if self._source(conn, s)[0] == INTERNAL_CHANNEL}
        if not internal:
            return {}
        named = {n: pid for n, row in enumerate(rows) if row[1] in internal and (pid := profile_hint(payloads[n]))}
        wanted = sorted(set(named.values()))
        existing: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            sql = f"SELECT id FROM profiles WHERE id IN ({','.join('?' * len(chunk))})"
            existing.update(pid for (pid,) in bulk.query(conn, sql, chunk))
        return {n: pid if pid in existing else None for n, pid in named.items()}

    def _load_channels(self, conn: Connection, profile_ids: set[str]) -> None:
        ids = sorted(profile_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            sql = f"SELECT id, channels FROM profiles WHERE id IN ({','.join('?' * len(chunk))})"
            for pid, channels in bulk.query(conn, sql, chunk):
                decoded = orjson.loads(channels) if isinstance(channels, str | bytes) else channels
                self.channels[pid] = frozenset(decoded or ())

    def _new_profile(self, batch: Batch) -> str:
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
        batch: Batch,
        now: datetime,
        stamp: Any,
        said: Said,
    ) -> tuple[str, bool]:
        """Resolve one event and apply the outcome to the graph. Answers the profile that takes the
        event, and whether its identifiers are now settled: every one of them in that profile's group,
        none left out by a limit, so a message with the same identifiers would land on the same
        profile without changing anything.

        Each new identifier records the source that stated it, and is asserted when that source is a
        server source; a server source restating a claimed identifier of the group asserts it."""
        result = resolve(ids, self.graph, self.rules, asserted=said.asserted)
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
        verification, by = (ASSERTED, f"source:{said.name}") if said.asserted else (None, None)
        for ident in result.attach:
            self.graph.attach(ident, target, verification)
            batch.new_identifiers.append(
                (
                    ident.key,
                    ident.type,
                    ident.value,
                    target,
                    event_id,
                    stamp,
                    said.source_id,
                    verification,
                    stamp if verification else None,
                    by,
                )
            )
        if said.asserted:
            group = self.graph.canonical(target)
            for ident in ids:
                known = ident not in result.attach and ident not in result.conflicts
                if known and self.graph.verification(ident.key) != ASSERTED:
                    origin = self.graph.origin(ident.key)
                    if origin is not None and self.graph.canonical(origin) == group:
                        self.graph.verify(ident.key, origin, ASSERTED)
                        batch.verified.append((f"source:{said.name}", stamp, ident.key))
        settled = result.anchor is not None and not result.conflicts
        if result.anchor is None or result.anchor in result.attach:
            return target, settled
        return self.graph.origin(result.anchor.key) or target, settled

    def flush(self, conn: Connection, batch: Batch) -> None:
        """Write the batch in bulk, in the caller's transaction."""
        now = utcnow()
        fresh = set(batch.new_profiles)
        new_profiles = [(p, p, now, Json(sorted(batch.channels[p]))) for p in batch.new_profiles]
        write_graph(conn, new_profiles, batch.new_identifiers, batch.merges, batch.verified)
        write_timeline(conn, batch.assignments, [batch.traits[k] for k in sorted(batch.traits)])
        self._update_channels(conn, batch, fresh)
        _append_consents(conn, batch.consents)

    def _update_channels(self, conn: Connection, batch: Batch, fresh: set[str]) -> None:
        """A profile's row changes only when it is first seen on another channel (its counts and
        times are read from the timeline, so a batch writes nothing else to it)."""
        changed = []
        for pid, added in batch.channels.items():
            if pid in fresh:  # inserted with its channels
                self.channels[pid] = frozenset(added)
            elif not added <= (old := self.channels[pid]):
                self.channels[pid] = old | added
                changed.append((Json(sorted(old | added)), pid))
        set_channels(conn, changed)


@dataclass(frozen=True, slots=True)
class Said:
    """Who stated an event: its source, and whether that source asserts (server trust) or claims."""

    source_id: int
    name: str
    asserted: bool


def _newer_trait(asserted: bool, at: Any, current_asserted: bool, current_at: Any) -> bool:
    """Whether a trait value replaces the current one: an assertion replaces a claim; otherwise the
    newer value wins, except that a claim never replaces what a server source asserted. The same
    rule as the upsert of profiles/store.py write_timeline."""
    if asserted != current_asserted:
        return asserted
    return bool(current_at <= at)


def _via(payload: dict[str, Any], channel: str) -> str:
    """How consent stated in an event reached us, for the ledger."""
    if channel == INTERNAL_CHANNEL:
        return "internal"
    library = (payload.get("context") or {}).get("library")
    return "import" if isinstance(library, dict) and library.get("name") == IMPORT_LIBRARY else "tracking"


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
