"""outbound mail waits in an outbox for the worker

Requests used to talk SMTP themselves: a mail server that hung held a server thread for its
timeout, and a failed send was never tried again. A message the permission check allows is now
written here in the transaction of its contact-history row, and the outbox worker sends it
(outbound/worker.py), trying again after temporary failures.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False),
        sa.Column("history_id", BIG_ID),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("outreach", sa.Boolean(), nullable=False),
        sa.Column("contact_point", sa.String(360), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("last_error", sa.Text()),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name="fk_outbox_profile_id_profiles"),
        sa.ForeignKeyConstraint(["history_id"], ["contact_history.id"], name="fk_outbox_history_id_contact_history"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_profile_id", "outbox", ["profile_id"])
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due_at", table_name="outbox")
    op.drop_index("ix_outbox_profile_id", table_name="outbox")
    op.drop_table("outbox")
