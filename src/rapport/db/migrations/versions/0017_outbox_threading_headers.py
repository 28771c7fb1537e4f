"""outbox: In-Reply-To and References of a reply, so mail clients thread it under the customer's mail

Both nullable: mail that answers nothing (a sign-in link, a marketing message) has neither.
`references` holds the Message-IDs separated by spaces, each `<...>` as in the header.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("references", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("references")
        batch_op.drop_column("in_reply_to")
