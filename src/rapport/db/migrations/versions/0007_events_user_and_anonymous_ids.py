"""events keep the message's userId and anonymousId in columns of their own

The processor needs a message's two ids for every event, and for most events nothing else but
their type: a page or track of a person it has already placed, with no traits, device or consent
in it. Read from columns, those events are placed without decoding their payload, which was the
largest single cost of placing them (docs/architecture.md, "Throughput on SQLite"). The columns
hold the ids as ingest normalized them; rows already in the log get them from their payload.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("user_id", sa.Text(), nullable=True))
    op.add_column("events", sa.Column("anonymous_id", sa.Text(), nullable=True))
    _fill_ids(op.get_bind())


def _fill_ids(conn: sa.Connection) -> None:
    """Rows stored before this revision: their ids, from the payload (ingest stored them as strings)."""
    if conn.dialect.name == "postgresql":
        sql = "UPDATE events SET user_id = payload->>'userId', anonymous_id = payload->>'anonymousId'"
    else:
        sql = (
            "UPDATE events SET user_id = json_extract(payload, '$.userId'), "
            "anonymous_id = json_extract(payload, '$.anonymousId')"
        )
    conn.execute(sa.text(sql))


def downgrade() -> None:
    op.drop_column("events", "anonymous_id")  # in place on SQLite >= 3.35, as 0004 does
    op.drop_column("events", "user_id")
