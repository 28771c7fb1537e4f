"""Gauges of the outbox, read from the database at each scrape (like collect/metrics.py's): how much
mail waits, and how long the oldest has. A queue that keeps growing, or an oldest mail hours old,
means the worker is not running (RAPPORT_PROCESSOR=off everywhere) or the mail server refuses it."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rapport.db.engine import Database
from rapport.kernel.clock import utcnow
from rapport.outbound.store import queue_size


class OutboxCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.read() as conn:
            queued, oldest = queue_size(conn)
        age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "rapport_outbox_queued", "Mails in the outbox: queued, or waiting to be tried again.", value=queued
        )
        yield GaugeMetricFamily(
            "rapport_outbox_oldest_seconds",
            "How long the oldest mail in the outbox has waited; 0 if none.",
            value=age,
        )
