"""decide: the catalogue, item lines of e-commerce events, trained models and the decision log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "decide_items",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("category", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("price", sa.Float()),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("help", JSON_DOC, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decide_items"),
    )
    op.create_table(
        "decide_item_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(200)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymous_id", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_decide_item_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_decide_item_events_event_id", "decide_item_events", ["event_id"])
    op.create_index("ix_decide_item_events_item_id", "decide_item_events", ["item_id"])
    op.create_index("ix_decide_item_events_visit", "decide_item_events", ["anonymous_id", "at"])
    op.create_table(
        "decide_models",
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("params", JSON_DOC, nullable=False),
        sa.Column("summary", JSON_DOC, nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_decide_models"),
    )
    op.create_index("ix_decide_models_trained_at", "decide_models", ["trained_at"])
    op.create_table(
        "decide_decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("profile_id", sa.String(32)),
        sa.Column("placement", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("level_reason", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(40)),
        sa.Column("items", JSON_DOC, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name="fk_decide_decisions_profile_id_profiles"),
        sa.PrimaryKeyConstraint("id", name="pk_decide_decisions"),
    )
    op.create_index("ix_decide_decisions_profile_id", "decide_decisions", ["profile_id"])


def downgrade() -> None:
    op.drop_index("ix_decide_decisions_profile_id", table_name="decide_decisions")
    op.drop_table("decide_decisions")
    op.drop_index("ix_decide_models_trained_at", table_name="decide_models")
    op.drop_table("decide_models")
    op.drop_index("ix_decide_item_events_visit", table_name="decide_item_events")
    op.drop_index("ix_decide_item_events_item_id", table_name="decide_item_events")
    op.drop_index("ix_decide_item_events_event_id", table_name="decide_item_events")
    op.drop_table("decide_item_events")
    op.drop_table("decide_items")
