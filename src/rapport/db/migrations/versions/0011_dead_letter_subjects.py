"""dead letters are found by the normalized identifiers they name, not by substrings

Export and erasure found a person's rejected messages by any substring of their contact values and
names, so the first name "Ada" pulled in a message mentioning "Canada", and erasing a profile named
so deleted other people's dead letters. Each dead letter now lists the identifiers it names
(emails normalized, phones by their digits), parsed once (collect/subjects.py); existing ones are
parsed here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 08:30:00
"""

import sqlalchemy as sa
from alembic import op

from rapport.collect.subjects import subject_keys

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    subjects = op.create_table(
        "dead_letter_subjects",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("dead_letter_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["dead_letter_id"],
            ["dead_letters.id"],
            name="fk_dead_letter_subjects_dead_letter_id_dead_letters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "dead_letter_id", name="pk_dead_letter_subjects"),
    )
    op.create_index("ix_dead_letter_subjects_dead_letter_id", "dead_letter_subjects", ["dead_letter_id"])
    conn = op.get_bind()
    letters = sa.table("dead_letters", sa.column("id", BIG_ID), sa.column("payload", sa.Text))
    last = 0
    while True:  # in pages, so a large table never sits in memory whole
        page = conn.execute(
            sa.select(letters.c.id, letters.c.payload).where(letters.c.id > last).order_by(letters.c.id).limit(1000)
        ).all()
        if not page:
            break
        rows = [{"dead_letter_id": i, "key": k} for i, payload in page for k in sorted(subject_keys(payload or ""))]
        if rows:
            conn.execute(subjects.insert(), rows)
        last = page[-1].id


def downgrade() -> None:
    op.drop_index("ix_dead_letter_subjects_dead_letter_id", table_name="dead_letter_subjects")
    op.drop_table("dead_letter_subjects")
