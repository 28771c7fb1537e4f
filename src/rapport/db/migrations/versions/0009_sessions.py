"""signed-in sessions are kept on the server

The console's and the portal's cookies now name a row of `sessions`: signing out, revoking the staff
token or erasing the customer ends it here, so a copied cookie stops working at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 07:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_site_subject", "sessions", ["site", "subject"])


def downgrade() -> None:
    op.drop_index("ix_sessions_site_subject", table_name="sessions")
    op.drop_table("sessions")
