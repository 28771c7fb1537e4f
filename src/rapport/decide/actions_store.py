"""Tables of next best action: the action catalogue, engagement policies, the settings, what each
action's outcomes say (aggregates), and what was presented to whom and what they answered.

Presentations and outcomes are personal data (they name the profile): export lists them, erasure
deletes them. The catalogue, policies, settings and per-action counts name nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.decide.actions_model import Action, Policy, Settings, Stats, parse_settings
from rapport.kernel.registry import PersonalData, by_profile

actions = sa.Table(
    "decide_actions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("url", sa.String(2000)),
    sa.Column("item_id", sa.String(200)),
    sa.Column("value", sa.Float),
    sa.Column("lever", sa.Float, nullable=False),
    sa.Column("weights", JSONDoc, nullable=False),
    sa.Column("prior_alpha", sa.Float, nullable=False),
    sa.Column("prior_beta", sa.Float, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

policies = sa.Table(
    "decide_policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("actions", JSONDoc, nullable=False),  # action ids; [] for every action
    sa.Column("rules", JSONDoc, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

settings_table = sa.Table(
    "decide_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("document", JSONDoc, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Counts per action over everyone: what propensity learns from. No profile id.
action_stats = sa.Table(
    "decide_action_stats",
    metadata,
    sa.Column("action_id", sa.String(64), primary_key=True),
    sa.Column("shown", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("dismissed", sa.Integer, nullable=False),
    sa.Column("not_interested", sa.Integer, nullable=False),
)

# An action presented in a decision: the contact policy counts these, outcomes must name one.
presentations = sa.Table(
    "decide_presentations",
    metadata,
    sa.Column("decision_id", sa.String(32), primary_key=True),
    sa.Column("action_id", sa.String(64), primary_key=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("placement", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

# What the person answered to a presented action (one row per decision x action x outcome).
outcomes = sa.Table(
    "decide_outcomes",
    metadata,
    sa.Column("decision_id", sa.String(32), primary_key=True),
    sa.Column("action_id", sa.String(64), primary_key=True),
    sa.Column("outcome", sa.String(32), primary_key=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("event_id", BigId, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

SETTINGS_KEY = "next_best_action"


def action_from_row(row: Any) -> Action:
    return Action(
        row.id,
        row.name,
        row.kind,
        row.title,
        row.text,
        row.url,
        row.item_id,
        row.value,
        row.lever,
        dict(row.weights or {}),
        row.prior_alpha,
        row.prior_beta,
        bool(row.enabled),
    )


def policy_from_row(row: Any) -> Policy:
    return Policy(row.id, row.name, row.stage, tuple(row.actions or ()), dict(row.rules), bool(row.enabled))


def load_actions(conn: Connection) -> list[Action]:
    return [action_from_row(r) for r in conn.execute(sa.select(actions).order_by(actions.c.id))]


def load_policies(conn: Connection) -> list[Policy]:
    return [policy_from_row(r) for r in conn.execute(sa.select(policies).order_by(policies.c.id))]


SETTINGS_DOCUMENT = sa.select(settings_table.c.document).where(settings_table.c.key == SETTINGS_KEY)


def settings_of(document: dict[str, Any] | None) -> Settings:
    return parse_settings(document) if document else Settings()


def load_settings(conn: Connection) -> Settings:
    return settings_of(conn.execute(SETTINGS_DOCUMENT).scalar())


def load_stats(conn: Connection, ids: Sequence[str]) -> dict[str, Stats]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(action_stats).where(action_stats.c.action_id.in_(list(ids))))
    return {r.action_id: Stats(r.shown, r.accepted, r.dismissed, r.not_interested) for r in rows}


def answers_of(conn: Connection, member_ids: list[str], since: datetime) -> dict[str, list[tuple[str, datetime]]]:
    """The person's outcomes since `since`, per action."""
    rows = conn.execute(
        sa.select(outcomes.c.action_id, outcomes.c.outcome, outcomes.c.at).where(
            outcomes.c.profile_id.in_(member_ids), outcomes.c.at >= since
        )
    )
    found: dict[str, list[tuple[str, datetime]]] = {}
    for action_id, outcome, at in rows:
        found.setdefault(action_id, []).append((outcome, at))
    return found


def presented_in(conn: Connection, decision_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The actions each decision presented, with what the person answered to each (oldest first)."""
    if not decision_ids:
        return {}
    ids = list(decision_ids)
    answered: dict[tuple[str, str], list[str]] = {}
    for row in conn.execute(
        sa.select(outcomes.c.decision_id, outcomes.c.action_id, outcomes.c.outcome)
        .where(outcomes.c.decision_id.in_(ids))
        .order_by(outcomes.c.at)
    ):
        answered.setdefault((row.decision_id, row.action_id), []).append(row.outcome)
    found: dict[str, list[dict[str, Any]]] = {}
    for decision_id, action_id in conn.execute(
        sa.select(presentations.c.decision_id, presentations.c.action_id).where(presentations.c.decision_id.in_(ids))
    ):
        entry = {"id": action_id, "outcomes": answered.get((decision_id, action_id), [])}
        found.setdefault(decision_id, []).append(entry)
    return found


def recent_presentations(conn: Connection, member_ids: list[str], limit: int = 10) -> list[dict[str, Any]]:
    """The actions presented to the person lately, newest first, with what they answered."""
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(presentations)
            .where(presentations.c.profile_id.in_(member_ids))
            .order_by(presentations.c.at.desc(), presentations.c.action_id)
            .limit(limit)
        )
    ]
    answers = presented_in(conn, sorted({r["decision_id"] for r in rows}))
    for row in rows:
        entry = next((a for a in answers.get(row["decision_id"], []) if a["id"] == row["action_id"]), None)
        row["outcomes"] = entry["outcomes"] if entry else []
    return rows


PERSONAL_DATA = (
    PersonalData(
        presentations,
        by_profile(presentations.c.profile_id),
        description="next best actions presented to the person, where and when",
    ),
    PersonalData(
        outcomes,
        by_profile(outcomes.c.profile_id),
        description="what the person answered to an action (accepted, dismissed, not interested)",
    ),
)
