"""The settled-pair cache is only a shortcut: with it and without it, every event lands on the same profile."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from rapport.collect.log import append_messages
from rapport.collect.model import Accepted, Envelope, normalize_message
from rapport.collect.service import create_source
from rapport.db import bulk
from rapport.db.engine import open_database
from rapport.db.metadata import utcnow
from rapport.db.migrate import upgrade
from rapport.profiles.processor import Processor
from rapport.settings import load_settings


class _NeverSettles(dict):  # type: ignore[type-arg]
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _Uncached(Processor):
    """Resolves every event from its identifiers, as if no pair were ever settled."""

    def _forget(self, version: int = -1) -> None:
        super()._forget(version)
        self.graph.settled = _NeverSettles()


def _workload(seed: int, people: int = 40, events: int = 600) -> list[dict[str, Any]]:
    """Anonymous browsing, identifies with email, second devices, shared and blocked ids, a second
    user id on a known device (a limit conflict) and aliases, interleaved at random."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = []
    for _ in range(events):
        n = rnd.randrange(people)
        user, anon, email = f"u{n}", f"a{n}-{rnd.randrange(2)}", f"p{n}@example.com"
        kind = rnd.randrange(8)
        if kind == 0:
            messages.append({"type": "page", "anonymousId": anon, "name": "Home"})
        elif kind == 1:
            messages.append({"type": "identify", "userId": user, "anonymousId": anon, "traits": {"email": email}})
        elif kind == 2:
            messages.append({"type": "track", "userId": user, "anonymousId": anon, "event": "Viewed"})
        elif kind == 3:
            messages.append({"type": "track", "userId": user, "event": "Bought"})
        elif kind == 4:
            messages.append({"type": "page", "userId": "null", "anonymousId": "anonymous", "name": "Blocked"})
        elif kind == 5:  # someone else signs in on this device: user_id is limited to one per profile
            messages.append({"type": "track", "userId": f"u{(n + 1) % people}", "anonymousId": anon, "event": "X"})
        elif kind == 6:
            messages.append({"type": "alias", "userId": user, "previousId": f"a{n}-1"})
        else:
            messages.append({"type": "page", "anonymousId": f"a{(n * 7) % people}-0", "name": "Shared"})
    return messages


def _partition(path: Path, messages: list[dict[str, Any]], processor: type[Processor]) -> set[frozenset[str]]:
    """Which messages share a profile (profile ids are random, so compare the grouping)."""
    db = open_database(load_settings(database_url=f"sqlite:///{path}", processor_batch_size=37))
    try:
        upgrade(db)
        source = create_source(db, "web", "web")
        envelope = Envelope({}, {}, None, utcnow())
        accepted = [normalize_message({**m, "messageId": f"m{i}"}, envelope) for i, m in enumerate(messages)]
        assert all(isinstance(a, Accepted) for a in accepted)
        with db.write() as conn:
            append_messages(conn, source.id, accepted, [])  # type: ignore[arg-type]
        processor(db).run_until_caught_up()  # batches of 37: pairs settle within and across batches
        with db.read() as conn:
            rows = bulk.query(
                conn,
                "SELECT pe.profile_id, e.message_id FROM profile_events pe JOIN events e ON e.id = pe.event_id",
            )
    finally:
        db.dispose()
    groups: dict[str, set[str]] = {}
    for profile_id, message_id in rows:
        groups.setdefault(profile_id, set()).add(message_id)
    assert sum(len(g) for g in groups.values()) == len(messages)
    return {frozenset(g) for g in groups.values()}


def test_settled_pairs_place_every_event_as_full_resolution_does(tmp_path: Path) -> None:
    for seed in range(3):
        messages = _workload(seed)
        cached = _partition(tmp_path / f"cached-{seed}.db", messages, Processor)
        uncached = _partition(tmp_path / f"uncached-{seed}.db", messages, _Uncached)
        assert cached == uncached
        assert len(cached) > 10  # the workload does build many profiles
