"""decide: next best action: the action catalogue, engagement policies, settings, per-action counts,
presentations and outcomes

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-13 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decide_actions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("item_id", sa.String(200)),
        sa.Column("value", sa.Float()),
        sa.Column("lever", sa.Float(), nullable=False),
        sa.Column("weights", JSON_DOC, nullable=False),
        sa.Column("prior_alpha", sa.Float(), nullable=False),
        sa.Column("prior_beta", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decide_actions"),
    )
    op.create_table(
        "decide_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("actions", JSON_DOC, nullable=False),
        sa.Column("rules", JSON_DOC, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decide_policies"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "decide_settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("document", JSON_DOC, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_decide_settings"),
    )
    op.create_table(
        "decide_action_stats",
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("not_interested", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name="pk_decide_action_stats"),
    )
    op.create_table(
        "decide_presentations",
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("placement", sa.String(32), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name="fk_decide_presentations_profile_id_profiles"),
        sa.PrimaryKeyConstraint("decision_id", "action_id", name="pk_decide_presentations"),
    )
    op.create_index("ix_decide_presentations_profile_id", "decide_presentations", ["profile_id"])
    op.create_table(
        "decide_outcomes",
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name="fk_decide_outcomes_profile_id_profiles"),
        sa.PrimaryKeyConstraint("decision_id", "action_id", "outcome", name="pk_decide_outcomes"),
    )
    op.create_index("ix_decide_outcomes_profile_id", "decide_outcomes", ["profile_id"])


def downgrade() -> None:
    op.drop_index("ix_decide_outcomes_profile_id", table_name="decide_outcomes")
    op.drop_table("decide_outcomes")
    op.drop_index("ix_decide_presentations_profile_id", table_name="decide_presentations")
    op.drop_table("decide_presentations")
    op.drop_table("decide_action_stats")
    op.drop_table("decide_settings")
    op.drop_table("decide_policies")
    op.drop_table("decide_actions")
