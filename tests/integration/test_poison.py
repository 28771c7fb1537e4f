"""An event the processor cannot apply is set aside, and every other event still reaches its profile;
a database that is unavailable for a while sets nothing aside (collect/poison.py)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from factories import count_rows
from rapport.cli import app as cli
from rapport.collect.consumer import run_consumer
from rapport.collect.log import append_messages
from rapport.collect.metrics import PipelineCollector
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.poison import ATTEMPTS, MOST_IN_A_ROW, replay
from rapport.collect.store import UNPROCESSABLE, dead_letters, events
from rapport.contexts import CONSUMERS
from rapport.identity.store import identifiers
from rapport.kernel.audit import audit_log
from rapport.privacy.service import erase_profile, export_profile
from rapport.profiles import resolve as resolve_module
from rapport.profiles.processor import CONSUMER, Processor, applied_offset
from rapport.profiles.store import profile_events, profile_traits


def _append(db, source, messages) -> int:
    envelope = Envelope({}, {}, None, datetime.now(UTC))
    with db.write() as conn:
        return append_messages(conn, source.id, [normalize_message(m, envelope) for m in messages], []).offset


def _run_until(db, head: int, timeout_s: float = 30.0) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=run_consumer, args=(Processor(db), stop), kwargs={"retry_s": 0.01}, daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    while applied_offset(db) < head and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    worker.join(timeout=10)
    assert applied_offset(db) == head


def _users(db) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(sa.select(identifiers.c.value).where(identifiers.c.type == "user_id")).scalars())


def test_an_event_that_always_fails_is_set_aside_and_the_rest_applied(db, source, monkeypatch):
    real = resolve_module.extract_traits
    calls = {"poison": 0}

    def extract(payload):  # a bug that only this event's data meets
        if (payload.get("traits") or {}).get("plan") == "poison":
            calls["poison"] += 1
            raise KeyError("plan")
        return real(payload)

    monkeypatch.setattr(resolve_module, "extract_traits", extract)
    before = [{"type": "identify", "userId": f"before-{n}", "traits": {"plan": "free"}} for n in range(5)]
    poison = {"type": "identify", "userId": "poisoned", "traits": {"plan": "poison"}}
    after = [{"type": "identify", "userId": f"after-{n}", "traits": {"plan": "pro"}} for n in range(5)]
    head = _append(db, source, [*before, poison, *after])
    _run_until(db, head)

    assert _users(db) == {f"before-{n}" for n in range(5)} | {f"after-{n}" for n in range(5)}
    assert calls["poison"] == 2 * ATTEMPTS  # in its batch, then alone
    with db.read() as conn:
        [letter] = conn.execute(sa.select(dead_letters)).all()
        kept = conn.execute(sa.select(events.c.id).where(events.c.user_id == "poisoned")).scalar_one()
    assert letter.code == UNPROCESSABLE and letter.source_id == source.id
    assert f"event {kept}" in letter.reason and "KeyError" in letter.reason
    assert '"poisoned"' in letter.payload  # and the event itself stays in the log, to replay once fixed
    gauges = {m.name: m.samples[0].value for m in PipelineCollector(db, [CONSUMER], CONSUMER).collect()}
    assert gauges["rapport_unprocessable_events"] == 1 and gauges["rapport_processor_lag_events"] == 0


@pytest.mark.parametrize("failures", [ATTEMPTS * 3])
def test_an_unavailable_database_sets_nothing_aside(db, source, monkeypatch, failures):
    real = resolve_module.Resolver.flush
    left = {"n": failures}

    def flush(self, conn, batch):
        if left["n"]:
            left["n"] -= 1
            raise sa.exc.OperationalError("INSERT ...", {}, Exception("database is locked"))
        return real(self, conn, batch)

    monkeypatch.setattr(resolve_module.Resolver, "flush", flush)
    head = _append(db, source, [{"type": "identify", "userId": f"u{n}"} for n in range(4)])
    _run_until(db, head)
    assert left["n"] == 0 and _users(db) == {f"u{n}" for n in range(4)}
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one() == 0


def test_a_batch_that_fails_only_as_a_whole_is_applied_one_event_at_a_time(db, source, monkeypatch):
    real = resolve_module.Resolver.flush
    seen = []

    def flush(self, conn, batch):
        seen.append(len(batch.assignments))
        if len(batch.assignments) > 1:  # a fault of batches, not of any one event
            raise ValueError("batches break")
        return real(self, conn, batch)

    monkeypatch.setattr(resolve_module.Resolver, "flush", flush)
    head = _append(db, source, [{"type": "identify", "userId": f"u{n}"} for n in range(4)])
    _run_until(db, head)
    assert _users(db) == {f"u{n}" for n in range(4)}
    assert seen[:ATTEMPTS] == [4] * ATTEMPTS and seen[ATTEMPTS:] == [1, 1, 1, 1]
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one() == 0


def test_a_set_aside_event_is_replayed_once_its_cause_is_fixed(db, source, monkeypatch, database_url):
    real = resolve_module.extract_traits

    def broken(payload):
        if (payload.get("traits") or {}).get("plan") == "poison":
            raise KeyError("plan")
        return real(payload)

    monkeypatch.setattr(resolve_module, "extract_traits", broken)
    head = _append(db, source, [{"type": "identify", "userId": "poisoned", "traits": {"plan": "poison"}}])
    head = _append(db, source, [{"type": "track", "userId": "poisoned", "event": "Later"}])
    _run_until(db, head)
    assert replay(db, CONSUMERS, "cli:test").failed[0][0] == head - 1  # still broken: it stays set aside
    with db.read() as conn:
        assert conn.execute(sa.select(dead_letters.c.event_id)).scalars().all() == [head - 1]

    monkeypatch.setattr(resolve_module, "extract_traits", real)  # the fix is deployed
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["admin", "replay-unprocessable"])
    assert result.exit_code == 0, result.output
    assert f"{head - 1}\tapplied" in result.output and "1 applied, 0 still set aside" in result.output
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one() == 0
        [audited] = conn.execute(sa.select(audit_log).where(audit_log.c.action == "event.replayed")).all()
        traits = dict(conn.execute(sa.select(profile_traits.c.key, profile_traits.c.value)).all())
        timeline = conn.execute(
            sa.select(profile_events.c.profile_id, profile_events.c.event_id).order_by(profile_events.c.event_id)
        ).all()
    assert [r.event_id for r in timeline] == [head - 1, head]
    assert len({r.profile_id for r in timeline}) == 1  # on the profile the event after it went to
    assert audited.details["event_id"] == head - 1 and audited.actor.startswith("cli:")
    assert traits == {"plan": "poison"}
    assert replay(db, CONSUMERS, "cli:test").applied == []  # nothing is applied twice
    nothing = replay(db, CONSUMERS, "cli:test", only=[0, -1, 2**70])  # past 64 bits was a traceback on PostgreSQL
    assert (nothing.applied, nothing.failed) == ([], [])


def test_erasure_reaches_the_events_set_aside_and_export_shows_them(db, source, monkeypatch):
    real = resolve_module.extract_traits
    monkeypatch.setattr(
        resolve_module,
        "extract_traits",
        lambda p: (_ for _ in ()).throw(KeyError("plan")) if (p.get("traits") or {}).get("plan") else real(p),
    )
    person = {"type": "identify", "userId": "erin", "traits": {"email": "erin@example.com"}}
    other = {"type": "identify", "userId": "olga", "traits": {"email": "olga@example.com"}}
    head = _append(db, source, [person, other, {**person, "traits": {"plan": "poison"}}])
    head = _append(db, source, [{**other, "traits": {"plan": "poison"}}])
    _run_until(db, head)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one() == 2
        erin = conn.execute(sa.select(identifiers.c.profile_id).where(identifiers.c.value == "erin")).scalar_one()
    exported = export_profile(db, erin, actor="staff:test", via="api")
    assert len(exported["stores"]["events"]["rows"]) == 2  # the one on her profile and the one set aside

    erase_profile(db, erin, actor="staff:test", via="api")
    with db.read() as conn:
        left = conn.execute(sa.select(events.c.user_id)).scalars().all()
        letters = conn.execute(sa.select(dead_letters.c.payload)).scalars().all()
    assert sorted(left) == ["olga", "olga"]  # hers are gone, set aside or not; the other person's stay
    assert len(letters) == 1 and "olga" in letters[0]


def test_a_processor_that_fails_on_every_event_sets_only_a_few_aside(db, source, monkeypatch):
    """A bad deploy, not bad events: past MOST_IN_A_ROW set aside with none applied between them,
    the processor only retries, so the log is not turned into dead letters one event at a time."""
    monkeypatch.setattr(resolve_module, "extract_traits", lambda _payload: {}["broken"])
    head = _append(db, source, [{"type": "identify", "userId": f"u{n}"} for n in range(MOST_IN_A_ROW + 4)])
    stop = threading.Event()
    worker = threading.Thread(target=run_consumer, args=(Processor(db), stop), kwargs={"retry_s": 0.01}, daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while count_rows(db, dead_letters) < MOST_IN_A_ROW and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # dozens more attempts
    stop.set()
    worker.join(timeout=10)
    assert count_rows(db, dead_letters) == MOST_IN_A_ROW
    assert applied_offset(db) == head - 4  # stuck at the first event not set aside, retrying
