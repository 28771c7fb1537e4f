"""Metrics in Prometheus's text format: is collection keeping up, and what does it take and refuse.

Two kinds. Counters of this server process, kept as requests are answered: messages stored, found
to be duplicates, rejected, per source. And gauges read from the database at each scrape, so they
are true whichever process wrote (an import, another server): the log's head, the processor's
offset, how far and how long the profiles are behind, and the dead letters kept (and among them the
events the processor set aside). Each scrape costs three indexed lookups and a count of the dead
letters (a scan of that table, which stays small unless a client keeps sending what the spec refuses).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rapport.collect.service import log_head, read_offset
from rapport.collect.store import UNPROCESSABLE, dead_letters, events
from rapport.db.engine import Database


class PipelineCollector(Collector):
    """Gauges of the event log and the processor, read at scrape time."""

    def __init__(self, db: Database, consumer: str) -> None:
        self.db = db
        self.consumer = consumer  # the processor's name in log_offsets

    def collect(self) -> Iterator[Metric]:
        with self.db.read() as conn:
            head = log_head(conn)
            done = read_offset(conn, self.consumer)
            oldest = conn.execute(
                sa.select(events.c.received_at).where(events.c.id > done).order_by(events.c.id).limit(1)
            ).scalar()
            letters, unprocessable = conn.execute(
                sa.select(sa.func.count(), sa.func.count().filter(dead_letters.c.code == UNPROCESSABLE))
            ).one()
        behind_s = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        for name, doc, value in (
            ("rapport_log_offset", "Offset of the newest event in the log.", head),
            ("rapport_processor_offset", "Offset of the newest event on profiles.", done),
            ("rapport_processor_lag_events", "Events in the log not yet on profiles.", max(0, head - done)),
            (
                "rapport_processor_lag_seconds",
                "Age of the oldest event not yet on profiles; 0 when caught up.",
                max(0.0, behind_s),
            ),
            ("rapport_dead_letters", "Rejected messages kept with their reason.", letters),
            (
                "rapport_unprocessable_events",
                "Events the processor set aside after failing on them: in the log, not on a profile.",
                unprocessable,
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


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


def metrics_registry(db: Database, consumer: str) -> tuple[CollectorRegistry, IngestCounters]:
    """A registry of its own per app (tests build many apps in one process), with the process's
    memory and CPU, the pipeline gauges (`consumer`: the processor's name in log_offsets) and the
    ingest counters."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(PipelineCollector(db, consumer))
    return registry, IngestCounters(registry)
