"""The settled-pair cache is only a shortcut: with it and without it, every event lands on the same
profile, and the traits and consent that events of known people state are kept alike (those events
are placed without decoding their payload when it holds nothing but their ids)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from rapport.collect.log import append_messages
from rapport.collect.model import Accepted, Envelope, normalize_message
from rapport.collect.service import create_source
from rapport.db import bulk
from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.kernel.clock import utcnow
from rapport.profiles.processor import Processor
from rapport.profiles.resolve import Resolver
from rapport.settings import load_settings


class _NeverSettles(dict):  # type: ignore[type-arg]
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _NeverSettling(Resolver):
    def forget(self, version: int = -1) -> None:
        super().forget(version)
        self.graph.settled = _NeverSettles()


class _Uncached(Processor):
    """Resolves every event from its identifiers, as if no pair were ever settled."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.resolver = _NeverSettling(self.resolver.rules)


def _seen_person(user: str, anon: str) -> dict[str, Any]:
    return {"type": "track", "userId": user, "anonymousId": anon, "event": "Viewed"}


def _workload(seed: int, people: int = 40, events: int = 600) -> list[dict[str, Any]]:
    """Anonymous browsing, identifies with email, second devices, shared and blocked ids, a second
    user id on a known device (a limit conflict) and aliases, interleaved at random; known people's
    events that also carry context traits, a device id, an external id or consent."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = []
    for _ in range(events):
        n = rnd.randrange(people)
        user, anon, email = f"u{n}", f"a{n}-{rnd.randrange(2)}", f"p{n}@example.com"
        kind = rnd.randrange(13)
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
        elif kind == 7:
            messages.append({"type": "page", "anonymousId": f"a{(n * 7) % people}-0", "name": "Shared"})
        elif kind == 8:
            traits = {"email": f"q{n}@example.com", "plan": rnd.choice(("free", "pro"))}
            messages.append({**_seen_person(user, anon), "context": {"traits": traits}})
        elif kind == 9:
            messages.append({**_seen_person(user, anon), "context": {"device": {"id": f"d{rnd.randrange(people)}"}}})
        elif kind == 10:
            messages.append({**_seen_person(user, anon), "context": {"externalIds": [{"type": "crm", "id": f"c{n}"}]}})
        elif kind == 11:
            stated = rnd.choice(({"consent": {"categoryPreferences": {"marketing": True}}}, {"gpc": True}))
            messages.append({**_seen_person(user, anon), "context": stated})
        else:
            consent = {"purpose": "analytics", "status": rnd.choice(("granted", "denied"))}
            messages.append({**_seen_person(user, anon), "event": "Consent Updated", "properties": consent})
    return messages


Pairs = frozenset[tuple[str, str]]
Outcome = set[tuple[frozenset[str], frozenset[str], Pairs, Pairs]]


def _partition(path: Path, messages: list[dict[str, Any]], processor: type[Processor]) -> Outcome:
    """Which messages share a profile, with each profile's identifiers, traits and consent records
    (profile ids are random, so compare groups of messages)."""
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
            keys = bulk.query(conn, "SELECT profile_id, key FROM identifiers")
            traits = bulk.query(conn, "SELECT profile_id, key, value FROM profile_traits")
            consents = bulk.query(conn, "SELECT profile_id, purpose, status FROM consent_records")
    finally:
        db.dispose()
    groups: dict[str, set[str]] = {}
    for profile_id, message_id in rows:
        groups.setdefault(profile_id, set()).add(message_id)
    assert sum(len(g) for g in groups.values()) == len(messages)
    known: dict[str, set[str]] = {p: set() for p in groups}
    held: dict[str, set[tuple[str, str]]] = {p: set() for p in groups}
    stated: dict[str, set[tuple[str, str]]] = {p: set() for p in groups}
    for profile_id, key in keys:
        known[profile_id].add(key)
    for profile_id, key, value in traits:
        held[profile_id].add((key, value))
    for profile_id, purpose, status in consents:
        stated[profile_id].add((purpose, status))
    return {(frozenset(g), frozenset(known[p]), frozenset(held[p]), frozenset(stated[p])) for p, g in groups.items()}


def test_settled_pairs_place_every_event_as_full_resolution_does(tmp_path: Path) -> None:
    for seed in range(3):
        messages = _workload(seed)
        cached = _partition(tmp_path / f"cached-{seed}.db", messages, Processor)
        uncached = _partition(tmp_path / f"uncached-{seed}.db", messages, _Uncached)
        assert cached == uncached
        assert len(cached) > 10  # the workload does build many profiles
        assert any(traits for *_, traits, _ in cached) and any(consent for *_, consent in cached)
