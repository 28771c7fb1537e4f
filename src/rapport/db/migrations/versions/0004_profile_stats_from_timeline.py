"""a profile's event count and first/last seen come from its timeline, not from columns

The processor rewrote each profile's counters once per batch it appeared in: about one random page
write per event, a tenth of its time (bench/processor.py). `profile_events` already holds every
fact they summarize, keyed by profile and time, so reading them there is a short index range.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:40:00
"""

import sqlalchemy as sa
from alembic import op

import rapport.db.metadata

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("first_seen", "last_seen", "event_count")


def upgrade() -> None:
    # Not batch mode: SQLite (>= 3.35) drops a plain column in place, and rebuilding `profiles`
    # would need its many referencing foreign keys switched off.
    for name in COLUMNS:
        op.drop_column("profiles", name)


def downgrade() -> None:
    op.add_column("profiles", sa.Column("first_seen", rapport.db.metadata.UTCDateTime(timezone=True), nullable=True))
    op.add_column("profiles", sa.Column("last_seen", rapport.db.metadata.UTCDateTime(timezone=True), nullable=True))
    op.add_column("profiles", sa.Column("event_count", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE profiles SET event_count = (SELECT count(*) FROM profile_events pe WHERE pe.profile_id = profiles.id), "
        "first_seen = (SELECT min(timestamp) FROM profile_events pe WHERE pe.profile_id = profiles.id), "
        "last_seen = (SELECT max(timestamp) FROM profile_events pe WHERE pe.profile_id = profiles.id)"
    )
