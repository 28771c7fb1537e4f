"""The identity graph as the processor sees it: loaded in bulk per batch, cached between batches.

The processor is the only writer of the graph besides an undo, which bumps `graph_version`;
the processor drops its cache when the version moves, so a cached answer is never stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.identity.model import ASSERTED, BEARER_TYPES, Identifier
from rapport.identity.store import graph_version, identifiers, merges, profiles

CHUNK = 500
MAX_CACHED = 1_000_000

# Serializes every writer of the identity graph on PostgreSQL: the processor, staff merges and
# undos, erasure (on SQLite the single write lock does it).
GRAPH_LOCK = "rapport:identity-graph"


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def read_version(conn: Connection) -> int:
    return int(conn.execute(sa.select(graph_version.c.version).where(graph_version.c.id == 1)).scalar() or 0)


def bump_version(conn: Connection) -> None:
    if not conn.execute(
        graph_version.update().where(graph_version.c.id == 1).values(version=graph_version.c.version + 1)
    ).rowcount:
        conn.execute(graph_version.insert().values(id=1, version=1))


def load_limited_values(
    conn: Connection, canonical_ids: Sequence[str], types: Sequence[str]
) -> dict[str, dict[str, set[str]]]:
    """The values of each limited identifier type held across each canonical profile's group."""
    held: dict[str, dict[str, set[str]]] = {c: {} for c in canonical_ids}
    if not types:
        return held
    for chunk in _chunks(canonical_ids):
        rows = conn.execute(
            sa.select(profiles.c.canonical_id, identifiers.c.type, identifiers.c.value)
            .select_from(identifiers.join(profiles, profiles.c.id == identifiers.c.profile_id))
            .where(profiles.c.canonical_id.in_(chunk), identifiers.c.type.in_(types))
        )
        for canon, kind, value in rows:
            held[canon].setdefault(kind, set()).add(value)
    return held


class CachedGraph:
    """A `GraphView` over the database with in-memory changes made by the current batch."""

    def __init__(self, limited_types: Iterable[str]) -> None:
        self.limited_types = tuple(limited_types)
        self.version = -1
        self.clear()

    def clear(self) -> None:
        self._origin: dict[str, str | None] = {}
        self._canonical: dict[str, str] = {}
        self._absorbed_into: dict[str, str] = {}
        self._limited: dict[str, dict[str, set[str]]] = {}
        self._apart: dict[str, set[str]] = {}  # canonical id -> profiles its group must not join
        self._verification: dict[str, str | None] = {}  # identifier key -> how it was verified (None: claimed)
        self._vouched: set[str] = set()  # canonical ids of groups holding an asserted identifier
        self._named: set[str] = set()  # canonical ids of groups holding an identifier that names a person
        self._any_undone: bool | None = None  # whether any merge was ever undone; most graphs: none
        # id pair (see identity.model.id_pair) -> the profile its messages go to, for pairs whose
        # identifiers are all known and joined: only an undo or an erasure (a new version) changes that.
        self.settled: dict[tuple[str | None, str | None], str] = {}
        # settled pairs whose identifiers are all asserted: a server source restating a settled pair
        # of claims must still assert them, so only these take the fast path for a server's events.
        self.asserted_pairs: set[tuple[str | None, str | None]] = set()

    def size(self) -> int:
        return len(self._origin)

    # GraphView
    def origin(self, key: str) -> str | None:
        return self._origin.get(key)

    def canonical(self, profile_id: str) -> str:
        current = self._canonical.get(profile_id, profile_id)
        while current in self._absorbed_into:
            current = self._absorbed_into[current]
        return current

    def limited_values(self, canonical_id: str) -> dict[str, set[str]]:
        return self._limited.get(canonical_id, {})

    def kept_apart(self, canonical_id: str) -> set[str]:
        return self._apart.get(canonical_id, set())

    def vouched(self, canonical_id: str) -> bool:
        return canonical_id in self._vouched

    def named(self, canonical_id: str) -> bool:
        return canonical_id in self._named

    def verification(self, key: str) -> str | None:
        """How a known identifier was verified; None for a claim (or an identifier not loaded)."""
        return self._verification.get(key)

    # changes made by the processor
    def add_profile(self, profile_id: str) -> None:
        self._canonical[profile_id] = profile_id
        self._limited[profile_id] = {}

    def attach(self, ident: Identifier, profile_id: str, verification: str | None = None) -> None:
        self._origin[ident.key] = profile_id
        self.verify(ident.key, profile_id, verification)
        if ident.type not in BEARER_TYPES:
            self._named.add(self.canonical(profile_id))
        if ident.type in self.limited_types:
            self._limited.setdefault(self.canonical(profile_id), {}).setdefault(ident.type, set()).add(ident.value)

    def verify(self, key: str, profile_id: str, verification: str | None) -> None:
        """The identifier's verification as it now is; an asserted one vouches for its group."""
        if verification is None:
            return
        self._verification[key] = verification
        if verification == ASSERTED:
            self._vouched.add(self.canonical(profile_id))

    def absorb(self, survivor: str, absorbed: str) -> None:
        self._absorbed_into[absorbed] = survivor
        for flagged in (self._vouched, self._named):
            if absorbed in flagged:
                flagged.add(survivor)
        merged = self._limited.setdefault(survivor, {})
        for kind, values in self._limited.pop(absorbed, {}).items():
            merged.setdefault(kind, set()).update(values)
        if apart := self._apart.pop(absorbed, None):
            self._apart.setdefault(survivor, set()).update(apart)

    def preload(self, conn: Connection, keys: Iterable[str]) -> None:
        """Load what the batch will ask about, in a few queries rather than one per event."""
        missing = [k for k in set(keys) if k not in self._origin]
        found: dict[str, str] = {}
        for chunk in _chunks(missing):
            rows = conn.execute(
                sa.select(identifiers.c.key, identifiers.c.profile_id, identifiers.c.verification).where(
                    identifiers.c.key.in_(chunk)
                )
            )
            for key, pid, verification in rows:
                found[key] = pid
                self._verification[key] = verification
        for key in missing:
            self._origin[key] = found.get(key)
        unknown = sorted({pid for pid in found.values() if pid not in self._canonical})
        for chunk in _chunks(unknown):
            rows = conn.execute(sa.select(profiles.c.id, profiles.c.canonical_id).where(profiles.c.id.in_(chunk)))
            self._canonical.update({pid: canon for pid, canon in rows})
        todo = sorted({c for pid in found.values() if (c := self.canonical(pid)) not in self._limited})
        self._limited.update(load_limited_values(conn, todo, self.limited_types))  # an entry for each, empty or not
        self._load_apart(conn, todo)
        self._load_flags(conn, todo)

    def _load_flags(self, conn: Connection, todo: list[str]) -> None:
        """Which of the groups are vouched for, and which name someone (see `identity.model.resolve`)."""
        for chunk in _chunks(todo):
            rows = conn.execute(
                sa.select(profiles.c.canonical_id, identifiers.c.type, identifiers.c.verification)
                .select_from(identifiers.join(profiles, profiles.c.id == identifiers.c.profile_id))
                .where(
                    profiles.c.canonical_id.in_(chunk),
                    sa.or_(identifiers.c.verification == ASSERTED, identifiers.c.type.not_in(BEARER_TYPES)),
                )
            )
            for canon, kind, verification in rows:
                if verification == ASSERTED:
                    self._vouched.add(canon)
                if kind not in BEARER_TYPES:
                    self._named.add(canon)

    def _load_apart(self, conn: Connection, todo: list[str]) -> None:
        """The undone merges of the groups' members: each keeps its group from the other side."""
        if self._any_undone is None:
            found = conn.execute(sa.select(merges.c.id).where(merges.c.undone_at.is_not(None)).limit(1)).first()
            self._any_undone = found is not None
        if not self._any_undone:
            return
        for side, other in ((merges.c.survivor_id, merges.c.absorbed_id), (merges.c.absorbed_id, merges.c.survivor_id)):
            for chunk in _chunks(todo):
                rows = conn.execute(
                    sa.select(profiles.c.canonical_id, other)
                    .select_from(merges.join(profiles, profiles.c.id == side))
                    .where(profiles.c.canonical_id.in_(chunk), merges.c.undone_at.is_not(None))
                )
                for canon, apart in rows:
                    self._apart.setdefault(canon, set()).add(apart)
