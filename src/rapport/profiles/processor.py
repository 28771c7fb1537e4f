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

from itsdangerous import URLSafeSerializer
from sqlalchemy.engine import Connection

from rapport.access.customers import link_serializer
from rapport.collect.consumer import Consumer, Events, consumer_offset
from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, MAX_CACHED, bump_version, read_version
from rapport.identity.model import IdentityRules
from rapport.outbound.confirm import queue_confirmation
from rapport.profiles.resolve import Batch, Resolver
from rapport.profiles.store import CONSUMER
from rapport.settings import Settings

# Why a confirmation mail came: a website or app said the person agreed to mail at the address.
WHY = "You agreed to receive messages from us at this address, on our website or in our app."


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
        self.links: URLSafeSerializer | None = None

    def state(self, conn: Connection) -> int:
        return read_version(conn)

    def prepare(self, conn: Connection, events: Events, state: object) -> Batch:
        graph = self.resolver.graph
        if state != graph.version or max(len(self.resolver.channels), graph.size()) > MAX_CACHED:
            self.resolver.forget(cast(int, state))
        batch = self.resolver.resolve(conn, events)
        if batch.confirmations and self.links is None:
            self.links = link_serializer(self.db)  # not in apply's write transaction: it may store the secret
        return batch

    def apply(self, conn: Connection, prepared: Batch) -> None:
        self.resolver.flush(conn, prepared)
        for profile_id, address in sorted(prepared.confirmations, key=lambda c: (c[0], c[1] or "")):
            assert self.links is not None  # made by prepare for a batch with confirmations
            queue_confirmation(conn, self.links, self.db.settings, profile_id, address, why=WHY)

    def forget(self) -> None:
        self.resolver.forget()

    def replayed(self, conn: Connection) -> None:
        bump_version(conn)  # the running processor's caches know nothing of these writes


def applied_offset(db: Database) -> int:
    """How much of the log is on profiles: the processor's committed offset."""
    return consumer_offset(db, CONSUMER)
