"""Tables of the voice of the customer: surveys, invitations (one signed link each), responses and
their answers, every ask-or-skip decision with its reason, the triggers read from the log, the
settings (fatigue policy, participation goal, what interactions are worth) and the scorecard."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.kernel.registry import PersonalData

CONSUMER = "voice"  # its offset's name in log_offsets: never rename

surveys = sa.Table(
    "surveys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),  # model.TRIGGERS
    sa.Column("milestone_event", sa.String(100)),  # the track event of a milestone survey
    sa.Column("delivery", sa.String(8), nullable=False),  # email | portal | embed
    sa.Column("questions", JSONDoc, nullable=False),
    sa.Column("period_days", sa.Integer),  # relationship surveys: ask each customer once per period
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("last_run_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sqlite_autoincrement=True,
)

survey_invitations = sa.Table(
    "survey_invitations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("survey_id", BigId, sa.ForeignKey("surveys.id"), nullable=False, index=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("nonce", sa.String(32), nullable=False),  # in the signed token: the link is unguessable
    sa.Column("touchpoint", sa.String(120), nullable=False),  # case_solved, purchase, milestone:<event> ...
    sa.Column("channel", sa.String(16)),  # the channel of the interaction asked about
    sa.Column("delivery", sa.String(8), nullable=False),
    sa.Column("case_id", BigId),
    sa.Column("sent_status", sa.String(16), nullable=False),  # queued | suppressed | failed | shown
    sa.Column("sent_reason", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("reminded_at", UTCDateTime),  # the one reminder of an unanswered mailed survey
    sqlite_autoincrement=True,
)

survey_responses = sa.Table(
    "survey_responses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("invitation_id", BigId, sa.ForeignKey("survey_invitations.id"), nullable=False, unique=True),
    sa.Column("survey_id", BigId, sa.ForeignKey("surveys.id"), nullable=False, index=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("answered_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("detractor_reason", sa.Text),
    sa.Column("follow_up_case_id", BigId),
    sqlite_autoincrement=True,
)

survey_answers = sa.Table(
    "survey_answers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("response_id", BigId, sa.ForeignKey("survey_responses.id"), nullable=False, index=True),
    sa.Column("survey_id", BigId, nullable=False, index=True),
    sa.Column("profile_id", sa.String(32), nullable=False, index=True),
    sa.Column("question_key", sa.String(32), nullable=False),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("raw", sa.Text, nullable=False),  # the answer as given, always
    sa.Column("score", sa.Integer),
    sa.Column("sentiment", sa.String(8)),  # written answers: negative | neutral | positive
    sa.Column("sentiment_score", sa.Float),
    sa.Column("topics", JSONDoc),
    sa.Column("touchpoint", sa.String(120), nullable=False),
    sa.Column("channel", sa.String(16)),
    sa.Column("delivery", sa.String(8), nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=False, index=True),
    sqlite_autoincrement=True,
)

ask_decisions = sa.Table(
    "ask_decisions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("survey_id", BigId, nullable=False),
    sa.Column("touchpoint", sa.String(120), nullable=False),
    sa.Column("asked", sa.Boolean, nullable=False),
    sa.Column("rule", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("invitation_id", BigId),
    sqlite_autoincrement=True,
)

# Events of the log that may call for a survey, waiting until the profile processor has placed them.
survey_triggers = sa.Table(
    "survey_triggers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", BigId, nullable=False, unique=True),
    sa.Column("survey_id", BigId, nullable=False),
    sa.Column("touchpoint", sa.String(120), nullable=False),
    sa.Column("channel", sa.String(16)),
    sa.Column("case_id", BigId),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(8), nullable=False, index=True),  # waiting | done | dropped
    sa.Column("reason", sa.Text),
    sqlite_autoincrement=True,
)

voice_settings = sa.Table(
    "voice_settings",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),  # fatigue | participation
    sa.Column("document", JSONDoc, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

scorecard_assessments = sa.Table(
    "scorecard_assessments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("item", sa.String(32), nullable=False, index=True),
    sa.Column("met", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sqlite_autoincrement=True,
)

scorecard_snapshots = sa.Table(
    "scorecard_snapshots",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("items", JSONDoc, nullable=False),
    sqlite_autoincrement=True,
)


def setting_document(name: str) -> sa.Select[Any]:
    return sa.select(voice_settings.c.document).where(voice_settings.c.name == name)


def setting(conn: Connection, name: str) -> dict[str, Any] | None:
    found = conn.execute(setting_document(name)).scalar()
    return dict(found) if isinstance(found, dict) else None


def survey_row(conn: Connection, survey_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(surveys).where(surveys.c.id == survey_id)).first()
    return dict(row._mapping) if row else None


def invitation_row(conn: Connection, invitation_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(survey_invitations).where(survey_invitations.c.id == invitation_id)).first()
    return dict(row._mapping) if row else None


def response_of(conn: Connection, invitation_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(survey_responses).where(survey_responses.c.invitation_id == invitation_id)).first()
    return dict(row._mapping) if row else None


def answers_of(conn: Connection, response_id: int) -> list[dict[str, Any]]:
    query = sa.select(survey_answers).where(survey_answers.c.response_id == response_id).order_by(survey_answers.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def _by_profile(table: sa.Table) -> Any:
    return lambda ids, _keys: table.c.profile_id.in_(ids)


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(survey_invitations, _by_profile(survey_invitations), description="the surveys we asked them"),
    PersonalData(survey_responses, _by_profile(survey_responses), description="their survey responses"),
    PersonalData(
        survey_answers, _by_profile(survey_answers), description="each answer as they gave it, and what we read in it"
    ),
    PersonalData(
        ask_decisions, _by_profile(ask_decisions), description="each time we chose to ask them or not, and why"
    ),
)
