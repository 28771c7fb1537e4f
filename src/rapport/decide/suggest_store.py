"""Tables of the adaptive experience: usage lines (what each event says about how a person uses an
app or site) and suggestions (each question asked, its answer and when it may be asked again).

Usage lines keep their event, not a profile, as item lines do (decide/store.py): a person's lines
are those of the events of every profile in their merge group. A suggestion belongs to the profile
that was canonical when it was first asked, and is read through the person's merge group.
"""

from __future__ import annotations

import time
import weakref
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.store import sources
from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.decide.suggest import ACCEPTED, Population, Use
from rapport.decide.usage import CHOICE, SURFACES
from rapport.kernel.registry import PersonalData, by_profile
from rapport.profiles.store import profile_events

USAGE_CONSUMER = "decide_usage"  # its offset's name; never rename it

usage = sa.Table(
    "decide_usage",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", BigId, nullable=False, index=True),  # no FK: erasure deletes these first
    sa.Column("kind", sa.String(16), nullable=False),  # feature | screen | page | choice
    sa.Column("name", sa.String(100), nullable=False),  # the feature, screen, page; a choice's event
    sa.Column("key", sa.String(100)),  # a choice's property
    sa.Column("value", sa.String(60)),  # a choice's value
    sa.Column("at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)
sa.Index("ix_decide_usage_kind_name", usage.c.kind, usage.c.name)

suggestions = sa.Table(
    "decide_suggestions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("key", sa.String(300), nullable=False),  # kind:target: one question per person and key
    sa.Column("kind", sa.String(16), nullable=False),  # pin | hide | default
    sa.Column("target", JSONDoc, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("evidence", JSONDoc, nullable=False),  # counts of their own usage it was built from
    sa.Column("status", sa.String(16), nullable=False),  # pending | accepted | declined
    sa.Column("asked_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("answered_by", sa.String(200)),
    sa.Column("ask_again_after", UTCDateTime),  # a "no": not asked again before this
    sa.UniqueConstraint("profile_id", "key"),
)


def _persons_usage(ids: list[str], _keys: list[str]) -> sa.ColumnElement[bool]:
    return usage.c.event_id.in_(sa.select(profile_events.c.event_id).where(profile_events.c.profile_id.in_(ids)))


def internal_sources(conn: Connection) -> frozenset[int]:
    """Rapport's own sources (collect/internal.py): what contexts record is not the person's usage."""
    return frozenset(conn.execute(sa.select(sources.c.id).where(sources.c.name.like("internal:%"))).scalars())


def uses_of(conn: Connection, members: list[str], since: datetime) -> list[Use]:
    """How often the person did each thing since `since`, from the events of their merge group."""
    query = (
        sa.select(usage.c.kind, usage.c.name, usage.c.key, usage.c.value, sa.func.count().label("uses"))
        .select_from(usage.join(profile_events, profile_events.c.event_id == usage.c.event_id))
        .where(profile_events.c.profile_id.in_(members), usage.c.at >= since)
        .group_by(usage.c.kind, usage.c.name, usage.c.key, usage.c.value)
    )
    return [Use(r.kind, r.name, r.key, r.value, int(r.uses)) for r in conn.execute(query)]


MENU_MIN_USES = 3  # a surface is on the menu once it was used this often, by anyone
_POPULATION_TTL_S = 300.0
_population: weakref.WeakKeyDictionary[Any, tuple[float, Population]] = weakref.WeakKeyDictionary()


def population(conn: Connection, since: datetime) -> Population:
    """The menu and the real choices, aggregated over everyone; computed at most every 5 minutes per
    engine, as it scans the usage of the window."""
    cache_key = conn.engine
    cached = _population.get(cache_key)
    if cached is not None and time.monotonic() - cached[0] < _POPULATION_TTL_S:
        return cached[1]
    menu = conn.execute(
        sa.select(usage.c.kind, usage.c.name)
        .where(usage.c.kind.in_(SURFACES), usage.c.at >= since)
        .group_by(usage.c.kind, usage.c.name)
        .having(sa.func.count() >= MENU_MIN_USES)
    ).all()
    choices = conn.execute(
        sa.select(usage.c.name, usage.c.key)
        .where(usage.c.kind == CHOICE, usage.c.at >= since)
        .group_by(usage.c.name, usage.c.key)
        .having(sa.func.count(sa.distinct(usage.c.value)) > 1)
    ).all()
    found = Population(frozenset((r.kind, r.name) for r in menu), frozenset((r.name, r.key) for r in choices))
    _population[cache_key] = (time.monotonic(), found)
    return found


def forget_population() -> None:
    """Drop the cached aggregates (tests that change the usage and ask again at once)."""
    _population.clear()


def suggestions_of(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    query = (
        sa.select(suggestions)
        .where(suggestions.c.profile_id.in_(members))
        .order_by(suggestions.c.asked_at.desc(), suggestions.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def accepted_of(conn: Connection, members: list[str]) -> list[tuple[str, dict[str, Any]]]:
    query = (
        sa.select(suggestions.c.kind, suggestions.c.target)
        .where(suggestions.c.profile_id.in_(members), suggestions.c.status == ACCEPTED)
        .order_by(suggestions.c.answered_at, suggestions.c.id)
    )
    return [(r.kind, r.target) for r in conn.execute(query)]


# What of the adaptive experience is personal data: export and erasure are driven from it.
PERSONAL_DATA = (
    PersonalData(
        usage,
        _persons_usage,
        found_through=("profile_events",),
        description="features, screens and pages used, and choices made, from every channel",
    ),
    PersonalData(
        suggestions,
        by_profile(suggestions.c.profile_id),
        description="suggestions to adapt the experience, the answers, and so the layout they chose",
    ),
)
