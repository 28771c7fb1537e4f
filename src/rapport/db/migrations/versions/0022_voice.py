"""voice: surveys, invitations, responses and answers, ask-or-skip decisions, triggers from the
log, settings and the participation scorecard (issue 17)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 15:38:04
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scorecard_assessments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecard_assessments")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("scorecard_assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scorecard_assessments_item"), ["item"], unique=False)

    op.create_table(
        "scorecard_snapshots",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("items", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecard_snapshots")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("scorecard_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scorecard_snapshots_at"), ["at"], unique=False)

    op.create_table(
        "survey_triggers",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("survey_id", BIG_ID, nullable=False),
        sa.Column("touchpoint", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_triggers")),
        sa.UniqueConstraint("event_id", name=op.f("uq_survey_triggers_event_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("survey_triggers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_triggers_status"), ["status"], unique=False)

    op.create_table(
        "surveys",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("milestone_event", sa.String(length=100), nullable=True),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("questions", JSON_DOC, nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "voice_settings",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("document", JSON_DOC, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_voice_settings")),
    )
    op.create_table(
        "ask_decisions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("survey_id", BIG_ID, nullable=False),
        sa.Column("touchpoint", sa.String(length=120), nullable=False),
        sa.Column("asked", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("invitation_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name=op.f("fk_ask_decisions_profile_id_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ask_decisions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ask_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ask_decisions_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "survey_invitations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("survey_id", BIG_ID, nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("touchpoint", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("sent_status", sa.String(length=16), nullable=False),
        sa.Column("sent_reason", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("reminded_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_survey_invitations_profile_id_profiles")
        ),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_invitations_survey_id_surveys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_invitations_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_invitations_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_invitations_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("invitation_id", BIG_ID, nullable=False),
        sa.Column("survey_id", BIG_ID, nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("answered_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detractor_reason", sa.Text(), nullable=True),
        sa.Column("follow_up_case_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_responses_invitation_id_survey_invitations"),
        ),
        sa.ForeignKeyConstraint(["profile_id"], ["profiles.id"], name=op.f("fk_survey_responses_profile_id_profiles")),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_responses_survey_id_surveys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_responses_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "survey_answers",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("response_id", BIG_ID, nullable=False),
        sa.Column("survey_id", BIG_ID, nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("question_key", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("sentiment", sa.String(length=8), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("topics", JSON_DOC, nullable=True),
        sa.Column("touchpoint", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("answered_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"], ["survey_responses.id"], name=op.f("fk_survey_answers_response_id_survey_responses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_answers_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answers_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answers_response_id"), ["response_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answers_survey_id"), ["survey_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answers_survey_id"))
        batch_op.drop_index(batch_op.f("ix_survey_answers_response_id"))
        batch_op.drop_index(batch_op.f("ix_survey_answers_profile_id"))
        batch_op.drop_index(batch_op.f("ix_survey_answers_answered_at"))

    op.drop_table("survey_answers")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_survey_id"))
        batch_op.drop_index(batch_op.f("ix_survey_responses_profile_id"))

    op.drop_table("survey_responses")
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_invitations_survey_id"))
        batch_op.drop_index(batch_op.f("ix_survey_invitations_profile_id"))
        batch_op.drop_index(batch_op.f("ix_survey_invitations_created_at"))

    op.drop_table("survey_invitations")
    with op.batch_alter_table("ask_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ask_decisions_profile_id"))

    op.drop_table("ask_decisions")
    op.drop_table("voice_settings")
    op.drop_table("surveys")
    with op.batch_alter_table("survey_triggers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_triggers_status"))

    op.drop_table("survey_triggers")
    with op.batch_alter_table("scorecard_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorecard_snapshots_at"))

    op.drop_table("scorecard_snapshots")
    with op.batch_alter_table("scorecard_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorecard_assessments_item"))

    op.drop_table("scorecard_assessments")
