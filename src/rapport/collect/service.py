"""Write path of collection: sources, accepting messages into the log, offsets of consumers."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect import model
from rapport.collect.store import dead_letters, events, log_offsets, sources
from rapport.db.engine import Database
from rapport.db.metadata import MAX_INT_ID
from rapport.identity.graph import bump_version
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    channel: str
    write_key: str
    max_message_bytes: int
    max_batch_bytes: int
    rate_limit_per_s: int
    created_at: datetime
    trust: str = model.SERVER


class SourceError(Invalid):
    """A source that cannot be made or changed as asked."""

    def __init__(self, message: str, code: str = "invalid_source") -> None:
        super().__init__(code, message)


class UnknownSource(SourceError):
    kind = "not_found"

    def __init__(self, message: str) -> None:
        super().__init__(message, "unknown_source")


NAME_LENGTH = sources.c.name.type.length  # type: ignore[attr-defined]

# Enabled, and not one through which Rapport's contexts record events (collect/internal.py): those
# have no usable write key, and are never listed, rotated or disabled as a client's.
_CLIENT_SOURCE = sa.and_(sources.c.disabled_at.is_(None), sources.c.channel != model.INTERNAL_CHANNEL)


def create_source(
    db: Database,
    name: str,
    channel: str,
    *,
    max_message_bytes: int = model.DEFAULT_MAX_MESSAGE_BYTES,
    max_batch_bytes: int = model.DEFAULT_MAX_BATCH_BYTES,
    rate_limit_per_s: int = 100_000,
    trust: str | None = None,
    actor: str = "system",
    via: str = "cli",
) -> Source:
    """A new source with a fresh write key, audited with who made it. Its trust level is the
    channel's (`model.default_trust`) unless given."""
    name = name.strip()
    if not name:
        raise SourceError("a source needs a name")
    if len(name) > NAME_LENGTH:
        raise SourceError(f"a source's name is at most {NAME_LENGTH} characters")
    if name.startswith(model.INTERNAL_PREFIX):
        raise SourceError(f"names starting with {model.INTERNAL_PREFIX!r} are Rapport's own (collect/internal.py)")
    if channel not in model.CHANNELS:
        raise SourceError(f"channel must be one of {', '.join(model.CHANNELS)}")
    if not 0 < max_message_bytes <= max_batch_bytes <= model.LARGEST_BATCH_BYTES:
        raise SourceError(f"limits must satisfy 0 < message <= batch <= {model.LARGEST_BATCH_BYTES} bytes")
    if rate_limit_per_s <= 0:
        raise SourceError("the rate limit must be positive")
    trust = trust or model.default_trust(channel)
    if trust not in model.TRUST_LEVELS:
        raise SourceError(f"trust must be one of {', '.join(model.TRUST_LEVELS)}", "invalid_trust")
    row = {
        "name": name,
        "channel": channel,
        "write_key": secrets.token_urlsafe(24),
        "max_message_bytes": max_message_bytes,
        "max_batch_bytes": max_batch_bytes,
        "rate_limit_per_s": rate_limit_per_s,
        "created_at": utcnow(),
        "trust": trust,
    }
    with db.write() as conn:
        if conn.execute(sa.select(sources.c.id).where(sources.c.name == name)).first():
            raise SourceError(f"a source named {name!r} already exists", "source_exists")
        source_id = conn.execute(sources.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
        record_audit(
            conn, actor=actor, channel=via, action="source.created", source_id=source_id, name=name, trust=trust
        )
    return Source(id=source_id, **row)  # type: ignore[arg-type]


def _change_source(
    db: Database, name: str, actor: str, action: str, channel: str, detail: dict[str, Any] | None = None, **values: Any
) -> Source:
    """Update an enabled source by name, audited; raises SourceError for an unknown one."""
    if len(name) > NAME_LENGTH:  # PostgreSQL would refuse to compare it
        raise UnknownSource(f"no enabled source is named {name[:40]!r}...")
    with db.write() as conn:
        row = conn.execute(sa.select(sources).where(sources.c.name == name, _CLIENT_SOURCE)).first()
        if row is None:
            raise UnknownSource(f"no enabled source is named {name!r}")
        conn.execute(sources.update().where(sources.c.id == row.id).values(**values))
        record_audit(conn, actor=actor, channel=channel, action=action, source_id=row.id, name=name, **(detail or {}))
        if "trust" in values:
            bump_version(conn)  # the profile processor reads trust levels once per graph version
        return _source(conn.execute(sa.select(sources).where(sources.c.id == row.id)).one())


def rotate_write_key(db: Database, name: str, actor: str, channel: str = "cli") -> Source:
    """A new write key for the source; the old one is refused from now on (by a running server
    within `SourceDirectory.ttl_s`). Clients still sending the old key get 401, which SDKs do not
    retry: deploy the new key to them first where losing events matters."""
    return _change_source(db, name, actor, "source.key_rotated", channel, write_key=secrets.token_urlsafe(24))


def set_source_trust(db: Database, name: str, trust: str, actor: str, channel: str = "cli") -> Source:
    """Change how far the source is believed from its next event on; what it stated before keeps the
    provenance it was recorded with (re-verify an identifier on the Customer 360 if need be)."""
    if trust not in model.TRUST_LEVELS:
        raise SourceError(f"trust must be one of {', '.join(model.TRUST_LEVELS)}", "invalid_trust")
    return _change_source(db, name, actor, "source.trust_changed", channel, {"trust": trust}, trust=trust)


def disable_source(db: Database, name: str, actor: str, channel: str = "cli") -> Source:
    """Refuse the source's write key from now on; what it sent before stays in the log and on profiles."""
    return _change_source(db, name, actor, "source.disabled", channel, disabled_at=utcnow())


def list_sources(conn: Connection) -> list[Source]:
    rows = conn.execute(sa.select(sources).where(_CLIENT_SOURCE).order_by(sources.c.id))
    return [_source(r) for r in rows]


def _source(row: sa.Row[Any]) -> Source:
    return Source(**{k: v for k, v in row._mapping.items() if k != "disabled_at"})


def disabled_source_name(conn: Connection, source_id: int) -> str | None:
    """The name of the source with this id if it is disabled, else None."""
    if not 0 < source_id <= MAX_INT_ID:  # PostgreSQL would refuse to compare it
        return None
    query = sa.select(sources.c.name).where(sources.c.id == source_id, sources.c.disabled_at.is_not(None))
    return conn.execute(query).scalar()


def source_by_name(conn: Connection, name: str) -> Source | None:
    return next((s for s in list_sources(conn) if s.name == name), None)


class SourceDirectory:
    """Write key to source, remembered for a few seconds so most requests cost no query.

    An unknown key is looked up every time (one indexed query): a source created a moment ago
    must be accepted at once, since SDKs never retry a 401.
    """

    def __init__(self, db: Database, ttl_s: float = 5.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[Source, float]] = {}
        self._lock = threading.Lock()

    def by_key(self, key: str) -> Source | None:
        now = time.monotonic()
        with self._lock:
            hit = self._known.get(key)
        if hit and now - hit[1] < self.ttl_s:
            return hit[0]
        with self.db.read() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.write_key == key, _CLIENT_SOURCE)).first()
        source = _source(row) if row else None
        with self._lock:
            if source:
                self._known[key] = (source, now)
            else:
                self._known.pop(key, None)
        return source

    def forget(self, source_id: int) -> None:
        """Drop what is remembered of a source, so a key rotated or disabled through this server is
        refused by it at once (other servers within `ttl_s`)."""
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if v[0].id != source_id}


class RateLimiter:
    """A token bucket per source, refilled at its messages-per-second limit, one second of burst."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, source: Source, cost: int) -> float:
        """Take `cost` tokens; answer 0 when allowed, else the seconds to wait before retrying."""
        rate = float(source.rate_limit_per_s)
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(source.id, (rate, now))
            tokens = min(rate, tokens + (now - stamp) * rate)
            if cost <= tokens or (cost > rate and tokens >= rate):
                self._buckets[source.id] = (tokens - cost, now)
                return 0.0
            self._buckets[source.id] = (tokens, now)
            return (cost - tokens) / rate


def read_offset(conn: Connection, consumer: str) -> int:
    value = conn.execute(sa.select(log_offsets.c.offset).where(log_offsets.c.consumer == consumer)).scalar()
    return int(value or 0)


def write_offset(conn: Connection, consumer: str, offset: int) -> None:
    updated = conn.execute(
        log_offsets.update().where(log_offsets.c.consumer == consumer).values(offset=offset)
    ).rowcount
    if not updated:
        conn.execute(log_offsets.insert().values(consumer=consumer, offset=offset))


def log_head(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar_one())


def list_dead_letters(conn: Connection, limit: int = 100, before: int | None = None) -> list[dict[str, object]]:
    query = (
        sa.select(dead_letters, sources.c.name.label("source"))
        .select_from(dead_letters.outerjoin(sources, sources.c.id == dead_letters.c.source_id))
        .order_by(dead_letters.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    return [dict(r._mapping) for r in conn.execute(query)]
