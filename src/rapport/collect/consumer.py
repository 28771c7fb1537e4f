"""Named consumers of the event log: how a context reacts, in order, to what happens.

Contexts meet on the log, not in each other's tables. A context that reacts to events subclasses
`Consumer` and is listed in its context's entry in `rapport/contexts.py`; every consumer then gets what the profile
processor was built with:

- it reads the log in offset order from its own offset (`log_offsets`, under its `name`);
- a batch is read and prepared in a read transaction, then applied in one write transaction under
  the consumer's `lock` that also moves its offset, so a crash at any point replays whole batches
  and never applies an event twice; should the offset, or the `state` the batch was prepared
  against, have moved meanwhile, the batch is dropped and read again;
- a batch that keeps failing is applied one event at a time, and an event that keeps failing is
  set aside for this consumer alone (collect/poison.py): one bad event never stops a consumer;
- its lag is in `/metrics` (collect/metrics.py); `rapport admin replay-unprocessable --consumer`
  applies what it set aside once the cause is fixed.

The loop here runs one consumer; `rapport serve` runs every consumer in one child process, one
thread each (collect/supervisor.py), or in the server's threads (`RAPPORT_PROCESSOR=thread`), and
the contexts' workers (loops that read no log, such as the outbox's) beside them.
"""

from __future__ import annotations

import gc
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

import orjson
from sqlalchemy.engine import Connection

from rapport.collect.poison import Failures
from rapport.collect.service import read_offset, write_offset
from rapport.db import bulk
from rapport.db.engine import Database

# The columns of each event a consumer is handed, in this order, straight from the driver: on
# SQLite `timestamp` is its stored text and `payload` JSON text (use `payload_of` and `moment_of`);
# the profile processor indexes rows by position, as a Row's attribute access costs a microsecond.
EVENT_COLUMNS = "id, source_id, timestamp, payload, message_id, type, user_id, anonymous_id"
_AFTER = f"SELECT {EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?"
Events = Sequence[Any]  # rows of EVENT_COLUMNS, in offset order
Prepared = TypeVar("Prepared")
log = logging.getLogger("rapport.consumer")


class Consumer(ABC, Generic[Prepared]):
    """One context's reader of the log. Most only name themselves and implement `apply`:

        class Journeys(Consumer[Events]):
            name = "journeys"

            def apply(self, conn: Connection, events: Events) -> None:
                ...  # write what the events change, in this transaction

    A consumer that needs long reads keeps them out of the write transaction: `prepare` runs in the
    read transaction (it answers what `apply` will write), and `state` names what that reading
    depended on besides the log; if it changed before the write, the batch is prepared again.
    """

    name: ClassVar[str]  # its row in log_offsets and on its dead letters; never rename one
    lock: ClassVar[str | None] = None  # the advisory lock its writes take; default: one of its own
    batch_size: ClassVar[int | None] = None  # default: RAPPORT_PROCESSOR_BATCH_SIZE

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def write_lock(self) -> str:
        """Also what keeps two runners of one consumer from applying a batch twice on PostgreSQL."""
        return self.lock or f"rapport:consumer:{self.name}"

    def state(self, conn: Connection) -> object:
        """What `prepare` read besides the log, checked again in the write transaction."""
        return None

    def prepare(self, conn: Connection, events: Events, state: object) -> Prepared:
        """In the read transaction: what `apply` will write. By default the events themselves."""
        return cast(Prepared, events)

    @abstractmethod
    def apply(self, conn: Connection, prepared: Prepared) -> None:
        """In the write transaction, under `lock`, before the offset moves past the batch."""

    def forget(self) -> None:
        """Drop what is cached: the transaction that would have made it true rolled back."""

    def replayed(self, conn: Connection) -> None:
        """After events were applied again out of log order (collect/poison.py), in that transaction."""

    def run_once(self, limit: int | None = None) -> int:
        """Apply the next batch after this consumer's offset; answer how many events it held (0 when
        there were none, or when the offset or `state` moved meanwhile: the next call reads afresh)."""
        limit = limit or self.batch_size or self.db.settings.processor_batch_size
        with self.db.read() as conn:
            offset = read_offset(conn, self.name)
            state = self.state(conn)
            rows = bulk.query(conn, _AFTER, (offset, limit))
            if not rows:
                return 0
            prepared = self._prepare(conn, rows, state)
        try:
            with self.db.write(lock=self.write_lock) as conn:
                if read_offset(conn, self.name) != offset or self.state(conn) != state:
                    self.forget()  # someone else moved first
                    return 0
                self.apply(conn, prepared)
                write_offset(conn, self.name, rows[-1][0])
        except Exception:
            self.forget()  # the transaction rolled back; so must the caches
            raise
        return len(rows)

    def run_until_caught_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def apply_again(self, event_ids: Sequence[int], in_same_transaction: Callable[[Connection], None]) -> int:
        """Apply these events now, out of log order and without moving the offset: how events this
        consumer set aside are replayed. `in_same_transaction` runs after the writes, before the
        commit; raising there undoes them."""
        with self.db.read() as conn:
            state = self.state(conn)
            self.forget()
            marks = ",".join("?" * len(event_ids))
            sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({marks}) ORDER BY id"
            rows = bulk.query(conn, sql, list(event_ids))
            if not rows:
                return 0
            prepared = self._prepare(conn, rows, state)
        try:
            with self.db.write(lock=self.write_lock) as conn:
                if self.state(conn) != state:
                    raise RuntimeError(f"what the {self.name} consumer read changed meanwhile; replay again")
                self.apply(conn, prepared)
                self.replayed(conn)
                in_same_transaction(conn)
        finally:
            self.forget()
        return len(rows)

    def _prepare(self, conn: Connection, rows: Events, state: object) -> Prepared:
        try:
            return self.prepare(conn, rows, state)
        except Exception:
            self.forget()
            raise


def payload_of(event: Any) -> dict[str, Any]:
    """An event's message as a dict, whichever driver read it."""
    payload = event[3]
    return cast(dict[str, Any], orjson.loads(payload) if isinstance(payload, str | bytes) else payload)


def moment_of(value: Any) -> datetime:
    """A time as the driver gave it (stored text on SQLite) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def consumer_offset(db: Database, name: str) -> int:
    """How much of the log the consumer has applied: its committed offset."""
    with db.read() as conn:
        return read_offset(conn, name)


# A batch allocates some hundred thousand short-lived objects while the caches hold millions of
# long-lived ones; with CPython's default thresholds (700, 10, 10) the collector then runs so often
# that it cost the processor a fifth of its time (bench/processor.py, 0.115 -> 0.147 of raw insert).
GC_THRESHOLDS = (100_000, 50, 1000)


def run_consumer(
    consumer: Consumer[Any], stop: threading.Event, idle_sleep_s: float = 0.02, retry_s: float = 1.0
) -> None:
    """Keep the consumer caught up with the log until `stop` is set; an event that keeps failing is
    set aside (collect/poison.py) rather than holding back every event after it."""
    gc.set_threshold(*GC_THRESHOLDS)
    db, name = consumer.db, consumer.name
    failures = Failures(name, consumer.write_lock, consumer.batch_size or db.settings.processor_batch_size)
    offset = 0  # read when a batch fails: a database down as this starts must not end the loop
    while not stop.is_set():
        try:
            done = consumer.run_once(failures.limit(offset))
            if failures.active:  # only then is the offset read: the usual path costs no query
                offset = consumer_offset(db, name)
                failures.succeeded(offset, done)
        except Exception as exc:  # noqa: BLE001 - a failed batch rolls back and is retried
            log.exception("the %s consumer's batch failed; retrying", name)
            try:
                offset = consumer_offset(db, name)
                failures.failed(db, offset, exc)
            except Exception:  # noqa: BLE001 - the database itself is failing: just retry
                log.exception("cannot read the %s consumer's offset", name)
            stop.wait(retry_s)
            continue
        if not done:
            stop.wait(idle_sleep_s)


ConsumerType = type[Consumer[Any]]
# A loop that reads no log but runs where the consumers run, one per deployment, until the event is
# set: a context's background work (outbound's outbox worker). A module-level function, so that the
# consumers' child process, which is spawned, can import it by name.
Worker = Callable[[Database, threading.Event], None]


def start_consumers(
    db: Database, consumers: Sequence[ConsumerType], stop: threading.Event, workers: Sequence[Worker] = ()
) -> list[threading.Thread]:
    """Each consumer in a thread of its own, and each worker, until `stop` is set."""
    threads = [
        threading.Thread(target=run_consumer, args=(kind(db), stop), name=f"rapport-consumer-{kind.name}", daemon=True)
        for kind in consumers
    ] + [
        threading.Thread(target=work, args=(db, stop), name=f"rapport-worker-{work.__name__}", daemon=True)
        for work in workers
    ]
    for thread in threads:
        thread.start()
    return threads
