"""Console pages of next best action: the action catalogue and the engagement policies (marketers
and admins change them, every role reads), and the Customer 360's "Next best actions": what we would
present now, every factor of the arbitration, and why each other action is held (a preview: not
logged, nothing counted)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from rapport.access.model import Permission
from rapport.decide import actions_model as am
from rapport.decide import actions_service as service
from rapport.decide.actions_api import policy_id_of
from rapport.decide.actions_store import load_actions, load_policies, load_settings, load_stats, recent_presentations
from rapport.decide.arbitrate import next_best_actions
from rapport.decide.service import Ask, Person, scope_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, storable
from rapport.web.panels import NavEntry, Panel, Subject
from rapport.web.render import redirect, render
from rapport.web.session import PageError, Session, check_csrf, requires

router = APIRouter(prefix="/console/decide", include_in_schema=False)
Reader = Annotated[Session, Depends(requires(Permission.DECISIONS_READ))]
Writer = Annotated[Session, Depends(requires(Permission.ACTIONS_WRITE))]
SAVED = {
    "created": "Action created. It is a candidate in every decision its policies allow.",
    "enabled": "Action enabled.",
    "disabled": "Action disabled: no decision presents it.",
    "deleted": "Action deleted.",
    "policy-created": "Policy created. It applies to the next decision.",
    "policy-deleted": "Policy deleted.",
}


def _refused(exc: DomainError) -> PageError:
    return PageError(exc.status, "Not saved", f"{exc.message}. Go back, correct it and save again.")


def _number(text: str, name: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise PageError(400, "Not saved", f"{name} must be a number. Go back, correct it and save again.") from None


@router.get("/actions")
def actions_page(request: Request, session: Reader, saved: str = "") -> Response:
    with request.app.state.db.read() as conn:
        catalogue = load_actions(conn)
        stats = load_stats(conn, [a.id for a in catalogue])
    rows = [
        {"action": a, "stats": stats.get(a.id, am.Stats()), "propensity": am.propensity(a, stats.get(a.id, am.Stats()))}
        for a in catalogue
    ]
    context = {
        "title": "Next best actions",
        "current": "decide-actions",
        "rows": rows,
        "kinds": [k for k in am.KINDS if k != am.DO_NOTHING],
        "may_write": session.staff.may(Permission.ACTIONS_WRITE),
        "saved": SAVED.get(saved),
    }
    return render(request, "console/decide/actions.html", context)


@router.post("/actions")
def create_action(
    request: Request,
    session: Writer,
    csrf: Annotated[str, Form()] = "",
    id: Annotated[str, Form()] = "",  # noqa: A002 - the form field's name
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    item_id: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    lever: Annotated[str, Form()] = "1",
) -> Response:
    check_csrf(request, session, csrf)
    data: dict[str, Any] = {
        "id": id.strip(),
        "name": storable(name),
        "kind": kind,
        "title": storable(title),
        "text": storable(text),
        "url": url.strip() or None,
        "item_id": item_id.strip() or None,
        "value": _number(value, "Value"),
        "lever": _number(lever, "Business lever") if lever.strip() else 1.0,
    }
    try:
        service.create_action(request.app.state.db, data, actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect("/console/decide/actions?saved=created")


@router.post("/actions/{action_id}/{change}")
def change_action(
    request: Request, action_id: str, change: str, session: Writer, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, session, csrf)
    db = request.app.state.db
    try:
        if change == "delete":
            service.delete_action(db, action_id, actor=session.staff.actor, via="console")
            return redirect("/console/decide/actions?saved=deleted")
        if change not in ("enable", "disable"):
            raise PageError(404, "Not found", "There is no such change.")
        service.update_action(db, action_id, {"enabled": change == "enable"}, actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect(f"/console/decide/actions?saved={change}d")


@router.get("/policies")
def policies_page(request: Request, session: Reader, saved: str = "") -> Response:
    with request.app.state.db.read() as conn:
        items = load_policies(conn)
        catalogue = load_actions(conn)
        settings = load_settings(conn)
    context = {
        "title": "Engagement policies",
        "current": "decide-policies",
        "items": [{**service.policy_document(p), "described": _described(p)} for p in items],
        "actions": catalogue,
        "settings": am.settings_document(settings),
        "may_write": session.staff.may(Permission.ACTIONS_WRITE),
        "saved": SAVED.get(saved),
    }
    return render(request, "console/decide/policies.html", context)


def _described(policy: am.Policy) -> str:
    if policy.stage == "eligibility":
        return "; ".join(am.describe(rule) for rule in policy.rules["all"])
    parts = [f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in policy.rules.items() if v]
    return "; ".join(parts)


@router.post("/policies")
def create_policy(
    request: Request,
    session: Writer,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "",
    actions: Annotated[str, Form()] = "",
    rules: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, session, csrf)
    try:
        parsed = orjson.loads(rules or "null")
    except orjson.JSONDecodeError:
        raise PageError(400, "Not saved", "Rules must be JSON. Go back, correct it and save again.") from None
    ids = [a.strip() for a in actions.split(",") if a.strip()]
    data = {"name": storable(name), "stage": stage, "actions": ids, "rules": parsed}
    try:
        service.create_policy(request.app.state.db, data, actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise _refused(exc) from None
    return redirect("/console/decide/policies?saved=policy-created")


@router.post("/policies/{policy_id}/delete")
def delete_policy(request: Request, policy_id: str, session: Writer, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, session, csrf)
    try:
        service.delete_policy(request.app.state.db, policy_id_of(policy_id), actor=session.staff.actor, via="console")
    except DomainError as exc:
        raise PageError(exc.status, "Not deleted", exc.message) from None
    return redirect("/console/decide/policies?saved=policy-deleted")


def _next_best(conn: Connection, subject: Subject, _request: Request) -> dict[str, Any]:
    now = utcnow()
    ask = Ask()
    person = Person(subject.profile_id, tuple(subject.members))
    scope = scope_of(conn, person, ask, now)
    chosen = next_best_actions(conn, person, ask, scope, now)
    return {
        "level": scope.level,
        "shown": chosen.shown,
        "held": chosen.held,
        "contact": chosen.contact,
        "presented": recent_presentations(conn, subject.members),
    }


NAV = (
    NavEntry("decide-actions", "/console/decide/actions", "Next best actions", Permission.DECISIONS_READ, order=40),
    NavEntry("decide-policies", "/console/decide/policies", "Engagement policies", Permission.DECISIONS_READ, order=41),
)

PROFILE_PANELS = (
    Panel("next_best_actions", "console/decide/panel_actions.html", _next_best, Permission.DECISIONS_READ, order=26),
)
