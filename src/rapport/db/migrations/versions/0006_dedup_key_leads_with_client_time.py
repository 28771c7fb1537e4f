"""the log drops a retry by (source, own time, messageId), time first, instead of (source, messageId)

Keyed by random UUIDs, every commit of the log rewrote an index page per new row: raw inserts ran
at a third of the rate of time-ordered keys (docs/decisions/0004-dedup-key-leads-with-the-client-time.md).
A retry repeats the message's own time with its messageId, so the new key drops it as the old one
did. Rows already in the log get their time from the payload, where ingest kept it as
`originalTimestamp`; a message that had none is deduplicated on its messageId alone, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 23:40:00
"""

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

import rapport.db.metadata

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHUNK = 5000
UNTIMED = sa.text("original_timestamp IS NULL")


def _sequence(conn: sa.Connection) -> int | None:
    """The events offset high-water mark on SQLite, which rebuilding the table would lose."""
    if conn.dialect.name != "sqlite":
        return None
    return conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")).scalar()


def _restore_sequence(conn: sa.Connection, seq: int | None) -> None:
    if seq is not None:
        conn.execute(sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'events'"), {"seq": seq})


def _own_time(payload: object) -> datetime | None:
    """The time ingest kept as `originalTimestamp` (ISO 8601, UTC), as an aware datetime."""
    document = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
    text = document.get("originalTimestamp") if isinstance(document, dict) else None
    if not isinstance(text, str) or not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fill_own_times(conn: sa.Connection) -> None:
    """Rows stored before this revision: their own time, from the payload."""
    if conn.dialect.name == "postgresql":  # one statement; PostgreSQL parses the ISO text itself
        conn.execute(
            sa.text(
                "UPDATE events SET original_timestamp = (payload->>'originalTimestamp')::timestamptz "
                "WHERE original_timestamp IS NULL AND coalesce(payload->>'originalTimestamp', '') <> ''"
            )
        )
        return
    events = sa.table(
        "events",
        sa.column("id", sa.BigInteger),
        sa.column("payload", sa.Text),
        sa.column("original_timestamp", rapport.db.metadata.UTCDateTime(timezone=True)),
    )
    last = 0
    while True:  # SQLite: in chunks, parsed as ingest parses times
        rows = conn.execute(
            sa.text("SELECT id, payload FROM events WHERE id > :last AND original_timestamp IS NULL ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            return
        updates = [{"row_id": r.id, "moment": _own_time(r.payload)} for r in rows]
        updates = [u for u in updates if u["moment"] is not None]
        if updates:
            conn.execute(
                events.update()
                .where(events.c.id == sa.bindparam("row_id"))
                .values(original_timestamp=sa.bindparam("moment")),
                updates,
            )
        last = rows[-1].id


def upgrade() -> None:
    conn = op.get_bind()
    seq = _sequence(conn)
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(
            sa.Column("original_timestamp", rapport.db.metadata.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint("uq_events_source_message", type_="unique")
    _restore_sequence(conn, seq)
    _fill_own_times(conn)
    op.create_index(
        "uq_events_source_time_message", "events", ["source_id", "original_timestamp", "message_id"], unique=True
    )
    op.create_index(
        "uq_events_source_message_untimed",
        "events",
        ["source_id", "message_id"],
        unique=True,
        sqlite_where=UNTIMED,
        postgresql_where=UNTIMED,
    )


def downgrade() -> None:
    conn = op.get_bind()
    repeated = conn.execute(
        sa.text("SELECT count(*) FROM (SELECT 1 FROM events GROUP BY source_id, message_id HAVING count(*) > 1) AS r")
    ).scalar()
    if repeated:
        raise RuntimeError(
            f"{repeated} messageIds are in the log more than once with different times of their own; "
            "the old key cannot hold them. Nothing was changed."
        )
    op.drop_index("uq_events_source_message_untimed", table_name="events")
    op.drop_index("uq_events_source_time_message", table_name="events")
    seq = _sequence(conn)
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.create_unique_constraint("uq_events_source_message", ["source_id", "message_id"])
        batch_op.drop_column("original_timestamp")
    _restore_sequence(conn, seq)
