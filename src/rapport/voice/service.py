"""The write path of the voice of the customer: surveys, invitations (ask or skip first, then the
mail through the one permission check), answers from a signed link, and the inner loop: a
detractor's answer opens a follow-up case in the service desk with a 48-hour target.

An answer goes on the customer's timeline through the log: one `Survey Answered` event per answer,
with {"metric", "score", "survey_id", "invitation_id"} (decide reads them).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.internal import record_event
from rapport.db.engine import Database
from rapport.identity.service import members_of
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, DomainError, Gone, Invalid, NotFound
from rapport.kernel.mail import header_text_problem
from rapport.outbound.service import send_message
from rapport.service.policy_admin import set_policy
from rapport.service.requester import for_profile
from rapport.service.service import Message, NewCase, Work, open_case_in
from rapport.service.store import sla_policies
from rapport.texts.model import TextItem
from rapport.voice import model, tokens, words
from rapport.voice.fatigue import decide, decide_reminder
from rapport.voice.model import VoiceRuleError
from rapport.voice.store import (
    answers_of,
    ask_decisions,
    invitation_row,
    response_of,
    survey_answers,
    survey_invitations,
    survey_responses,
    survey_row,
    surveys,
    voice_settings,
)

SURVEYS_PURPOSE = "surveys"  # the consent purpose a survey mail is sent under (the portal switches it)
FOLLOW_UP_TOPIC = "survey follow-up"
FOLLOW_UP_POLICY = "survey-follow-up"
FOLLOW_UP_HOURS = 48
ACTOR = "voice"


def _rule(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except VoiceRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None


@dataclass(frozen=True)
class SurveySpec:
    name: str
    trigger: str
    questions: list[dict[str, Any]]
    delivery: str = "email"
    milestone_event: str | None = None
    period_days: int | None = None
    active: bool = True


def create_survey(db: Database, spec: SurveySpec, *, actor: str) -> dict[str, Any]:
    if not 1 <= len(spec.name.strip()) <= model.MAX_NAME:
        raise Invalid("invalid_name", f"a survey's name is 1 to {model.MAX_NAME} characters")
    if problem := header_text_problem(spec.name.strip()):
        raise Invalid("invalid_name", f"a survey's name is its mail's subject, and it {problem}")
    if spec.delivery not in model.DELIVERIES:
        raise Invalid("invalid_delivery", f"delivery is one of {', '.join(model.DELIVERIES)}")
    questions = _rule(model.parse_questions, spec.questions)
    milestone = _rule(model.check_trigger, spec.trigger, spec.milestone_event)
    period = spec.period_days if spec.trigger == "relationship" else None
    if spec.trigger == "relationship" and not (period and 7 <= period <= 730):
        raise Invalid("invalid_period", "a relationship survey asks each customer once per 7 to 730 days")
    values = {
        "name": spec.name.strip(),
        "trigger": spec.trigger,
        "milestone_event": milestone,
        "delivery": spec.delivery,
        "questions": [q.__dict__ for q in questions],
        "period_days": period,
        "active": spec.active,
        "created_at": utcnow(),
        "created_by": actor,
    }
    with db.write() as conn:
        survey_id = int(conn.execute(surveys.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
        record_audit(conn, actor=actor, action="voice.survey_created", survey_id=survey_id)
    return {"id": survey_id, **values, "last_run_at": None}


def set_survey_active(db: Database, survey_id: int, active: bool, *, actor: str) -> dict[str, Any]:
    with db.write() as conn:
        if not conn.execute(surveys.update().where(surveys.c.id == survey_id).values(active=active)).rowcount:
            raise NotFound(f"survey {survey_id}", "survey_not_found")
        record_audit(conn, actor=actor, action="voice.survey_active", survey_id=survey_id, active=active)
        return survey_row(conn, survey_id) or {}


def save_setting(db: Database, name: str, document: dict[str, Any], *, actor: str) -> dict[str, Any]:
    now = utcnow()
    with db.write() as conn:
        values = {"document": document, "updated_at": now, "updated_by": actor}
        if not conn.execute(voice_settings.update().where(voice_settings.c.name == name).values(**values)).rowcount:
            conn.execute(voice_settings.insert().values(name=name, **values))
        record_audit(conn, actor=actor, action="voice.setting_saved", setting=name)
    return document


def active_survey(conn: Connection, trigger: str, milestone_event: str | None = None) -> dict[str, Any] | None:
    query = sa.select(surveys).where(surveys.c.active.is_(True), surveys.c.trigger == trigger)
    if milestone_event is not None:
        query = query.where(surveys.c.milestone_event == milestone_event)
    row = conn.execute(query.order_by(surveys.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


@dataclass(frozen=True)
class Touch:
    """What the survey asks about: its touchpoint, the interaction's channel and case, if any."""

    touchpoint: str
    channel: str | None = None
    case_id: int | None = None


def invite(
    db: Database, survey_id: int, profile_id: str, touch: Touch, *, actor: str, delivery: str | None = None
) -> dict[str, Any]:
    """Ask or skip (logged with its reason); when asking, an invitation with its signed link,
    delivered as the survey says (or as `delivery` overrides): mailed through the one permission
    check (purpose `surveys`), shown in the portal, or handed back to embed in an app or site."""
    if delivery is not None and delivery not in model.DELIVERIES:
        raise Invalid("invalid_delivery", f"delivery is one of {', '.join(model.DELIVERIES)}")
    now = utcnow()
    with db.write() as conn:
        survey = survey_row(conn, survey_id)
        if survey is None:
            raise NotFound(f"survey {survey_id}", "survey_not_found")
        if not survey["active"]:
            raise Conflict("survey_inactive", "the survey is switched off")
        survey["delivery"] = delivery or survey["delivery"]
        canonical, members = members_of(conn, profile_id)
        decision, decision_id = decide(
            conn, canonical, members, survey, touch.touchpoint, now, channel=touch.channel, case_id=touch.case_id
        )
        result: dict[str, Any] = {"asked": decision.ask, "rule": decision.rule, "reason": decision.reason}
        if not decision.ask:
            return result | {"invitation": None}
        nonce = tokens.new_nonce()
        values = {
            "survey_id": survey_id,
            "profile_id": canonical,
            "nonce": nonce,
            "touchpoint": touch.touchpoint[:120],
            "channel": touch.channel,
            "delivery": survey["delivery"],
            "case_id": touch.case_id,
            "sent_status": "pending",
            "sent_reason": "",
            "created_at": now,
            "expires_at": now + model.INVITATION_LIFETIME,
        }
        invitation_id = int(conn.execute(survey_invitations.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
        conn.execute(
            ask_decisions.update().where(ask_decisions.c.id == decision_id).values(invitation_id=invitation_id)
        )
    token = tokens.make_token(db, invitation_id, nonce)
    try:
        status, reason = _deliver(db, survey, canonical, token, actor)
    except DomainError as exc:  # the invitation stays, undelivered, with why
        status, reason = "failed", exc.message
    with db.write() as conn:
        conn.execute(
            survey_invitations.update()
            .where(survey_invitations.c.id == invitation_id)
            .values(sent_status=status, sent_reason=reason[:1000])
        )
    invitation = values | {"id": invitation_id, "sent_status": status, "sent_reason": reason}
    invitation.pop("nonce")
    return result | {"invitation": invitation, "token": token, "url": tokens.survey_url(db, token)}


def remind(db: Database, invitation_id: int, *, actor: str) -> dict[str, Any]:
    """The one reminder of a mailed survey not answered yet (voice/worker.py sends it after
    REMIND_AFTER): decided and logged like any contact, then mailed through the permission check."""
    now = utcnow()
    with db.write() as conn:
        invitation = invitation_row(conn, invitation_id)
        if invitation is None:
            raise NotFound(f"invitation {invitation_id}", "invitation_not_found")
        survey = survey_row(conn, invitation["survey_id"]) or {}
        canonical, members = members_of(conn, invitation["profile_id"])
        decision = decide_reminder(conn, canonical, members, invitation_id, now)
    if not decision.ask:
        return {"reminded": False, "reason": decision.reason}
    token = tokens.make_token(db, invitation_id, invitation["nonce"])
    try:
        status, reason = _deliver(db, survey | {"delivery": "email"}, canonical, token, actor, reminder=True)
    except DomainError as exc:
        status, reason = "failed", exc.message
    if status in ("queued", "sent"):
        with db.write() as conn:
            conn.execute(
                survey_invitations.update().where(survey_invitations.c.id == invitation_id).values(reminded_at=now)
            )
    return {"reminded": status in ("queued", "sent"), "reason": reason}


def _deliver(
    db: Database, survey: dict[str, Any], profile_id: str, token: str, actor: str, *, reminder: bool = False
) -> tuple[str, str]:
    if survey["delivery"] == "portal":
        return "shown", "waiting in the customer's portal"
    if survey["delivery"] == "embed":
        return "embedded", "handed to the app or site that asked, to show in place"
    url = tokens.survey_url(db, token)
    text = (
        ("A reminder, in case our mail was lost: we will not ask again about this.\n\n" if reminder else "")
        + f"We would value a minute of your time: {survey['name']}.\n\n"
        f"Answer here (no sign-in needed): {url}\n\n"
        "You can change your answer for a day after you give it. We only ask now and then, never more "
        "often than you use our services, and you can switch surveys off in your account at any time."
    )
    subject = f"Reminder: {survey['name']}" if reminder else survey["name"]
    outcome = send_message(
        db, profile_id, channel="email", purpose=SURVEYS_PURPOSE, subject=subject, text=text, actor=actor
    )
    return outcome.status, outcome.reason


def thanks(done: dict[str, Any]) -> str:
    """What the customer is told once their answer is saved."""
    if done.get("follow_up_case_id"):
        return (
            "Thank you. We are sorry we let you down: someone from our team will call you within 48 hours "
            "to put it right."
        )
    return "Thank you: your answer is saved. You can change it here for a day."


# --- answering ----------------------------------------------------------------------------------


def open_invitation(db: Database, token: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The invitation a link names, its survey and the response so far; raises for a link that was
    altered, expired, or never delivered."""
    invitation_id, nonce = tokens.read_token(db, token)
    with db.read() as conn:
        invitation = invitation_row(conn, invitation_id)
        if invitation is None or not hmac.compare_digest(str(invitation["nonce"]), nonce):
            raise Invalid("invalid_token", "this survey link is not valid (it may have been cut short or altered)")
        if invitation["sent_status"] in ("suppressed", "failed", "pending"):
            raise NotFound("survey invitation", "invitation_not_found")
        survey = survey_row(conn, invitation["survey_id"]) or {}
        response = response_of(conn, invitation_id)
        if response is not None:
            response["answers"] = answers_of(conn, response["id"])
    return invitation, survey, response


def answer(db: Database, token: str, given: dict[str, Any], *, via: str) -> dict[str, Any]:
    """Record the customer's answers (or change them within the edit window)."""
    invitation, survey, response = open_invitation(db, token)
    now = utcnow()
    if now >= invitation["expires_at"] and response is None:
        raise Gone("invitation_expired", "this survey has closed; thank you all the same")
    if response is not None and now - response["answered_at"] > model.EDIT_WINDOW:
        raise Conflict("already_answered", "this survey was answered, and the answer can no longer be changed")
    questions = [model.Question(**q) for q in survey["questions"]]
    answers = _rule(model.parse_answers, questions, given)
    written = [a for a in answers if a.type == "text"]
    texts = dict(zip([a.key for a in written], words.analyses(db, [a.raw for a in written]), strict=True))
    reason = model.detractor_reason(answers, {k: t.score for k, t in texts.items()})
    if reason and (response is None or response["follow_up_case_id"] is None):
        _ensure_follow_up_policy(db)
    with db.write() as conn:
        response_id, revision, follow_up = _save(conn, invitation, survey, response, answers, texts, reason, now)
        if follow_up is not None and follow_up.timeline:
            follow_up.finish(*[case for case, _event, _id in follow_up.timeline[:1]])
        for a in answers:  # last: record_event holds the log's lock until the commit
            analysis = texts.get(a.key)
            properties = {
                "metric": a.type,
                "score": a.score if a.score is not None else (analysis.score if analysis else None),
                "survey_id": survey["id"],
                "invitation_id": invitation["id"],
                "question": a.key,
                "touchpoint": invitation["touchpoint"],
                "revision": revision,
            }
            record_event(
                conn,
                "voice",
                event=model.SURVEY_ANSWERED,
                profile_id=invitation["profile_id"],
                properties=properties,
                message_id=f"survey-answer-{response_id}-{revision}-{a.key}",
            )
    if written:
        kept = [
            TextItem(
                words.SOURCE,
                words.source_ref(response_id, a.key),
                a.raw,
                invitation["channel"] or invitation["delivery"],
                invitation["touchpoint"],
                now,
                invitation["profile_id"],
                invitation["case_id"],
            )
            for a in written
        ]
        words.keep(db, kept)
    return {
        "response_id": response_id,
        "revision": revision,
        "detractor": reason,
        "follow_up_case_id": follow_up.case_id if follow_up else (response or {}).get("follow_up_case_id"),
        "via": via,
    }


def _save(
    conn: Connection,
    invitation: dict[str, Any],
    survey: dict[str, Any],
    response: dict[str, Any] | None,
    answers: list[model.Answer],
    texts: dict[str, words.Analysis],
    reason: str | None,
    now: datetime,
) -> tuple[int, int, FollowUp | None]:
    profile_id = invitation["profile_id"]
    if response is None:
        values = {
            "invitation_id": invitation["id"],
            "survey_id": survey["id"],
            "profile_id": profile_id,
            "answered_at": now,
            "updated_at": now,
            "revision": 1,
            "detractor_reason": reason,
        }
        response_id = int(conn.execute(survey_responses.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
        revision, had = 1, None
        conn.execute(
            survey_invitations.update().where(survey_invitations.c.id == invitation["id"]).values(answered_at=now)
        )
    else:
        response_id, revision, had = response["id"], response["revision"] + 1, response["follow_up_case_id"]
        conn.execute(survey_answers.delete().where(survey_answers.c.response_id == response_id))
        conn.execute(
            survey_responses.update()
            .where(survey_responses.c.id == response_id)
            .values(updated_at=now, revision=revision, detractor_reason=reason)
        )
    rows = []
    for a in answers:
        analysis = texts.get(a.key)
        rows.append(
            {
                "response_id": response_id,
                "survey_id": survey["id"],
                "profile_id": profile_id,
                "question_key": a.key,
                "type": a.type,
                "raw": a.raw,
                "score": a.score,
                "sentiment": analysis.sentiment if analysis else None,
                "sentiment_score": analysis.score if analysis else None,
                "topics": analysis.topics if analysis else None,
                "touchpoint": invitation["touchpoint"],
                "channel": invitation["channel"],
                "delivery": invitation["delivery"],
                "answered_at": now,
            }
        )
    conn.execute(survey_answers.insert(), rows)
    follow_up = None
    if reason and had is None:
        follow_up = _open_follow_up(conn, invitation, survey, answers, reason, now)
        if follow_up is not None:
            conn.execute(
                survey_responses.update()
                .where(survey_responses.c.id == response_id)
                .values(follow_up_case_id=follow_up.case_id)
            )
    return response_id, revision, follow_up


@dataclass
class FollowUp(Work):
    """The follow-up case's transaction work; finished (clocks, timeline) after the response is saved."""

    case_id: int = 0


def _ensure_follow_up_policy(db: Database) -> None:
    """The SLA policy that gives follow-up cases their 48-hour target: made once, then the admins'."""
    with db.read() as conn:
        found = conn.execute(sa.select(sla_policies.c.name).where(sla_policies.c.name == FOLLOW_UP_POLICY)).first()
    if found is None:
        minutes = FOLLOW_UP_HOURS * 60
        spec = {
            "position": 5,
            "topic": FOLLOW_UP_TOPIC,
            "first_response_minutes": minutes,
            "resolution_minutes": minutes,
            "warn_before_minutes": 240,
        }
        set_policy(db, FOLLOW_UP_POLICY, spec, actor=ACTOR)


def _open_follow_up(
    conn: Connection,
    invitation: dict[str, Any],
    survey: dict[str, Any],
    answers: list[model.Answer],
    reason: str,
    now: datetime,
) -> FollowUp | None:
    """The inner loop: a follow-up case, in the queue like any other case, with the 48-hour target."""
    requester = for_profile(conn, invitation["profile_id"])
    if requester is None:
        return None  # erased meanwhile
    said = "\n".join(f"- {a.key} ({a.type}): {a.raw}" for a in answers)
    text = (
        f"Feedback from the survey {survey['name']!r} ({invitation['touchpoint']}): {reason}.\n\n{said}\n\n"
        "The customer was told someone will call them. Call within 48 hours."
    )
    new = NewCase(
        subject=f"Call back: survey feedback ({survey['name']})"[:300],
        channel="phone",
        priority="high",
        topic=FOLLOW_UP_TOPIC,
        tags=("survey-detractor",),
        follows=None,
    )
    w = FollowUp(conn, ACTOR, now)
    case = open_case_in(w, requester, new, Message(text), "customer")
    w.case_id = int(case["id"])
    return w
