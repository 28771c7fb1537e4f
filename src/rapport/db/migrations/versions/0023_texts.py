"""texts: analysed texts (sentiment, topic, embedding) and the topics of the latest build

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"  # lead: chain after 0022 (0021 in the assistant branch, which merged this one)
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "text_topic_builds",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("built_at", WHEN, nullable=False),
        sa.Column("texts", sa.Integer(), nullable=False),
        sa.Column("topics", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("built_by", sa.String(length=200), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "text_topics",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("build_id", BIG_ID, sa.ForeignKey("text_topic_builds.id"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("terms", JSON_DOC, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_text_topics_build_id", "text_topics", ["build_id"])
    op.create_table(
        "text_analyses",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.String(length=32), sa.ForeignKey("profiles.id"), nullable=True),
        sa.Column("case_id", BIG_ID, sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("embedding", sa.Text(), nullable=True),
        sa.Column("topic_id", BIG_ID, sa.ForeignKey("text_topics.id"), nullable=True),
        sa.Column("analyzed_at", WHEN, nullable=False),
        sa.UniqueConstraint("source", "source_ref", name="uq_text_analyses_source"),
        sqlite_autoincrement=True,
    )
    for column in ("profile_id", "case_id", "occurred_at", "topic_id"):
        op.create_index(f"ix_text_analyses_{column}", "text_analyses", [column])


def downgrade() -> None:
    op.drop_table("text_analyses")
    op.drop_table("text_topics")
    op.drop_table("text_topic_builds")
