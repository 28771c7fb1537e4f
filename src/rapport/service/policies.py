"""SLA calendars and policies as cases read them, and the rules of what admins may set
(service/policy_admin.py writes them).

A policy's targets are copied into the case's history when it applies (service/service.py), so a
policy changed later applies from that moment, never to time already counted. Calendars are read
as they are now defined.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.kernel.errors import Invalid
from rapport.service.calendar import Calendar, CalendarError, parse_calendar
from rapport.service.model import CHANNELS, PRIORITIES, CaseRuleError, PolicyRule, clean_topic
from rapport.service.sla import Targets
from rapport.service.store import sla_calendars, sla_policies

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_MINUTES = 366 * 24 * 60
_CACHE: dict[str, tuple[datetime, Calendar]] = {}
_CACHE_LOCK = threading.Lock()


def check_name(name: str, what: str) -> str:
    if not (1 <= len(name) <= 64 and set(name) <= _NAME_CHARS):
        raise Invalid(f"invalid_{what}_name", f"a {what} name is 1 to 64 lower-case letters, digits, - and _")
    return name


ALWAYS_OPEN = "always"  # the calendar migration 0015 seeds; built in, should its row be missing


def load_calendars(conn: Connection) -> dict[str, Calendar]:
    """Every calendar, parsed once per change (kept per process by name and time of change)."""
    found: dict[str, Calendar] = {ALWAYS_OPEN: Calendar()}
    for name, document, updated_at in conn.execute(
        sa.select(sla_calendars.c.name, sla_calendars.c.document, sla_calendars.c.updated_at)
    ):
        with _CACHE_LOCK:
            cached = _CACHE.get(name)
        if cached is None or cached[0] != updated_at:
            try:
                cached = (updated_at, parse_calendar(document))
            except CalendarError:  # stored before a rule tightened: count it as always open rather than fail reads
                cached = (updated_at, Calendar())
            with _CACHE_LOCK:
                _CACHE[name] = cached
        found[name] = cached[1]
    return found


@dataclass(frozen=True)
class Policy:
    rule: PolicyRule
    calendar: str
    targets: Targets

    def snapshot(self) -> dict[str, Any]:
        """As it is copied into a case's history when it applies."""
        t = self.targets
        return {
            "name": self.rule.name,
            "calendar": self.calendar,
            "targets": {
                "first_response_s": t.first_response_s,
                "next_response_s": t.next_response_s,
                "resolution_s": t.resolution_s,
                "warn_before_s": t.warn_before_s,
            },
        }


def _minutes(value: int | None) -> int | None:
    return None if value is None else value * 60


# The policy migration 0015 seeds. It is always there: admins change it (PUT .../policies/default),
# and removing it brings back these built-in targets.
DEFAULT_POLICY = Policy(
    PolicyRule("default", 1000, None, None, None), ALWAYS_OPEN, Targets(86_400, 86_400, 432_000, 3_600)
)


def load_policies(conn: Connection) -> dict[str, Policy]:
    policies = {}
    for row in conn.execute(sa.select(sla_policies)):
        rule = PolicyRule(row.name, row.position, row.channel, row.topic, row.priority)
        targets = Targets(
            _minutes(row.first_response_minutes),
            _minutes(row.next_response_minutes),
            _minutes(row.resolution_minutes),
            row.warn_before_minutes * 60,
        )
        policies[row.name] = Policy(rule, row.calendar, targets)
    policies.setdefault(DEFAULT_POLICY.rule.name, DEFAULT_POLICY)
    return policies


POLICY_FIELDS = (
    *("name", "position", "channel", "topic", "priority", "calendar", "first_response_minutes"),
    *("next_response_minutes", "resolution_minutes", "warn_before_minutes", "updated_at", "updated_by"),
)


def policy_view(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in POLICY_FIELDS}


def list_policies(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(sla_policies).order_by(sla_policies.c.position, sla_policies.c.name))
    found = [policy_view(r._mapping) for r in rows]
    if not any(p["name"] == DEFAULT_POLICY.rule.name for p in found):
        found.append(_built_in())
    return sorted(found, key=lambda p: (p["position"], p["name"]))


def _built_in() -> dict[str, Any]:
    rule, t = DEFAULT_POLICY.rule, DEFAULT_POLICY.targets
    minutes = {
        "first_response_minutes": t.first_response_s,
        "next_response_minutes": t.next_response_s,
        "resolution_minutes": t.resolution_s,
        "warn_before_minutes": t.warn_before_s,
    }
    return {
        **{"name": rule.name, "position": rule.position, "channel": None, "topic": None, "priority": None},
        "calendar": DEFAULT_POLICY.calendar,
        **{key: (value or 0) // 60 for key, value in minutes.items()},
        "updated_at": None,
        "updated_by": "built in",
    }


def list_calendars(conn: Connection) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(sa.select(sla_calendars).order_by(sla_calendars.c.name))]
    if not any(r["name"] == ALWAYS_OPEN for r in rows):
        rows.insert(
            0, {"name": ALWAYS_OPEN, "document": {"timezone": "UTC"}, "updated_at": None, "updated_by": "built in"}
        )
    return rows


def policy_values(spec: dict[str, Any]) -> dict[str, Any]:
    channel, priority = spec.get("channel"), spec.get("priority")
    if channel is not None and channel not in CHANNELS:
        raise Invalid("invalid_channel", f"channel must be one of {', '.join(CHANNELS)} or null (any)")
    if priority is not None and priority not in PRIORITIES:
        raise Invalid("invalid_priority", f"priority must be one of {', '.join(PRIORITIES)} or null (any)")
    try:
        topic = clean_topic(spec.get("topic"))
    except CaseRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None
    minutes = {}
    for key in ("first_response_minutes", "next_response_minutes", "resolution_minutes", "warn_before_minutes"):
        value = spec.get(key)
        if value is not None and not 0 <= value <= MAX_MINUTES:
            raise Invalid("invalid_target", f"{key} must be between 0 and {MAX_MINUTES} (a year)")
        minutes[key] = value
    return {
        "position": spec.get("position", 100),
        "channel": channel,
        "topic": topic,
        "priority": priority,
        "calendar": check_name(spec.get("calendar", "always"), "calendar"),
        **minutes,
        "warn_before_minutes": minutes["warn_before_minutes"] or 0,
    }
