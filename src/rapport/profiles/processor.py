"""The profile processor: the log's first consumer, turning events into the identity graph and profiles.

It runs as every consumer does (collect/consumer.py): one batch is one write transaction that also
moves its offset, so a crash at any point replays whole batches and never applies an event twice.
Its shape is the two-phase one: the batch is resolved in the read transaction (profiles/resolve.py),
over caches of the graph that are valid for one `graph_version`, and written in a short transaction
under the graph lock, after checking that neither its offset nor `graph_version` moved meanwhile
(another processor, a merge undo or an erasure); if either did, the batch is resolved again.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, consumer_offset
from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, MAX_CACHED, bump_version, read_version
from rapport.identity.model import IdentityRules
from rapport.profiles.resolve import Batch, Resolver
from rapport.profiles.store import CONSUMER
from rapport.settings import Settings


def rules_from(settings: Settings) -> IdentityRules:
    return IdentityRules(
        blocked_values=frozenset(v.strip().lower() for v in settings.blocked_identifier_values),
        limits=dict(settings.identifier_limits),
        phone_region=settings.default_phone_region,
    )


class Processor(Consumer[Batch]):
    name = CONSUMER
    lock = GRAPH_LOCK  # it writes the graph, as staff merges, undos and erasure do

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.resolver = Resolver(rules_from(db.settings))

    def state(self, conn: Connection) -> int:
        return read_version(conn)

    def prepare(self, conn: Connection, events: Events, state: object) -> Batch:
        graph = self.resolver.graph
        if state != graph.version or max(len(self.resolver.channels), graph.size()) > MAX_CACHED:
            self.resolver.forget(cast(int, state))
        return self.resolver.resolve(conn, events)

    def apply(self, conn: Connection, prepared: Batch) -> None:
        self.resolver.flush(conn, prepared)

    def forget(self) -> None:
        self.resolver.forget()

    def replayed(self, conn: Connection) -> None:
        bump_version(conn)  # the running processor's caches know nothing of these writes


def applied_offset(db: Database) -> int:
    """How much of the log is on profiles: the processor's committed offset."""
    return consumer_offset(db, CONSUMER)
