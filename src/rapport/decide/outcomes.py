"""Outcomes of next best actions, from the log: track events carrying the `decision_id` and the
action's id (`action_id`) that a website, an app or a server sends through the Tracking API:
`Offer Accepted`, `Offer Dismissed`, `Offer Not Interested`, `Recommendation Clicked`.

They are on the timeline as every event is. This consumer records each as the person's answer (a
"no" suppresses the action for them for a while) and counts it for the action's propensity, once
per decision, action and outcome. An outcome counts only when the action was presented in that
decision and the event's person is the decision's: a decision id from another person (or made up)
counts for nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.collect.consumer import Consumer, Events, moment_of, payload_of
from rapport.decide.actions_model import OUTCOME_EVENTS
from rapport.decide.actions_store import outcomes, presentations
from rapport.decide.arbitrate import count
from rapport.identity.model import Identifier
from rapport.identity.store import identifiers, profiles
from rapport.kernel.clock import utcnow

CONSUMER = "decide_outcomes"  # its offset's name; never rename it
COUNTS = {"accepted": "accepted", "clicked": "accepted", "dismissed": "dismissed", "not_interested": "not_interested"}
_MARKERS = ("Offer ", "Recommendation Clicked")


def _canonical(conn: Connection, profile_id: str | None) -> str | None:
    if profile_id is None:
        return None
    return conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()


def person_of(conn: Connection, event: Any, message: dict[str, Any]) -> str | None:
    """The canonical profile the event is about, as far as the identity graph knows it now."""
    rapport = (message.get("context") or {}).get("rapport") if isinstance(message.get("context"), dict) else None
    if isinstance(rapport, dict) and isinstance(rapport.get("profileId"), str):
        return _canonical(conn, rapport["profileId"])
    for kind, value in (("user_id", event[6]), ("anonymous_id", event[7])):
        if isinstance(value, str) and value.strip():
            key = Identifier(kind, value.strip()).key
            owner = conn.execute(sa.select(identifiers.c.profile_id).where(identifiers.c.key == key)).scalar()
            canonical = _canonical(conn, owner)
            if canonical is not None:
                return canonical
    return None


class Outcomes(Consumer[Events]):
    name = CONSUMER

    def apply(self, conn: Connection, events: Events) -> None:
        for event in events:
            if event[5] != "track":
                continue
            payload = event[3]
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            if isinstance(text, str) and not any(marker in text for marker in _MARKERS):
                continue
            message = payload_of(event)
            outcome = OUTCOME_EVENTS.get(message.get("event"))  # type: ignore[arg-type]
            properties = message.get("properties")
            if outcome is None or not isinstance(properties, dict):
                continue
            decision_id, action_id = properties.get("decision_id"), properties.get("action_id")
            if not isinstance(decision_id, str) or not isinstance(action_id, str):
                continue
            self._record(conn, event, message, decision_id[:32], action_id[:64], outcome)

    def _record(
        self, conn: Connection, event: Any, message: dict[str, Any], decision_id: str, action_id: str, outcome: str
    ) -> None:
        shown = conn.execute(
            sa.select(presentations.c.profile_id).where(
                presentations.c.decision_id == decision_id, presentations.c.action_id == action_id
            )
        ).scalar()
        if shown is None:
            return  # not presented in that decision (or made up): counts for nothing
        whose = _canonical(conn, shown)
        if whose is None or person_of(conn, event, message) != whose:
            return  # another person's decision
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        inserted = conn.execute(
            dialect.insert(outcomes)
            .values(
                decision_id=decision_id,
                action_id=action_id,
                outcome=outcome,
                profile_id=shown,
                event_id=event[0],
                at=min(moment_of(event[2]), utcnow()),  # a clock ahead cannot stretch a suppression
            )
            .on_conflict_do_nothing()
            .returning(outcomes.c.outcome)
        ).first()
        if inserted is not None:  # the first of its kind: counted once
            count(conn, [action_id], COUNTS[outcome])
