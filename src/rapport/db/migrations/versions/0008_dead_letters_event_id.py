"""dead letters of events the processor set aside name the event

An event the processor fails on again and again is set aside (profiles/poison.py): left in the
log, passed over, and recorded as a dead letter with code `unprocessable`. The dead letter now
holds the event's log offset, so `rapport admin replay-unprocessable` can apply it once the cause
is fixed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))


def downgrade() -> None:
    op.drop_column("dead_letters", "event_id")  # in place on SQLite >= 3.35, as 0004 does
