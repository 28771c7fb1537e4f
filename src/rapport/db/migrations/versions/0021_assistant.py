"""assistant: conversations with the assistant and their turns

A conversation is bound to the browser that started it (its source and anonymousId, as an
identifier key); one handed to a person names its case (no foreign key: erasure removes a person's
cases and conversations in either order).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "assistant_conversations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("visitor_key", sa.String(length=420), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failed_turns", sa.Integer(), nullable=False),
        sa.Column("options", JSON_DOC, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_conversations")),
        sa.UniqueConstraint("token", name=op.f("uq_assistant_conversations_token")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("assistant_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistant_conversations_visitor_key"), ["visitor_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_assistant_conversations_case_id"), ["case_id"], unique=False)
    op.create_table(
        "assistant_turns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("intent", sa.String(length=120), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("article_id", BIG_ID, nullable=True),
        sa.Column("article_slug", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["assistant_conversations.id"],
            name=op.f("fk_assistant_turns_conversation_id_assistant_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_turns")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("assistant_turns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistant_turns_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assistant_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_turns_conversation_id"))
    op.drop_table("assistant_turns")
    with op.batch_alter_table("assistant_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_conversations_case_id"))
        batch_op.drop_index(batch_op.f("ix_assistant_conversations_visitor_key"))
    op.drop_table("assistant_conversations")
