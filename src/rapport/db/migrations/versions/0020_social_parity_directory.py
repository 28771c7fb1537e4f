"""service desk: social mentions and handle proof codes, the public channel directory

A proven handle is an identifier of type `social` in the identity graph (verification `proven`): no
new column there. Follower counts stay in case_influence (0015), apart from the queue.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "social_mentions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("posted_at", WHEN, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("needs_service", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("profile_id", sa.String(length=32), nullable=True),
        sa.Column("author_key", sa.String(length=400), nullable=True),
        sa.Column("proof", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("network", "url", name="uq_social_mentions_url"),
        sqlite_autoincrement=True,
    )
    for column in ("handle", "case_id", "profile_id", "author_key"):
        op.create_index(f"ix_social_mentions_{column}", "social_mentions", [column])
    op.create_table(
        "social_link_codes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("used_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_social_link_codes_profile_id", "social_link_codes", ["profile_id"])
    op.create_table(
        "channel_directory",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=True),
        sa.Column("policy", sa.String(length=64), nullable=True),
        sa.Column("topics", JSON_DOC, nullable=False),
        sa.Column("links", JSON_DOC, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("channel_directory")
    op.drop_index("ix_social_link_codes_profile_id", table_name="social_link_codes")
    op.drop_table("social_link_codes")
    for column in ("handle", "case_id", "profile_id", "author_key"):
        op.drop_index(f"ix_social_mentions_{column}", table_name="social_mentions")
    op.drop_table("social_mentions")
