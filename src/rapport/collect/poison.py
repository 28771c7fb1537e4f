"""An event a consumer cannot apply must not stop it, nor any other consumer.

A consumer applies the log in order (collect/consumer.py), so one event that makes it fail (a bug
meeting data it did not expect) would hold every later event back for good: for the profile
processor, the profiles, consent recorded in events, and, through backpressure, the latency of
ingest. Instead:

- a failed batch is retried: most failures pass (a lock held too long, a dropped connection);
- when the batch at the same offset has failed `ATTEMPTS` times, for a reason other than the
  database being unavailable, the consumer applies that batch's events one at a time;
- an event that fails alone `ATTEMPTS` times is set aside (at most `MOST_IN_A_ROW` in a row: past
  that the fault is the consumer's, and it only retries): it stays in the log, unchanged, and a
  dead letter with code `unprocessable` names the consumer, the event's offset and the error; that
  consumer passes over it and goes on, and every other consumer applies it as usual. Nothing
  acknowledged is lost, and the dead letter says which event to replay, for which consumer, once
  the cause is fixed: `replay` (`rapport admin replay-unprocessable`) applies it then.

The database being unavailable (`OperationalError` and kin: a lock timeout, a server restarting)
is never the event's fault: such failures are retried without end and set nothing aside.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.jsondoc import dumps_anything
from rapport.collect.service import read_offset, write_offset
from rapport.collect.store import UNPROCESSABLE, dead_letters, events, record_subjects
from rapport.collect.subjects import subject_keys
from rapport.db.engine import Database
from rapport.db.metadata import MAX_ROW_ID
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow

if TYPE_CHECKING:
    from rapport.collect.consumer import ConsumerType

ATTEMPTS = 3
# Set aside this many events in a row, with none applied between them, and the fault is not in the
# events but in the consumer (a bad deploy): it stops setting aside and retries, so the log is not
# turned into dead letters one event at a time while someone fixes it.
MOST_IN_A_ROW = 5
# Failures of the database rather than of the event: retried, never set aside.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError)
log = logging.getLogger("rapport.consumer")


@dataclass
class Failures:
    """Where a consumer keeps failing, and how it is getting past it."""

    consumer: str
    lock: str  # the consumer's write lock: setting an event aside moves its offset
    batch_size: int
    at: int = -1  # the offset the failures happened at
    count: int = 0
    one_by_one_until: int = 0  # the last offset of the batch that failed: until past it, one event per batch
    in_a_row: int = 0  # events set aside since an event was last applied

    @property
    def active(self) -> bool:
        """Whether the consumer is failing, or isolating the event that failed."""
        return self.at >= 0 or self.one_by_one_until > 0

    def limit(self, offset: int) -> int | None:
        """The batch size to use next: one event while isolating the event that fails, else the default."""
        return 1 if offset < self.one_by_one_until else None

    def succeeded(self, offset: int, applied: int) -> None:
        self.at, self.count = -1, 0
        if offset >= self.one_by_one_until:
            self.one_by_one_until = 0
        if applied:
            self.in_a_row = 0

    def failed(self, db: Database, offset: int, exc: Exception) -> None:
        """Count a failure at `offset`; isolate, or set an event aside, when it keeps failing there."""
        if isinstance(exc, UNAVAILABLE):
            return
        self.count = self.count + 1 if offset == self.at else 1
        self.at = offset
        if self.count < ATTEMPTS:
            return
        self.count = 0
        if offset < self.one_by_one_until:  # the one event after `offset` failed alone, again and again
            if self.in_a_row >= MOST_IN_A_ROW:
                log.critical(
                    "the %s consumer fails on every event (%r); retrying, setting no more aside", self.consumer, exc
                )
                return
            set_aside(db, self.consumer, self.lock, offset, exc)
            self.in_a_row += 1
        else:
            self.one_by_one_until = _batch_end(db, offset, self.batch_size)
            log.error(
                "the %s consumer keeps failing after offset %s; applying events one at a time", self.consumer, offset
            )


def _batch_end(db: Database, offset: int, size: int) -> int:
    with db.read() as conn:
        batch = sa.select(events.c.id).where(events.c.id > offset).order_by(events.c.id).limit(size).subquery()
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(batch.c.id), offset))).scalar_one())


def set_aside(db: Database, consumer: str, lock: str, offset: int, exc: Exception) -> None:
    """Record the event after `offset` as unprocessable by `consumer` and move it past the event, at once."""
    with db.write(lock=lock) as conn:
        if read_offset(conn, consumer) != offset:
            return  # it moved meanwhile: nothing to set aside
        row = conn.execute(
            sa.select(events.c.id, events.c.source_id, events.c.payload)
            .where(events.c.id > offset)
            .order_by(events.c.id)
            .limit(1)
        ).first()
        if row is None:
            return
        reason = f"the {consumer} consumer could not apply event {row.id} (left in the log, passed over): {exc!r}"
        payload = dumps_anything(row.payload)
        letter_id = conn.execute(
            dead_letters.insert().values(
                source_id=row.source_id,
                received_at=utcnow(),
                code=UNPROCESSABLE,
                reason=reason[:2000],
                payload=payload,
                event_id=row.id,
                consumer=consumer,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        record_subjects(conn, [(letter_id, subject_keys(payload))])
        write_offset(conn, consumer, row.id)
    log.error("the %s consumer set event %s aside as unprocessable: %r", consumer, row.id, exc)


@dataclass
class Replayed:
    applied: list[tuple[int, str]]  # (event id, consumer)
    failed: list[tuple[int, str, str]]  # (event id, consumer, the error): still set aside


def replay(db: Database, consumers: Sequence[ConsumerType], actor: str, only: list[int] | None = None) -> Replayed:
    """Apply the events these consumers set aside (those of `only`, else all), one at a time, each in
    one transaction with the removal of its dead letter and an audit row; one that fails again stays
    set aside. Applied out of log order (the profile processor's traits still keep the newest value
    by time)."""
    kinds = {kind.name: kind for kind in consumers}
    query = sa.select(dead_letters.c.id, dead_letters.c.event_id, dead_letters.c.consumer).where(
        dead_letters.c.code == UNPROCESSABLE,
        dead_letters.c.event_id.is_not(None),
        dead_letters.c.consumer.in_(sorted(kinds)),
    )
    if only is not None:  # an id no column holds names no event (PostgreSQL would refuse to compare it)
        query = query.where(dead_letters.c.event_id.in_([i for i in only if 0 < i <= MAX_ROW_ID]))
    with db.read() as conn:
        letters = conn.execute(query.order_by(dead_letters.c.event_id, dead_letters.c.id)).all()
    done = Replayed([], [])
    for letter_id, event_id, name in letters:

        def settle(conn: Connection, letter_id: int = letter_id, event_id: int = event_id, name: str = name) -> None:
            if not conn.execute(dead_letters.delete().where(dead_letters.c.id == letter_id)).rowcount:
                raise RuntimeError("replayed meanwhile by someone else")  # rolls this replay back
            record_audit(conn, actor=actor, channel="cli", action="event.replayed", event_id=event_id, consumer=name)

        try:
            if kinds[name](db).apply_again([event_id], settle):
                done.applied.append((event_id, name))
            else:
                done.failed.append((event_id, name, "the event is no longer in the log (erased?)"))
        except Exception as exc:  # noqa: BLE001 - reported; the event stays set aside
            done.failed.append((event_id, name, repr(exc)))
    return done
