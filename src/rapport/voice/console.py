"""Console pages of the voice of the customer: the metrics over time and by touchpoint (charts drawn
here, voice/charts.py), the topics that drive detraction, surveys, participation and the scorecard;
and on the Customer 360 every ask-or-skip decision about the customer, with its reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, storable
from rapport.voice import model, participation, reads, service, words
from rapport.voice.charts import Series, bar_chart, line_chart
from rapport.web.panels import NavEntry, Panel, Subject
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/voice", include_in_schema=False)
Reader = Annotated[Session, Depends(requires(Permission.VOICE_READ))]
Manager = Annotated[Session, Depends(requires(Permission.VOICE_MANAGE))]
MONTHS = 12


def _over_time(conn: Connection, metric: str, since: Any) -> tuple[Any, list[dict[str, Any]]]:
    groups = reads.metrics(conn, metric, "month", since=since)
    low, high = model.VALUE_RANGE[metric]
    series = Series(model.VALUE_LABEL[metric], [(g["group"], g["value"]) for g in groups])
    return line_chart(f"{metric}-over-time", f"{model.VALUE_LABEL[metric]} by month", [series], low, high), groups


def _by_touchpoint(conn: Connection, metric: str, since: Any) -> tuple[Any, list[dict[str, Any]]]:
    groups = reads.metrics(conn, metric, "touchpoint", since=since)
    low, high = model.VALUE_RANGE[metric]
    bars = [(g["group"].replace("_", " "), g["value"]) for g in groups if g["value"] is not None]
    title = f"{model.VALUE_LABEL[metric]} by touchpoint"
    return bar_chart(f"{metric}-by-touchpoint", title, bars, low, high), groups


@router.get("")
def overview(request: Request, _session: Reader) -> Response:
    now = utcnow()
    since = now - timedelta(days=31 * MONTHS)
    charts = []
    with request.app.state.db.read() as conn:
        for metric in ("nps", "csat", "ces"):
            line, months = _over_time(conn, metric, since)
            bars, touchpoints = _by_touchpoint(conn, metric, since)
            charts.append(
                {
                    "metric": metric,
                    "label": model.VALUE_LABEL[metric],
                    "line": line,
                    "bars": bars,
                    "months": months,
                    "touchpoints": touchpoints,
                }
            )
        months = participation.monthly_participation(conn, MONTHS, now)
        settings = participation.participation_settings(conn)
        value = participation.participation_value(conn, now.replace(day=1, hour=0, minute=0, second=0))
    goal = settings["monthly_goal"]
    level = line_chart(
        "participation",
        "Participations by month",
        [
            Series("Participations", [(m["month"], m["count"]) for m in months]),
            Series("Goal", [(m["month"], goal) for m in months]),
        ],
        0,
        max([goal, *[m["count"] for m in months]]) * 1.2,
    )
    context = {
        "title": "Voice of the customer",
        "current": "voice",
        "charts": charts,
        "participation": months,
        "participation_chart": level,
        "goal": goal,
        "value": value,
    }
    return render(request, "console/voice/overview.html", context)


@router.get("/topics")
def topics(request: Request, _session: Reader, days: str = "90") -> Response:
    if days not in ("30", "90", "365"):
        raise PageError(400, "Unknown period", "Choose 30, 90 or 365 days.")
    with request.app.state.db.read() as conn:
        items = reads.detraction_topics(conn, utcnow() - timedelta(days=int(days)))
    bars = [(f"{i['topic']} ({i['touchpoint'].replace('_', ' ')})", i["pull"]) for i in items if i["pull"] is not None]
    chart = bar_chart("topic-pull", "How far each topic pulls NPS", bars[:12], -200.0, 200.0)
    context = {
        "title": "Topics that drive detraction",
        "current": "voice-topics",
        "items": items,
        "chart": chart,
        "days": days,
        "analysis": words.WIRED,
    }
    return render(request, "console/voice/topics.html", context)


@router.get("/surveys")
def surveys_page(request: Request, _session: Reader, saved: str = "") -> Response:
    with request.app.state.db.read() as conn:
        items = reads.list_surveys(conn)
    context = {
        "title": "Surveys",
        "current": "voice-surveys",
        "items": items,
        "triggers": model.TRIGGERS,
        "deliveries": model.DELIVERIES,
        "types": model.TYPES,
        "saved": saved,
    }
    return render(request, "console/voice/surveys.html", context)


def _questions(text: str) -> list[dict[str, Any]]:
    """One question a line: `key | type | text`, with `*` after the type for a required one."""
    found = []
    for line in storable(text).splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) != 3:
            raise PageError(400, "Not saved", "Write each question as: key | type | question text.")
        kind = parts[1].rstrip("*").strip()
        found.append({"key": parts[0], "type": kind, "text": parts[2], "required": parts[1].endswith("*")})
    return found


@router.post("/surveys")
def create_survey(
    request: Request,
    session: Manager,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    trigger: Annotated[str, Form()] = "",
    delivery: Annotated[str, Form()] = "email",
    milestone_event: Annotated[str, Form()] = "",
    period_days: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    period = int(period_days) if period_days.isascii() and period_days.isdigit() and len(period_days) < 5 else None
    spec = service.SurveySpec(
        name=storable(name),
        trigger=trigger,
        questions=_questions(questions),
        delivery=delivery,
        milestone_event=storable(milestone_event).strip() or None,
        period_days=period,
    )
    try:
        survey = service.create_survey(request.app.state.db, spec, actor=session.staff.actor)
    except DomainError as exc:
        raise PageError(exc.status, "Not saved", f"{exc.message}. Go back, correct it and save again.") from None
    return redirect(f"/console/voice/surveys?saved={survey['id']}")


@router.get("/scorecard")
def scorecard_page(request: Request, _session: Reader, saved: str = "") -> Response:
    db = request.app.state.db
    with db.read() as conn:
        card = participation.scorecard(db, conn)
        history = participation.score_history(conn)
    points = [(f"{h['at']:%m-%d %H:%M}", float(h["score"])) for h in history[-12:]]
    chart = line_chart("score-over-time", "Scorecard score over time (out of 10)", [Series("Score", points)], 0, 10)
    context = {
        "title": "Participation scorecard",
        "current": "voice-scorecard",
        "card": card,
        "history": history,
        "chart": chart,
        "assessable": [i for i in participation.ITEMS if not i.measured],
        "saved": saved,
    }
    return render(request, "console/voice/scorecard.html", context)


@router.post("/scorecard/assess")
def assess(
    request: Request,
    session: Manager,
    csrf: Annotated[str, Form()] = "",
    item: Annotated[str, Form()] = "",
    met: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    if met not in ("yes", "no"):
        raise PageError(400, "Not saved", "Say whether the item is met: yes or no.")
    try:
        participation.assess(request.app.state.db, item, met == "yes", storable(note), actor=session.staff.actor)
    except DomainError as exc:
        raise PageError(exc.status, "Not saved", f"{exc.message}. Go back, correct it and save again.") from None
    return redirect("/console/voice/scorecard?saved=1")


@router.post("/scorecard/snapshot")
def snapshot(request: Request, session: Manager, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    participation.record_snapshot(request.app.state.db)
    return redirect("/console/voice/scorecard?saved=1")


def _panel(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    return {
        "decisions": reads.decisions_of(conn, subject.members),
        "invitations": reads.invitations_of(conn, subject.members, limit=20),
    }


NAV = (
    NavEntry("voice", "/console/voice", "Voice of the customer", Permission.VOICE_READ, order=70),
    NavEntry("voice-topics", "/console/voice/topics", "Detraction topics", Permission.VOICE_READ, order=71),
    NavEntry("voice-surveys", "/console/voice/surveys", "Surveys", Permission.VOICE_READ, order=72),
    NavEntry("voice-scorecard", "/console/voice/scorecard", "Participation scorecard", Permission.VOICE_READ, order=73),
)
PROFILE_PANELS = (Panel("voice", "console/voice/panel.html", _panel, Permission.VOICE_READ, order=40),)
