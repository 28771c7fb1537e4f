"""the service desk: cases, their messages, attachments and history, inbound mail, agents, SLA
calendars and policies (issue 15)

Follower counts are kept apart, in case_influence, which only the parity measurement reads (the
queue cannot: service/influence.py). A default calendar (always open, UTC) and policy (first and
next response within a day, resolution within five) are seeded, for admins to change.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "service_agents",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("teams", JSON_DOC, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_agents")),
    )
    op.create_table(
        "sla_calendars",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("document", JSON_DOC, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sla_calendars")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warn_before_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sla_policies")),
    )
    op.create_table(
        "cases",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("requester_profile_id", sa.String(length=32), nullable=True),
        sa.Column("requester_key", sa.String(length=400), nullable=True),
        sa.Column("requester_address", sa.String(length=360), nullable=True),
        sa.Column("requester_name", sa.String(length=200), nullable=True),
        sa.Column("policy", sa.String(length=64), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_into", BIG_ID, nullable=True),
        sa.Column("follows", BIG_ID, nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["follows"], ["cases.id"], name=op.f("fk_cases_follows_cases")),
        sa.ForeignKeyConstraint(["merged_into"], ["cases.id"], name=op.f("fk_cases_merged_into_cases")),
        sa.ForeignKeyConstraint(
            ["requester_profile_id"], ["profiles.id"], name=op.f("fk_cases_requester_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_queue", ["status", "next_due_at", "priority_rank", "waiting_since"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_requester_key"), ["requester_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_requester_profile_id"), ["requester_profile_id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=400), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_influence",
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_influence_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_influence")),
    )
    op.create_table(
        "case_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=400), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("display_text", sa.Text(), nullable=False),
        sa.Column("from_html", sa.Boolean(), nullable=False),
        sa.Column("mail_message_id", sa.String(length=250), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=True),
        sa.Column("delivery_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_messages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_messages_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_messages_mail_message_id"), ["mail_message_id"], unique=False)

    op.create_table(
        "inbound_mail",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sender_key", sa.String(length=400), nullable=True),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_inbound_mail_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_mail_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_mail_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_mail_sender_key"), ["sender_key"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["case_messages.id"], name=op.f("fk_case_attachments_message_id_case_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_message_id"), ["message_id"], unique=False)

    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "sla_calendars",
            sa.column("name"),
            sa.column("document", JSON_DOC),
            sa.column("updated_at", sa.DateTime(timezone=True)),
            sa.column("updated_by"),
        ),
        [{"name": "always", "document": {"timezone": "UTC"}, "updated_at": now, "updated_by": "migration:0015"}],
    )
    op.bulk_insert(
        sa.table(
            "sla_policies",
            sa.column("name"),
            sa.column("position"),
            sa.column("calendar"),
            sa.column("first_response_minutes"),
            sa.column("next_response_minutes"),
            sa.column("resolution_minutes"),
            sa.column("warn_before_minutes"),
            sa.column("updated_at", sa.DateTime(timezone=True)),
            sa.column("updated_by"),
        ),
        [
            {
                "name": "default",
                "position": 1000,
                "calendar": "always",
                "first_response_minutes": 24 * 60,
                "next_response_minutes": 24 * 60,
                "resolution_minutes": 5 * 24 * 60,
                "warn_before_minutes": 60,
                "updated_at": now,
                "updated_by": "migration:0015",
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_message_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_mail_sender_key"))
        batch_op.drop_index(batch_op.f("ix_inbound_mail_received_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_mail_case_id"))

    op.drop_table("inbound_mail")
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_messages_mail_message_id"))
        batch_op.drop_index(batch_op.f("ix_case_messages_case_id"))

    op.drop_table("case_messages")
    op.drop_table("case_influence")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_requester_profile_id"))
        batch_op.drop_index(batch_op.f("ix_cases_requester_key"))
        batch_op.drop_index("ix_cases_queue")

    op.drop_table("cases")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendars")
    op.drop_table("service_agents")
