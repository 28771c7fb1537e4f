"""Voice's consumer of the log: the moments that may call for a survey become triggers.

- `Case Solved`, recorded by the service desk itself (its internal source): after a case is solved.
  Closing is not solving: `Case Closed` never triggers, and a case solved by automation is skipped
  by the fatigue rules with its reason.
- `Order Completed` (Segment's e-commerce spec): after a purchase.
- The track event a milestone survey names (a journey milestone).

Only events of server sources (a backend, a store's import, the platform's own contexts) trigger:
what a public write key says could otherwise send surveys to someone else. A trigger waits in
`survey_triggers` until the profile processor has placed its event (voice/worker.py asks then).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, moment_of, payload_of
from rapport.collect.model import SERVER
from rapport.collect.store import sources
from rapport.voice.store import CONSUMER, survey_triggers, surveys

CASE_SOLVED = "Case Solved"
PURCHASE = "Order Completed"
SERVICE_SOURCE = "internal:service"


def _named_event(event: Any, wanted: dict[str, tuple[int, str]]) -> str | None:
    if event[5] != "track":
        return None
    raw = event[3]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str) and not any(name in raw for name in wanted):
        return None  # a cheap test on the stored text: most events name none of these
    message = payload_of(event)
    name = message.get("event")
    return name if isinstance(name, str) else None


class Voice(Consumer[Events]):
    name = CONSUMER

    def apply(self, conn: Connection, events: Events) -> None:
        wanted = self._wanted(conn)
        if not wanted:
            return
        trusted = {
            row.id: (row.name, row.channel)
            for row in conn.execute(sa.select(sources.c.id, sources.c.name, sources.c.channel, sources.c.trust))
            if row.trust == SERVER
        }
        rows = []
        for event in events:
            name = _named_event(event, wanted)
            if name not in wanted or event[1] not in trusted:
                continue
            source_name, source_channel = trusted[event[1]]
            trigger = self._trigger(name, payload_of(event), source_name, source_channel, wanted[name])
            if trigger is not None:
                rows.append(trigger | {"event_id": event[0], "at": moment_of(event[2]), "status": "waiting"})
        if rows:
            known = set(
                conn.execute(
                    sa.select(survey_triggers.c.event_id).where(
                        survey_triggers.c.event_id.in_([r["event_id"] for r in rows])
                    )
                ).scalars()
            )
            fresh = [r for r in rows if r["event_id"] not in known]  # replayed events add nothing
            if fresh:
                conn.execute(survey_triggers.insert(), fresh)

    @staticmethod
    def _wanted(conn: Connection) -> dict[str, tuple[int, str]]:
        """Event name -> (survey id, touchpoint) of the active surveys (the newest per event)."""
        found: dict[str, tuple[int, str]] = {}
        rows = conn.execute(
            sa.select(surveys.c.id, surveys.c.trigger, surveys.c.milestone_event)
            .where(surveys.c.active.is_(True))
            .order_by(surveys.c.id)
        )
        for survey_id, trigger, milestone in rows:
            if trigger == "case_solved":
                found[CASE_SOLVED] = (survey_id, "case_solved")
            elif trigger == "purchase":
                found[PURCHASE] = (survey_id, "purchase")
            elif trigger == "milestone" and milestone:
                found[milestone] = (survey_id, f"milestone:{milestone}")
        return found

    @staticmethod
    def _trigger(
        name: str, message: dict[str, Any], source: str, channel: str, survey: tuple[int, str]
    ) -> dict[str, Any] | None:
        props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
        assert isinstance(props, dict)
        if name == CASE_SOLVED:
            if source != SERVICE_SOURCE:
                return None  # only the service desk says a case was solved
            case_id = props.get("case_id")
            if not isinstance(case_id, int) or isinstance(case_id, bool):
                return None
            case_channel = props.get("channel")
            return {
                "survey_id": survey[0],
                "touchpoint": survey[1],
                "channel": str(case_channel)[:16] if case_channel else None,
                "case_id": case_id,
            }
        return {"survey_id": survey[0], "touchpoint": survey[1], "channel": channel[:16], "case_id": None}
