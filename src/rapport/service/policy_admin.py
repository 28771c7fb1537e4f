"""Admins set SLA calendars and policies; the open cases follow at once (each change audited)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rapport.db.engine import Database
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound
from rapport.service.calendar import CalendarError, parse_calendar
from rapport.service.clock import reapply_policies
from rapport.service.policies import ALWAYS_OPEN, check_name, policy_values, policy_view
from rapport.service.store import sla_calendars, sla_policies


def set_calendar(db: Database, name: str, document: dict[str, Any], actor: str) -> dict[str, Any]:
    check_name(name, "calendar")
    try:
        parse_calendar(document)
    except CalendarError as exc:
        raise Invalid("invalid_calendar", str(exc)) from None
    now = utcnow()
    with db.write() as conn:
        values = {"document": document, "updated_at": now, "updated_by": actor}
        if not conn.execute(sla_calendars.update().where(sla_calendars.c.name == name).values(**values)).rowcount:
            conn.execute(sla_calendars.insert().values(name=name, **values))
        record_audit(conn, actor=actor, channel="api", action="sla.calendar_set", calendar=name)
        reapply_policies(conn, actor)  # due times move with the calendar
    return {"name": name, **values}


def set_policy(db: Database, name: str, spec: dict[str, Any], actor: str) -> dict[str, Any]:
    """Create or change a policy. The open cases it applies to take the new targets from now on
    (service.service.reapply_policies), keeping every second already counted or paused."""
    check_name(name, "policy")
    values = policy_values(spec)
    with db.write() as conn:
        known = sa.select(sla_calendars.c.name).where(sla_calendars.c.name == values["calendar"])
        if values["calendar"] != ALWAYS_OPEN and not conn.execute(known).first():
            raise NotFound(f"calendar {values['calendar']!r}", "unknown_calendar")
        now = utcnow()
        values |= {"updated_at": now, "updated_by": actor}
        if not conn.execute(sla_policies.update().where(sla_policies.c.name == name).values(**values)).rowcount:
            conn.execute(sla_policies.insert().values(name=name, **values))
        record_audit(conn, actor=actor, channel="api", action="sla.policy_set", policy=name)
        reapply_policies(conn, actor)
        row = conn.execute(sa.select(sla_policies).where(sla_policies.c.name == name)).one()
    return policy_view(row._mapping)


def delete_policy(db: Database, name: str, actor: str) -> None:
    """Remove a policy; removing `default` brings back its built-in targets."""
    with db.write() as conn:
        if not conn.execute(sla_policies.delete().where(sla_policies.c.name == name)).rowcount:
            raise NotFound(f"policy {name!r}")
        record_audit(conn, actor=actor, channel="api", action="sla.policy_deleted", policy=name)
        reapply_policies(conn, actor)
