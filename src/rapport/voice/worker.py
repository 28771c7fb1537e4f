"""Voice's worker: asks (or skips) for each trigger once its event is on a profile, and runs the
periodic relationship surveys. It runs beside the consumers (`rapport serve`)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import sqlalchemy as sa

from rapport.collect.store import events
from rapport.db.engine import Database
from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError
from rapport.profiles.store import profile_events
from rapport.voice.service import Touch, invite, remind
from rapport.voice.store import ask_decisions, survey_invitations, survey_triggers, surveys

log = logging.getLogger("rapport.voice")
PLACE_WAIT = timedelta(minutes=10)  # a trigger whose event no profile holds by then is dropped
BATCH = 50
REMIND_AFTER = timedelta(days=3)  # one reminder of a mailed survey still unanswered by then


def _set(db: Database, trigger_id: int, status: str, reason: str) -> None:
    with db.write() as conn:
        conn.execute(
            survey_triggers.update()
            .where(survey_triggers.c.id == trigger_id)
            .values(status=status, reason=reason[:500])
        )


def run_triggers(db: Database) -> int:
    """Ask or skip for the waiting triggers whose events are placed; answer how many were handled."""
    with db.read() as conn:
        waiting = conn.execute(
            sa.select(survey_triggers, profile_events.c.profile_id)
            .select_from(
                survey_triggers.outerjoin(profile_events, profile_events.c.event_id == survey_triggers.c.event_id)
            )
            .where(survey_triggers.c.status == "waiting")
            .order_by(survey_triggers.c.id)
            .limit(BATCH)
        ).all()
    now, done = utcnow(), 0
    for row in waiting:
        if row.profile_id is None:
            if now - row.at > PLACE_WAIT:
                _set(db, row.id, "dropped", "no profile holds the event")
                done += 1
            continue
        touch = Touch(row.touchpoint, row.channel, row.case_id)
        try:
            outcome = invite(db, row.survey_id, row.profile_id, touch, actor="voice:trigger")
            _set(db, row.id, "done", outcome["reason"])
        except DomainError as exc:
            _set(db, row.id, "dropped", exc.message)
        done += 1
    return done


def run_reminders(db: Database) -> int:
    """One reminder for each mailed survey unanswered after REMIND_AFTER (and still open)."""
    now = utcnow()
    inv = survey_invitations.c
    considered = sa.select(ask_decisions.c.invitation_id).where(
        ask_decisions.c.touchpoint == "reminder", ask_decisions.c.invitation_id.is_not(None)
    )
    with db.read() as conn:
        due = list(
            conn.execute(
                sa.select(inv.id)
                .where(
                    inv.delivery == "email",
                    inv.sent_status.in_(("queued", "sent")),
                    inv.answered_at.is_(None),
                    inv.reminded_at.is_(None),
                    inv.created_at <= now - REMIND_AFTER,
                    inv.expires_at > now,
                    inv.id.not_in(considered),
                )
                .order_by(inv.id)
                .limit(BATCH)
            ).scalars()
        )
    for invitation_id in due:
        try:
            remind(db, invitation_id, actor="voice:reminder")
        except DomainError:
            continue
    return len(due)


def run_relationship(db: Database, survey_id: int, limit: int = 500) -> int:
    """Invite (or skip, with reasons) every customer with a profile not asked this survey within its
    period; answer how many were decided. The fatigue rules apply to each as to any survey."""
    now = utcnow()
    with db.read() as conn:
        survey = conn.execute(sa.select(surveys).where(surveys.c.id == survey_id)).first()
        if survey is None or survey.trigger != "relationship" or not survey.active:
            return 0
        since = now - timedelta(days=survey.period_days or 90)
        asked = sa.select(survey_invitations.c.profile_id).where(
            survey_invitations.c.survey_id == survey_id, survey_invitations.c.created_at >= since
        )
        candidates = list(
            conn.execute(
                sa.select(profiles.c.id)
                .where(profiles.c.merged_into.is_(None), profiles.c.id.not_in(asked))
                .where(
                    profiles.c.id.in_(
                        sa.select(profile_events.c.profile_id).join(events, events.c.id == profile_events.c.event_id)
                    )
                )
                .order_by(profiles.c.id)
                .limit(limit)
            ).scalars()
        )
    for profile_id in candidates:
        try:
            invite(db, survey_id, profile_id, Touch("relationship"), actor="voice:relationship")
        except DomainError:
            continue
    with db.write() as conn:
        conn.execute(surveys.update().where(surveys.c.id == survey_id).values(last_run_at=now))
    return len(candidates)


def due_relationship_surveys(db: Database) -> list[int]:
    now = utcnow()
    with db.read() as conn:
        rows = conn.execute(
            sa.select(surveys.c.id, surveys.c.last_run_at).where(
                surveys.c.active.is_(True), surveys.c.trigger == "relationship"
            )
        ).all()
    return [r.id for r in rows if r.last_run_at is None or now - r.last_run_at > timedelta(days=1)]


def run_voice(db: Database, stop: threading.Event) -> None:
    """As `rapport.contexts` lists it: until `stop` is set."""
    while not stop.is_set():
        try:
            handled = run_triggers(db) + run_reminders(db)
            for survey_id in due_relationship_surveys(db):
                run_relationship(db, survey_id)
        except Exception:  # noqa: BLE001 - the next round retries; a failure must not end the loop
            log.exception("voice worker round failed")
            handled = 0
        stop.wait(0.05 if handled else 1.0)
