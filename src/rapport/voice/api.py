"""The voice of the customer over HTTP: the staff API (`/api/v1/voice`: surveys, invitations,
responses, metrics, topics, participation and the scorecard) and the public answering API a site
or app uses to show a survey in place (`/v1/voice/answers/{token}`, no sign-in: the token is the
invitation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from rapport.access.api import VoiceInviter, VoiceManager, VoiceReader
from rapport.db.metadata import MAX_ROW_ID
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound, RequestBody
from rapport.voice import model, participation, reads, service
from rapport.voice.fatigue import fatigue_policy
from rapport.voice.model import VoiceRuleError
from rapport.voice.store import survey_row
from rapport.voice.tokens import MAX_TOKEN
from rapport.voice.worker import run_relationship

router = APIRouter(prefix="/api/v1/voice", tags=["voice of the customer"])
public = APIRouter(prefix="/v1/voice", tags=["survey answers"])

SurveyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
ProfileId = Annotated[str, Path(min_length=1, max_length=32)]
Token = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN)]


class QuestionIn(RequestBody):
    key: str = Field(max_length=32)
    type: Literal["nps", "csat", "ces", "stars", "text"]
    text: str = Field(max_length=model.MAX_QUESTION_TEXT)
    required: bool = False


class SurveyCreate(RequestBody):
    name: str = Field(max_length=model.MAX_NAME)
    trigger: Literal["case_solved", "purchase", "milestone", "relationship", "manual"]
    questions: list[QuestionIn] = Field(min_length=1, max_length=model.MAX_QUESTIONS)
    delivery: Literal["email", "portal", "embed"] = "email"
    milestone_event: str | None = Field(default=None, max_length=100)
    period_days: int | None = Field(default=None, ge=7, le=730)
    active: bool = True


class SurveyActive(RequestBody):
    active: bool


class InvitationCreate(RequestBody):
    survey_id: int = Field(ge=1, le=MAX_ROW_ID)
    profile_id: str = Field(min_length=1, max_length=32)
    touchpoint: str = Field(default="manual", min_length=1, max_length=120)
    channel: str | None = Field(default=None, max_length=16)
    case_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    delivery: Literal["email", "portal", "embed"] | None = Field(default=None, description="the survey's if null")


class Answers(RequestBody):
    answers: dict[str, int | str | None] = Field(max_length=model.MAX_QUESTIONS)


class Assessment(RequestBody):
    item: str = Field(max_length=32)
    met: bool
    note: str = Field(max_length=2000)


class ParticipationSettings(RequestBody):
    monthly_goal: int = Field(ge=1, le=10_000_000)
    values: dict[str, dict[str, float]] = Field(default={}, max_length=50)


def _since(days: int | None) -> datetime | None:
    return utcnow() - timedelta(days=days) if days else None


@router.get("/surveys")
def get_surveys(request: Request, _staff: VoiceReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": reads.list_surveys(conn)}


@router.post("/surveys", status_code=201)
def post_survey(request: Request, body: SurveyCreate, staff: VoiceManager) -> dict[str, Any]:
    spec = service.SurveySpec(
        name=body.name,
        trigger=body.trigger,
        questions=[q.model_dump() for q in body.questions],
        delivery=body.delivery,
        milestone_event=body.milestone_event,
        period_days=body.period_days,
        active=body.active,
    )
    return service.create_survey(request.app.state.db, spec, actor=staff.actor)


@router.get("/surveys/{survey_id}")
def get_survey(request: Request, survey_id: SurveyId, _staff: VoiceReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        survey = survey_row(conn, survey_id)
    if survey is None:
        raise NotFound(f"survey {survey_id}", "survey_not_found")
    return survey


@router.post("/surveys/{survey_id}/active")
def post_active(request: Request, survey_id: SurveyId, body: SurveyActive, staff: VoiceManager) -> dict[str, Any]:
    return service.set_survey_active(request.app.state.db, survey_id, body.active, actor=staff.actor)


@router.post("/surveys/{survey_id}/run")
def post_run(request: Request, survey_id: SurveyId, _staff: VoiceManager) -> dict[str, Any]:
    """Run a relationship survey now (the worker runs each once a day)."""
    with request.app.state.db.read() as conn:
        survey = survey_row(conn, survey_id)
    if survey is None:
        raise NotFound(f"survey {survey_id}", "survey_not_found")
    if survey["trigger"] != "relationship" or not survey["active"]:
        raise Invalid("not_relationship", "only an active relationship survey runs on its own")
    return {"decided": run_relationship(request.app.state.db, survey_id)}


@router.post("/invitations", status_code=201)
def post_invitation(request: Request, body: InvitationCreate, staff: VoiceInviter) -> dict[str, Any]:
    """Ask (or skip, with the reason) one customer now; an embed survey's link comes back to show in place."""
    touch = service.Touch(body.touchpoint, body.channel, body.case_id)
    db = request.app.state.db
    return service.invite(db, body.survey_id, body.profile_id, touch, actor=staff.actor, delivery=body.delivery)


@router.get("/profiles/{profile_id}")
def get_profile_voice(request: Request, profile_id: ProfileId, _staff: VoiceReader) -> dict[str, Any]:
    """A customer's invitations and every ask-or-skip decision about them, with its reason."""
    with request.app.state.db.read() as conn:
        canonical, members = members_of(conn, profile_id)
        return {
            "profile_id": canonical,
            "invitations": reads.invitations_of(conn, members),
            "decisions": reads.decisions_of(conn, members, limit=100),
        }


@router.get("/responses")
def get_responses(
    request: Request,
    _staff: VoiceReader,
    survey_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": reads.list_responses(conn, survey_id, limit, before)}


@router.get("/metrics")
def get_metrics(
    request: Request,
    _staff: VoiceReader,
    metric: Literal["nps", "csat", "ces", "stars"] = "nps",
    by: Literal["channel", "touchpoint", "delivery", "survey", "month", "week", "all"] = "all",
    since_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    survey_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        groups = reads.metrics(conn, metric, by, since=_since(since_days), survey_id=survey_id)
    return {"metric": metric, "by": by, "value_is": model.VALUE_LABEL[metric], "groups": groups}


@router.get("/detraction-topics")
def get_detraction_topics(
    request: Request, _staff: VoiceReader, since_days: Annotated[int | None, Query(ge=1, le=3650)] = None
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": reads.detraction_topics(conn, _since(since_days))}


@router.get("/participation")
def get_participation(request: Request, _staff: VoiceReader) -> dict[str, Any]:
    now = utcnow()
    with request.app.state.db.read() as conn:
        return {
            "settings": participation.participation_settings(conn),
            "months": participation.monthly_participation(conn, 12, now),
            "value": participation.participation_value(conn, now.replace(day=1, hour=0, minute=0, second=0)),
        }


@router.put("/settings/participation")
def put_participation(request: Request, body: ParticipationSettings, staff: VoiceManager) -> dict[str, Any]:
    document = participation.check_participation_settings(body.model_dump())
    return service.save_setting(request.app.state.db, "participation", document, actor=staff.actor)


@router.get("/settings/fatigue")
def get_fatigue(request: Request, _staff: VoiceReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return fatigue_policy(conn).document()


@router.put("/settings/fatigue")
def put_fatigue(request: Request, body: dict[str, Any], staff: VoiceManager) -> dict[str, Any]:
    try:
        policy = model.parse_policy(body)
    except VoiceRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None
    return service.save_setting(request.app.state.db, "fatigue", policy.document(), actor=staff.actor)


@router.get("/scorecard")
def get_scorecard(request: Request, _staff: VoiceReader) -> dict[str, Any]:
    db = request.app.state.db
    with db.read() as conn:
        return participation.scorecard(db, conn) | {"history": participation.score_history(conn)}


@router.post("/scorecard/assessments", status_code=201)
def post_assessment(request: Request, body: Assessment, staff: VoiceManager) -> dict[str, Any]:
    return participation.assess(request.app.state.db, body.item, body.met, body.note, actor=staff.actor)


@router.post("/scorecard/snapshots", status_code=201)
def post_snapshot(request: Request, _staff: VoiceManager) -> dict[str, Any]:
    return participation.record_snapshot(request.app.state.db)


# --- public: a survey shown in place by a site or app ---------------------------------------------


@public.get("/answers/{token}")
def get_questions(request: Request, token: Token) -> dict[str, Any]:
    invitation, survey, response = service.open_invitation(request.app.state.db, token)
    given = {a["question_key"]: a["raw"] for a in (response or {}).get("answers", [])}
    return {"survey": survey["name"], "questions": survey["questions"], "answers": given}


@public.post("/answers/{token}")
def post_answers(request: Request, token: Token, body: Answers) -> dict[str, Any]:
    done = service.answer(request.app.state.db, token, body.answers, via="embed")
    return done | {"message": service.thanks(done)}
