"""Alembic's revisions build exactly the schema the models declare, and upgrades keep the data."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import rapport.db
from rapport.collect.log import append_messages
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.store import events
from rapport.contexts import metadata
from rapport.db.engine import Database, open_database
from rapport.db.metadata import NATIVE_PREFIX, declared
from rapport.db.migrate import alembic_config
from rapport.settings import load_settings


def test_migrated_schema_matches_the_models(db: Database) -> None:
    # The stores' own search structures (`native_...`, made by migration 0016) are not models.
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared}), metadata)
    assert differences == []


def test_the_native_search_structures_exist_and_nothing_else_is_left_out(db: Database) -> None:
    with db.engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    native = {n for n in names if n.startswith(NATIVE_PREFIX)}
    expected = {"native_kb_search"} if db.dialect == "postgresql" else {"native_kb_fts", "native_kb_terms_trigram"}
    assert expected <= native
    assert names - native <= set(metadata.tables) | {"alembic_version"}


@pytest.fixture
def old_db(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file of its own, to migrate up and down (the `db` fixture is already at head)."""
    db = open_database(load_settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    yield db
    db.dispose()


def _add_source(conn: sa.Connection) -> None:
    """Source 1, as any revision's `sources` table takes it (times as SQLAlchemy stores them on SQLite)."""
    conn.exec_driver_sql(
        "INSERT INTO sources (id, name, channel, write_key, max_message_bytes, max_batch_bytes, "
        "rate_limit_per_s, created_at) VALUES (1, 'web', 'web', 'k', 1, 1, 1, '2026-01-01 00:00:00.000000')"
    )


def test_0003_moves_the_timeline_out_of_the_log_and_keeps_the_offsets(old_db: Database) -> None:
    command.upgrade(alembic_config(old_db), "0002")
    with old_db.writer.begin() as conn:
        _add_source(conn)
        conn.exec_driver_sql(
            "INSERT INTO profiles (id, canonical_id, created_at, event_count, channels) "
            "VALUES ('p1', 'p1', '2026-01-01 00:00:00.000000', 2, '[\"web\"]')"
        )
        for n, owner in ((1, "p1"), (2, "p1"), (3, None), (4, None)):
            conn.exec_driver_sql(
                "INSERT INTO events (id, source_id, message_id, type, timestamp, received_at, payload, profile_id) "
                f"VALUES ({n}, 1, 'm{n}', 'track', '2026-01-0{n} 00:00:00.000000', "
                "'2026-01-01 00:00:00.000000', '{}', ?)",
                (owner,),
            )
        conn.exec_driver_sql("DELETE FROM events WHERE id = 4")  # the newest offset was erased
    command.upgrade(alembic_config(old_db), "head")
    with old_db.engine.connect() as conn:
        timeline = conn.exec_driver_sql("SELECT profile_id, event_id FROM profile_events ORDER BY 2").all()
        columns = [c["name"] for c in sa.inspect(conn).get_columns("events")]
    assert timeline == [("p1", 1), ("p1", 2)]
    assert "profile_id" not in columns
    with old_db.writer.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO events (source_id, message_id, type, timestamp, received_at, payload) "
            "VALUES (1, 'm5', 'track', '2026-01-05 00:00:00.000000', '2026-01-05 00:00:00.000000', '{}')"
        )
        newest = conn.exec_driver_sql("SELECT max(id) FROM events").scalar()
    assert newest == 5, "an offset of an erased event was handed out again"


def test_0004_reads_counts_from_the_timeline_and_its_downgrade_restores_them(old_db: Database) -> None:
    command.upgrade(alembic_config(old_db), "head")
    with old_db.writer.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO profiles (id, canonical_id, created_at, channels) "
            "VALUES ('p1', 'p1', '2026-01-01 00:00:00.000000', '[\"web\"]'), "
            "('p2', 'p2', '2026-01-01 00:00:00.000000', '[]')"
        )
        conn.exec_driver_sql(
            "INSERT INTO profile_events (profile_id, timestamp, event_id) VALUES "
            "('p1', '2026-01-03 00:00:00.000000', 1), ('p1', '2026-01-02 00:00:00.000000', 2)"
        )
    command.downgrade(alembic_config(old_db), "0003")
    with old_db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, event_count, first_seen, last_seen FROM profiles ORDER BY id").all()
    assert rows == [
        ("p1", 2, "2026-01-02 00:00:00.000000", "2026-01-03 00:00:00.000000"),
        ("p2", 0, None, None),
    ]
    command.upgrade(alembic_config(old_db), "head")
    with old_db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("profiles")}
    assert not columns & {"event_count", "first_seen", "last_seen"}


def test_0006_keys_the_log_by_own_time_and_still_drops_a_retry_of_an_older_message(old_db: Database) -> None:
    command.upgrade(alembic_config(old_db), "0005")
    timed = {"type": "track", "userId": "u", "event": "A", "messageId": "t1", "timestamp": "2026-01-02T03:04:05Z"}
    untimed = {"type": "track", "userId": "u", "event": "B", "messageId": "n1"}
    received = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    accepted = [normalize_message(m, Envelope({}, {}, None, received)) for m in (timed, untimed)]
    with old_db.writer.begin() as conn:
        _add_source(conn)
        for n, a in enumerate(accepted, start=1):  # as 0005's log writer stored them
            conn.exec_driver_sql(
                "INSERT INTO events (id, source_id, message_id, type, timestamp, received_at, payload) "
                "VALUES (?, 1, ?, 'track', '2026-01-02 03:04:05.000000', '2026-01-02 03:04:06.000000', ?)",
                (n, a.message_id, orjson.dumps(a.payload).decode()),
            )
    command.upgrade(alembic_config(old_db), "head")
    with old_db.engine.connect() as conn:
        own = conn.exec_driver_sql("SELECT message_id, original_timestamp FROM events ORDER BY id").all()
    assert own == [("t1", "2026-01-02 03:04:05.000000"), ("n1", None)]

    # The client retries both, a day later: neither is stored again; the same id with another time is.
    later = Envelope({}, {}, None, received + timedelta(days=1))
    again = [normalize_message(m, later) for m in (timed, untimed, {**timed, "timestamp": "2026-01-03T00:00:00Z"})]
    with old_db.writer.begin() as conn:
        appended = append_messages(conn, 1, again, [])
    assert (appended.stored, appended.duplicates) == (1, 2)

    with pytest.raises(RuntimeError, match="more than once"):
        command.downgrade(alembic_config(old_db), "0005")
    with old_db.writer.begin() as conn:
        newest = conn.exec_driver_sql("SELECT max(id) FROM events").scalar()
        conn.exec_driver_sql("DELETE FROM events WHERE id = ?", (newest,))
    command.downgrade(alembic_config(old_db), "0005")
    with old_db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("events")}
        assert "original_timestamp" not in columns
        assert conn.exec_driver_sql("SELECT id, message_id FROM events ORDER BY id").all() == [(1, "t1"), (2, "n1")]
        assert conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'events'").scalar() >= newest


def _revision(name: str) -> Any:
    """A revision's module, to call its helpers on the test database."""
    path = Path(rapport.db.__file__).parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"revision_{name}", path)
    assert spec and spec.loader
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    return revision


def test_0006_fills_the_own_time_of_stored_rows_on_either_backend(db: Database, make_source) -> None:
    """The fill runs as SQL on PostgreSQL and in Python on SQLite; both must read the same times."""
    revision = _revision("0006_dedup_key_leads_with_client_time")
    source = make_source("web")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stored = [  # as ingest wrote payloads: originalTimestamp in UTC with a Z, fraction only when there is one
        ("m1", {"originalTimestamp": "2026-01-02T03:04:05Z"}, at),
        ("m2", {"originalTimestamp": "2026-01-02T03:04:05.037000Z"}, at + timedelta(microseconds=37000)),
        ("m3", {"type": "track"}, None),
    ]
    with db.writer.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {
                    "source_id": source.id,
                    "message_id": m,
                    "type": "track",
                    "timestamp": at,
                    "received_at": at,
                    "payload": payload,
                }
                for m, payload, _ in stored
            ],
        )
        revision._fill_own_times(conn)
    with db.read() as conn:
        found = dict(conn.execute(sa.select(events.c.message_id, events.c.original_timestamp)).tuples().all())
    assert found == {m: expected for m, _, expected in stored}


def test_0007_fills_the_ids_of_stored_rows_on_either_backend(db: Database, make_source) -> None:
    """The processor places an event from these columns alone when its payload holds nothing else."""
    source = make_source("web")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stored = {
        "both": {"type": "track", "userId": "u-1", "anonymousId": "a-1"},
        "anonymous": {"type": "page", "anonymousId": "a-2"},
        "alias": {"type": "alias", "userId": "u-3", "previousId": "a-3"},
    }
    with db.writer.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {
                    "source_id": source.id,
                    "message_id": m,
                    "type": p["type"],
                    "timestamp": at,
                    "received_at": at,
                    "payload": p,
                }
                for m, p in stored.items()
            ],
        )
        _revision("0007_events_user_and_anonymous_ids")._fill_ids(conn)
    with db.read() as conn:
        rows = conn.execute(sa.select(events.c.message_id, events.c.user_id, events.c.anonymous_id)).tuples().all()
    assert sorted(rows) == [("alias", "u-3", None), ("anonymous", None, "a-2"), ("both", "u-1", "a-1")]


def test_the_log_writer_stores_the_ids_it_normalized(db: Database, make_source) -> None:
    source = make_source("web")
    envelope = Envelope({}, {}, None, datetime(2026, 1, 2, tzinfo=UTC))
    sent = [
        {"type": "track", "userId": 42, "anonymousId": " a-1 ", "event": "E"},
        {"type": "page", "anonymousId": "a-2"},
    ]
    with db.writer.begin() as conn:
        append_messages(conn, source.id, [normalize_message(m, envelope) for m in sent], [])  # type: ignore[arg-type]
    with db.read() as conn:
        rows = conn.execute(sa.select(events.c.user_id, events.c.anonymous_id).order_by(events.c.id)).tuples().all()
    assert rows == [("42", "a-1"), (None, "a-2")]


def test_0013_makes_what_browsers_said_a_claim_and_what_servers_said_asserted(old_db: Database) -> None:
    command.upgrade(alembic_config(old_db), "0012")
    at = "'2026-01-01 00:00:00.000000'"
    with old_db.writer.begin() as conn:
        _add_source(conn)  # source 1: web
        conn.exec_driver_sql(
            "INSERT INTO sources (id, name, channel, write_key, max_message_bytes, max_batch_bytes, "
            f"rate_limit_per_s, created_at) VALUES (2, 'till', 'store', 'k2', 1, 1, 1, {at})"
        )
        conn.exec_driver_sql(
            f"INSERT INTO profiles (id, canonical_id, created_at, channels) VALUES ('p', 'p', {at}, '[]')"
        )
        for event_id, source_id in ((1, 1), (2, 2)):
            conn.exec_driver_sql(
                "INSERT INTO events (id, source_id, message_id, type, timestamp, received_at, payload) "
                f"VALUES ({event_id}, {source_id}, 'm{event_id}', 'identify', {at}, {at}, '{{}}')"
            )
        for key, event_id in (("email:web@example.com", 1), ("email:till@example.com", 2), ("user_id:gone", 9)):
            kind, value = key.split(":", 1)
            conn.exec_driver_sql(
                "INSERT INTO identifiers (key, type, value, profile_id, first_event_id, created_at) "
                f"VALUES ('{key}', '{kind}', '{value}', 'p', {event_id}, {at})"
            )
        for key, source_id in (("plan", 1), ("city", 2)):
            conn.exec_driver_sql(
                "INSERT INTO profile_traits (profile_id, key, value, source_id, observed_at, event_id) "
                f"VALUES ('p', '{key}', '\"x\"', {source_id}, {at}, 1)"
            )
    command.upgrade(alembic_config(old_db), "0013")
    with old_db.writer.begin() as conn:
        trust = dict(conn.exec_driver_sql("SELECT name, trust FROM sources").all())
        verified = {
            k: (s, v, b)
            for k, s, v, b in conn.exec_driver_sql("SELECT key, source_id, verification, verified_by FROM identifiers")
        }
        asserted = dict(conn.exec_driver_sql("SELECT key, asserted FROM profile_traits").all())
        kinds = conn.exec_driver_sql("SELECT DISTINCT kind FROM portal_links").all()
    assert trust == {"web": "client", "till": "server"}
    assert verified == {
        "email:web@example.com": (1, None, None),
        "email:till@example.com": (2, "asserted", "source:till"),
        "user_id:gone": (None, None, None),  # its first event was erased: a claim, to be safe
    }
    assert asserted == {"plan": 0, "city": 1}
    assert kinds == []
    command.downgrade(alembic_config(old_db), "0012")
    with old_db.writer.begin() as conn:
        assert "trust" not in {c["name"] for c in sa.inspect(conn).get_columns("sources")}
