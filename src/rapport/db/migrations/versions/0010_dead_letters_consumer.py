"""dead letters of events set aside name the consumer that set them aside

Every context that reacts to the log is now a named consumer of it (collect/consumer.py), and each
sets aside, for itself alone, an event it fails on again and again. The dead letter names the
consumer, so `rapport admin replay-unprocessable --consumer NAME` applies it for that consumer
only. Until now only the profile processor (`profiles`) set events aside.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("consumer", sa.String(64)))
    op.execute("UPDATE dead_letters SET consumer = 'profiles' WHERE code = 'unprocessable'")


def downgrade() -> None:
    op.drop_column("dead_letters", "consumer")  # in place on SQLite >= 3.35, as 0004 does
