"""the timeline moves out of the event log into profile_events; events become immutable

The processor used to rewrite every event row to set `events.profile_id`, which cost more than
inserting the event (bench/sqlite_write_costs.py); it now inserts one narrow row per event into
`profile_events`, keyed for reading a timeline, and ingest maintains one index fewer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 18:20:00
"""

import sqlalchemy as sa
from alembic import op

import rapport.db.metadata

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _sequence(conn: sa.Connection) -> int | None:
    """The events offset high-water mark on SQLite, which rebuilding the table would lose."""
    if conn.dialect.name != "sqlite":
        return None
    return conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")).scalar()


def _restore_sequence(conn: sa.Connection, seq: int | None) -> None:
    if seq is not None:
        conn.execute(sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'events'"), {"seq": seq})


def upgrade() -> None:
    op.create_table(
        "profile_events",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("timestamp", rapport.db.metadata.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name=op.f("fk_profile_events_profile_id_profiles")),
        sa.PrimaryKeyConstraint("profile_id", "timestamp", "event_id", name=op.f("pk_profile_events")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO profile_events (profile_id, timestamp, event_id) "
        "SELECT profile_id, timestamp, id FROM events WHERE profile_id IS NOT NULL"
    )
    conn = op.get_bind()
    seq = _sequence(conn)
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_index("ix_events_profile_time")
        batch_op.drop_constraint("fk_events_profile_id_profiles", type_="foreignkey")
        batch_op.drop_column("profile_id")
    _restore_sequence(conn, seq)


def downgrade() -> None:
    conn = op.get_bind()
    seq = _sequence(conn)
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("profile_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key("fk_events_profile_id_profiles", "profiles", ["profile_id"], ["id"])
        batch_op.create_index("ix_events_profile_time", ["profile_id", "timestamp"], unique=False)
    _restore_sequence(conn, seq)
    op.execute(
        "UPDATE events SET profile_id = "
        "(SELECT pe.profile_id FROM profile_events pe WHERE pe.event_id = events.id)"
    )
    op.drop_table("profile_events")
