"""Alembic's revisions build exactly the schema the models declare, and upgrades keep the data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from rapport.db.engine import Database, open_database
from rapport.db.migrate import alembic_config
from rapport.db.tables import metadata
from rapport.settings import load_settings


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


@pytest.fixture
def old_db(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file of its own, to migrate up and down (the `db` fixture is already at head)."""
    db = open_database(load_settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    yield db
    db.dispose()


def test_0003_moves_the_timeline_out_of_the_log_and_keeps_the_offsets(old_db: Database) -> None:
    command.upgrade(alembic_config(old_db), "0002")
    with old_db.writer.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sources (id, name, channel, write_key, max_message_bytes, max_batch_bytes, "
            "rate_limit_per_s, created_at) VALUES (1, 'web', 'web', 'k', 1, 1, 1, '2026-01-01 00:00:00.000000')"
        )
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
