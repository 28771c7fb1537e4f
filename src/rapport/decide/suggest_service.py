"""The write path of the adaptive experience: asking (suggestions built from the person's usage,
within what the one permission check allows), answering, undoing, and the layout the answers give.

- Suggestions are built from usage history, so only where the check allows personalization (level
  `personal` with consent). At `contextual` none is asked; at `none` none is asked and the layout
  is not applied either: the experience is the one everyone gets.
- Only a yes changes the layout. A no keeps the question away for `suggestion_ask_again_days`.
  Undo returns the question to open, whatever the answer was. Every answer and undo is audited.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.consent.service import check_permission_for, load_preferences
from rapport.db.engine import Database
from rapport.decide import suggest
from rapport.decide.service import CONSENT_CHANNELS
from rapport.decide.suggest import ACCEPTED, ANSWERS, DECLINED, EMPTY_EXPERIENCE, PENDING, Proposal
from rapport.decide.suggest_store import accepted_of, population, suggestions, suggestions_of, uses_of
from rapport.identity.service import members_of
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound

_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Level:
    level: str  # personal | contextual | none
    reason: str


def level_of(conn: Connection, profile_id: str, channel: str, now: datetime) -> Level:
    """What the one permission check allows the experience to use."""
    allowed = check_permission_for(conn, profile_id, "personalization", CONSENT_CHANNELS.get(channel, "web"), now=now)
    if allowed:
        return Level("personal", allowed.reason)
    level = load_preferences(conn, profile_id).personalization_level
    if level == "none":
        return Level("none", f"{allowed.reason}: no suggestions, and the same layout as everyone")
    return Level("contextual", f"{allowed.reason}: no suggestions from usage history; the chosen layout applies")


def experience_for(conn: Connection, members: list[str], level: str) -> dict[str, Any]:
    """The layout the person chose, or everyone's at level `none`."""
    if level == "none" or not members:
        return {k: list(v) for k, v in EMPTY_EXPERIENCE.items()}
    return suggest.experience_of(accepted_of(conn, members))


def _closed(rows: list[dict[str, Any]], now: datetime) -> frozenset[str]:
    closed = set()
    for row in rows:
        if row["status"] == ACCEPTED or (
            row["status"] == DECLINED and row["ask_again_after"] is not None and row["ask_again_after"] > now
        ):
            closed.add(row["key"])
    return frozenset(closed)


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(suggestions)


def _ask(
    conn: Connection, canonical: str, rows: list[dict[str, Any]], proposals: list[Proposal], now: datetime
) -> None:
    """Open the proposals: new ones are inserted, a no whose quiet time is over is asked again, an
    open one is brought up to date; nothing else is touched."""
    by_key = {row["key"]: row for row in rows}
    for p in proposals:
        values: dict[str, Any] = {"kind": p.kind, "target": p.target, "question": p.question, "evidence": p.evidence}
        row = by_key.get(p.key)
        if row is None:
            new = {"id": uuid.uuid4().hex, "profile_id": canonical, "key": p.key, "status": PENDING, "asked_at": now}
            conn.execute(_insert(conn).on_conflict_do_nothing(), [{**new, **values}])
        elif row["status"] in (PENDING, DECLINED):
            reopened = {"status": PENDING, "answered_at": None, "answered_by": None, "ask_again_after": None}
            if row["status"] == DECLINED:
                values |= {**reopened, "asked_at": now}
            conn.execute(
                suggestions.update()
                .where(suggestions.c.id == row["id"], suggestions.c.status == row["status"])
                .values(**values)
            )


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "question", "target", "evidence", "status", "asked_at", "answered_at", "answered_by")
    return {k: row[k] for k in keys} | {"ask_again_after": row["ask_again_after"]}


def suggestions_for(
    db: Database, profile_id: str, *, channel: str = "web", now: datetime | None = None
) -> dict[str, Any]:
    """The person's open questions (asking the new ones), their answers and the layout they chose."""
    now = now or utcnow()
    with db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        level = level_of(conn, canonical, channel, now)
        rows = suggestions_of(conn, members)
        proposals: list[Proposal] = []
        if level.level == "personal":
            since = now - suggest.USAGE_WINDOW
            proposals = suggest.propose(uses_of(conn, members, since), population(conn, since), _closed(rows, now))
    if proposals:
        with db.write() as conn:
            _ask(conn, canonical, rows, proposals, now)
            rows = suggestions_of(conn, members)
    with db.read() as conn:
        experience = experience_for(conn, members, level.level)
    asked = [public_view(r) for r in rows]
    return {
        "profile_id": canonical,
        "level": level.level,
        "level_reason": level.reason,
        "pending": [r for r in asked if r["status"] == PENDING] if level.level == "personal" else [],
        "answered": [r for r in asked if r["status"] != PENDING],
        "experience": experience,
    }


def _load(conn: Connection, suggestion_id: str, owner: list[str] | None) -> dict[str, Any]:
    """The suggestion, if it exists and (for a customer) is theirs; else not found, alike."""
    if not isinstance(suggestion_id, str) or not _ID.fullmatch(suggestion_id):
        raise NotFound("suggestion")
    row = conn.execute(sa.select(suggestions).where(suggestions.c.id == suggestion_id)).first()
    if row is None or (owner is not None and row.profile_id not in owner):
        raise NotFound("suggestion")
    return dict(row._mapping)


def answer_suggestion(
    db: Database,
    suggestion_id: str,
    answer: str,
    *,
    actor: str,
    channel: str = "api",
    owner: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Yes or no to an open question. `owner`: the merge group the suggestion must belong to (a
    customer answering their own)."""
    if answer not in ANSWERS:
        raise Invalid("invalid_answer", 'answer must be "yes" or "no"')
    now = now or utcnow()
    quiet = timedelta(days=db.settings.suggestion_ask_again_days)
    with db.write() as conn:
        row = _load(conn, suggestion_id, owner)
        if row["status"] != PENDING:
            raise Conflict("already_answered", "this suggestion is answered already; undo the answer first")
        status = ANSWERS[answer]
        changed = {
            "status": status,
            "answered_at": now,
            "answered_by": actor,
            "ask_again_after": now + quiet if status == DECLINED else None,
        }
        conn.execute(suggestions.update().where(suggestions.c.id == row["id"]).values(**changed))
        record_audit(
            conn,
            actor=actor,
            action=f"suggestion.{status}",
            channel=channel,
            profile_id=row["profile_id"],
            suggestion_id=row["id"],
            kind=row["kind"],
        )
    return public_view(row | changed)


def undo_answer(
    db: Database,
    suggestion_id: str,
    *,
    actor: str,
    channel: str = "api",
    owner: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take an answer back: a yes's change is removed, a no no longer keeps the question away; the
    question is open again."""
    now = now or utcnow()
    with db.write() as conn:
        row = _load(conn, suggestion_id, owner)
        if row["status"] == PENDING:
            raise Conflict("not_answered", "this suggestion has no answer to undo")
        changed = {
            "status": PENDING,
            "answered_at": None,
            "answered_by": None,
            "ask_again_after": None,
            "asked_at": now,
        }
        conn.execute(suggestions.update().where(suggestions.c.id == row["id"]).values(**changed))
        record_audit(
            conn,
            actor=actor,
            action="suggestion.undone",
            channel=channel,
            profile_id=row["profile_id"],
            suggestion_id=row["id"],
            kind=row["kind"],
            was=row["status"],
        )
    return public_view(row | changed)
