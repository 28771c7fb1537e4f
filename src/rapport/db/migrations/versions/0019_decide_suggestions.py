"""decide: usage lines and suggestions that adapt the experience (asked first); the catalogue's newest change

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "decide_usage",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key", sa.String(100)),
        sa.Column("value", sa.String(60)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decide_usage"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decide_usage_event_id", "decide_usage", ["event_id"])
    op.create_index("ix_decide_usage_kind_name", "decide_usage", ["kind", "name"])
    op.create_table(
        "decide_suggestions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", JSON_DOC, nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("evidence", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answered_by", sa.String(200)),
        sa.Column("ask_again_after", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name="fk_decide_suggestions_profile_id_profiles"),
        sa.PrimaryKeyConstraint("id", name="pk_decide_suggestions"),
        sa.UniqueConstraint("profile_id", "key", name="uq_decide_suggestions_profile_id"),
    )
    op.create_index("ix_decide_suggestions_profile_id", "decide_suggestions", ["profile_id"])
    # decide/catalog_cache.py: the newest change to the catalogue, read on every decision
    op.create_index("ix_decide_items_updated_at", "decide_items", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_decide_items_updated_at", table_name="decide_items")
    op.drop_index("ix_decide_suggestions_profile_id", table_name="decide_suggestions")
    op.drop_table("decide_suggestions")
    op.drop_index("ix_decide_usage_kind_name", table_name="decide_usage")
    op.drop_index("ix_decide_usage_event_id", table_name="decide_usage")
    op.drop_table("decide_usage")
