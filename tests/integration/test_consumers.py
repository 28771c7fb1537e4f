"""The log's consumers as one mechanism (collect/consumer.py): a second, test-only consumer beside the
profile processor reads the log in order, moves its offset in its own transaction, sets aside for
itself alone an event it keeps failing on, replays it once fixed, and shows its lag in /metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import counting_consumer
from counting_consumer import Counting, counted
from factories import send_batch
from rapport import contexts
from rapport.app import create_app
from rapport.cli import app as cli
from rapport.collect.consumer import consumer_offset, run_consumer
from rapport.collect.log import append_messages
from rapport.collect.metrics import PipelineCollector
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.store import UNPROCESSABLE, dead_letters
from rapport.kernel.audit import audit_log
from rapport.profiles.processor import CONSUMER, Processor
from rapport.profiles.store import profile_events

BOTH = (Processor, Counting)


@pytest.fixture
def counting(db, monkeypatch) -> Iterator[None]:
    """The test consumer's table, and the consumer registered beside the profile processor."""
    counted.create(db.writer, checkfirst=True)
    monkeypatch.setattr(contexts, "CONSUMERS", BOTH)
    monkeypatch.setattr(counting_consumer, "BROKEN", set())
    yield
    counted.drop(db.writer)


def _append(db, source, messages, received: datetime | None = None) -> int:
    envelope = Envelope({}, {}, None, received or datetime.now(UTC))
    with db.write() as conn:
        return append_messages(conn, source.id, [normalize_message(m, envelope) for m in messages], []).offset


def _tracks(*names: str) -> list[dict[str, str]]:
    return [{"type": "track", "userId": f"u-{n}", "event": name} for n, name in enumerate(names)]


def _run_until(db, head: int, kinds=BOTH, timeout_s: float = 30.0) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=run_consumer, args=(kind(db), stop), kwargs={"retry_s": 0.01}, daemon=True)
        for kind in kinds
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    while any(consumer_offset(db, k.name) < head for k in kinds) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert [consumer_offset(db, k.name) for k in kinds] == [head] * len(kinds)


def _counted(db) -> list[tuple[int, str]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(counted.c.event_id, counted.c.event).order_by(counted.c.seq))]


def _placed(db) -> list[int]:
    with db.read() as conn:
        return sorted(conn.execute(sa.select(profile_events.c.event_id)).scalars())


def test_a_second_consumer_reads_the_log_in_order_beside_profiles(db, source, counting):
    head = 0
    for part in range(3):
        head = _append(db, source, _tracks(*(f"E{part}-{i}" for i in range(7))))
    _run_until(db, head)
    applied = _counted(db)
    assert [event_id for event_id, _ in applied] == list(range(1, head + 1))  # each once, in log order
    assert applied[0][1] == "E0-0" and applied[-1][1] == "E2-6"
    assert _placed(db) == list(range(1, head + 1))  # and the profiles have every one too


def test_its_offset_moves_in_the_transaction_of_its_writes(db, source, counting, monkeypatch):
    monkeypatch.setattr(counting_consumer, "BROKEN", {"Boom"})
    head = _append(db, source, _tracks("Fine", "Boom"))
    with pytest.raises(KeyError):
        Counting(db).run_once()
    assert _counted(db) == [] and consumer_offset(db, Counting.name) == 0  # neither its rows nor its offset

    counting_consumer.BROKEN.clear()
    assert Counting(db).run_once() == 2
    assert [e for _, e in _counted(db)] == ["Fine", "Boom"] and consumer_offset(db, Counting.name) == head
    assert Counting(db).run_once() == 0 and consumer_offset(db, CONSUMER) == 0  # the processor's offset is its own


def _letters(db) -> list[tuple[str, int]]:
    with db.read() as conn:
        query = sa.select(dead_letters.c.consumer, dead_letters.c.event_id).where(dead_letters.c.code == UNPROCESSABLE)
        return [tuple(r) for r in conn.execute(query)]


def _gauges(db) -> dict[tuple[str, str], float]:
    collector = PipelineCollector(db, [k.name for k in BOTH], CONSUMER)
    return {(s.name, s.labels.get("consumer", "")): s.value for m in collector.collect() for s in m.samples}


def test_an_event_it_keeps_failing_on_is_set_aside_for_it_alone_and_replayed_once_fixed(
    db, source, counting, monkeypatch, database_url
):
    monkeypatch.setattr(counting_consumer, "BROKEN", {"Boom"})
    head = _append(db, source, _tracks("Before", "Boom", "After"))
    boom = head - 1
    _run_until(db, head)
    assert _letters(db) == [(Counting.name, boom)]  # set aside by the counter...
    assert [e for _, e in _counted(db)] == ["Before", "After"]
    assert _placed(db) == [boom - 1, boom, head]  # ...while the profiles took it like any other
    gauges = _gauges(db)
    assert gauges[("rapport_consumer_unprocessable_events", Counting.name)] == 1
    assert gauges[("rapport_consumer_unprocessable_events", CONSUMER)] == 0
    assert (
        gauges[("rapport_consumer_lag_events", Counting.name)] == 0
        and gauges[("rapport_unprocessable_events", "")] == 1
    )

    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["admin", "replay-unprocessable", "--consumer", CONSUMER]).output.endswith(
        "0 applied, 0 still set aside\n"
    )
    result = runner.invoke(cli, ["admin", "replay-unprocessable", "--consumer", Counting.name])
    assert result.exit_code == 1 and f"{boom}\tstill set aside\t{Counting.name}\tKeyError" in result.output

    counting_consumer.BROKEN.clear()  # the fix is deployed
    result = runner.invoke(cli, ["admin", "replay-unprocessable", "--consumer", Counting.name])
    assert result.exit_code == 0, result.output
    assert f"{boom}\tapplied\t{Counting.name}" in result.output
    assert sorted(e for _, e in _counted(db)) == ["After", "Before", "Boom"] and _letters(db) == []
    with db.read() as conn:
        [audited] = conn.execute(sa.select(audit_log).where(audit_log.c.action == "event.replayed")).all()
    assert audited.details == {"event_id": boom, "consumer": Counting.name}
    unknown = runner.invoke(cli, ["admin", "replay-unprocessable", "--consumer", "nobody"])
    assert unknown.exit_code == 2 and "profiles, test-counting" in unknown.output


def test_metrics_show_each_consumers_lag(settings, db, source, counting, admin_headers):
    received = datetime.now(UTC) - timedelta(seconds=30)
    head = _append(db, source, _tracks("A", "B", "C"), received)
    gauges = _gauges(db)
    for name in (CONSUMER, Counting.name):
        assert gauges[("rapport_consumer_lag_events", name)] == head
        assert 29 <= gauges[("rapport_consumer_lag_seconds", name)] < 120
    assert gauges[("rapport_processor_lag_events", "")] == head  # the processor's older names stay

    Counting(db).run_until_caught_up()
    gauges = _gauges(db)
    assert (
        gauges[("rapport_consumer_offset", Counting.name)] == head
        and gauges[("rapport_consumer_offset", CONSUMER)] == 0
    )
    assert gauges[("rapport_consumer_lag_seconds", Counting.name)] == 0

    with TestClient(create_app(settings, db)) as client:  # RAPPORT_PROCESSOR=thread: every consumer runs
        send_batch(client, source, _tracks("D"))
        deadline = time.monotonic() + 30
        while consumer_offset(db, CONSUMER) <= head or consumer_offset(db, Counting.name) <= head:
            assert time.monotonic() < deadline, "the app's consumers did not catch up"
            time.sleep(0.02)
        text = client.get("/metrics", headers=admin_headers).text
    for name in (CONSUMER, Counting.name):
        assert f'rapport_consumer_lag_events{{consumer="{name}"}} 0.0' in text
        assert f'rapport_consumer_offset{{consumer="{name}"}} {head + 1}.0' in text
