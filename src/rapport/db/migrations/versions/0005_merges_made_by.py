"""merges record who made them: the processor (NULL) or a member of staff

Staff can now merge two profiles on purpose (`POST /api/v1/merges`), for the people identity
resolution could not join or was told to keep apart by an undo; the merge history shows by whom,
as it already shows who undid a merge.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("merges", sa.Column("made_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("merges", "made_by")  # in place on SQLite >= 3.35, as 0004 does
