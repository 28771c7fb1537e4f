"""Metrics in Prometheus's text format: is collection keeping up, and what does it take and refuse.

Two kinds. Counters of this server process, kept as requests are answered: messages stored, found
to be duplicates, rejected, per source. And gauges read from the database at each scrape, so they
are true whichever process wrote (an import, another server): the log's head; each consumer's
offset, and how far and how long it is behind; the dead letters kept, and among them the events
consumers set aside. The profile processor's lag is also given under its older names
(`rapport_processor_*`), which dashboards and the README's alerts use. Each scrape costs two
indexed lookups per consumer and a count of the dead letters (a scan of that table, which stays
small unless a client keeps sending what the spec refuses).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection

from rapport.collect.service import log_head, read_offset
from rapport.collect.store import UNPROCESSABLE, dead_letters, events
from rapport.db.engine import Database


class PipelineCollector(Collector):
    """Gauges of the event log and its consumers, read at scrape time."""

    def __init__(self, db: Database, consumers: Sequence[str], processor: str | None = None) -> None:
        self.db = db
        self.consumers = tuple(consumers)  # names in log_offsets
        self.processor = processor  # the one whose lag is also reported as rapport_processor_*

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        with self.db.read() as conn:
            head = log_head(conn)
            lags = {name: _lag(conn, name, head, now) for name in self.consumers}
            letters, unprocessable = conn.execute(
                sa.select(sa.func.count(), sa.func.count().filter(dead_letters.c.code == UNPROCESSABLE))
            ).one()
            set_aside: dict[str, int] = {
                consumer: count
                for consumer, count in conn.execute(
                    sa.select(dead_letters.c.consumer, sa.func.count())
                    .where(dead_letters.c.code == UNPROCESSABLE)
                    .group_by(dead_letters.c.consumer)
                )
            }
        yield GaugeMetricFamily("rapport_log_offset", "Offset of the newest event in the log.", value=head)
        yield from _per_consumer(lags, set_aside)
        if self.processor in lags:
            done, behind, behind_s = lags[self.processor]
            for name, doc, value in (
                ("rapport_processor_offset", "Offset of the newest event on profiles.", done),
                ("rapport_processor_lag_events", "Events in the log not yet on profiles.", behind),
                (
                    "rapport_processor_lag_seconds",
                    "Age of the oldest event not yet on profiles; 0 when caught up.",
                    behind_s,
                ),
            ):
                yield GaugeMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily("rapport_dead_letters", "Rejected messages kept with their reason.", value=letters)
        yield GaugeMetricFamily(
            "rapport_unprocessable_events",
            "Events a consumer set aside after failing on them: in the log, passed over by that consumer.",
            value=unprocessable,
        )


def _lag(conn: Connection, consumer: str, head: int, now: datetime) -> tuple[int, int, float]:
    """The consumer's offset, how many events it is behind, and the age of the oldest of them."""
    done = read_offset(conn, consumer)
    oldest = conn.execute(
        sa.select(events.c.received_at).where(events.c.id > done).order_by(events.c.id).limit(1)
    ).scalar()
    behind_s = (now - oldest).total_seconds() if oldest is not None else 0.0
    return done, max(0, head - done), max(0.0, behind_s)


def _per_consumer(lags: dict[str, tuple[int, int, float]], set_aside: dict[str, int]) -> Iterator[Metric]:
    families = (
        GaugeMetricFamily(
            "rapport_consumer_offset", "Offset of the newest event the consumer applied.", labels=["consumer"]
        ),
        GaugeMetricFamily(
            "rapport_consumer_lag_events", "Events in the log the consumer has not applied.", labels=["consumer"]
        ),
        GaugeMetricFamily(
            "rapport_consumer_lag_seconds",
            "Age of the oldest event the consumer has not applied; 0 when caught up.",
            labels=["consumer"],
        ),
        GaugeMetricFamily(
            "rapport_consumer_unprocessable_events",
            "Events the consumer set aside after failing on them (the other consumers applied them).",
            labels=["consumer"],
        ),
    )
    for name, (done, behind, behind_s) in lags.items():
        for family, value in zip(families, (done, behind, behind_s, set_aside.get(name, 0)), strict=True):
            family.add_metric([name], value)
    yield from families


class IngestCounters:
    """What this server process took, per source and outcome."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "rapport_ingest_messages",
            "Tracking API messages, by source and outcome: stored, duplicate or rejected.",
            ["source", "outcome"],
            registry=registry,
        )

    def count(self, source: str, stored: int, duplicates: int, rejected: int) -> None:
        for outcome, n in (("stored", stored), ("duplicate", duplicates), ("rejected", rejected)):
            if n:
                self.messages.labels(source, outcome).inc(n)


def metrics_registry(
    db: Database, consumers: Sequence[str], processor: str | None = None
) -> tuple[CollectorRegistry, IngestCounters]:
    """A registry of its own per app (tests build many apps in one process), with the process's
    memory and CPU, the pipeline gauges (`consumers`: their names in log_offsets; `processor`: the
    profile processor's) and the ingest counters."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(PipelineCollector(db, consumers, processor))
    return registry, IngestCounters(registry)
