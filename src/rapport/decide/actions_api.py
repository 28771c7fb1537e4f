"""The staff API of next best action: the action catalogue, engagement policies and the settings
(contact limits, suppression after a "no", the detractor window). Marketers and admins write
(`actions:write`); every role reads. And the contact policy's answer for one person and channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.db.metadata import row_id
from rapport.decide import actions_model as am
from rapport.decide import actions_service as service
from rapport.decide import contact
from rapport.decide.actions_store import load_actions, load_policies, load_settings, load_stats
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound

Writer = Annotated[Staff, Depends(permission(Permission.ACTIONS_WRITE))]
Reader = Annotated[Staff, Depends(permission(Permission.DECISIONS_READ))]
Document = Annotated[dict[str, Any], Body()]

router = APIRouter(prefix="/api/v1", tags=["decide"])


def policy_id_of(text: str) -> int:
    if (number := row_id(text)) is None:
        raise NotFound(f"policy {text[:40]!r}")
    return number


def _with_stats(action: am.Action, stats: am.Stats) -> dict[str, Any]:
    return {
        **am.action_document(action),
        "stats": {**stats.__dict__, "propensity": round(am.propensity(action, stats), 6)},
    }


@router.get("/actions")
def list_actions(request: Request, _staff: Reader) -> dict[str, Any]:
    """The action catalogue with what each action's outcomes say; "do nothing" is always in it."""
    with request.app.state.db.read() as conn:
        catalogue = load_actions(conn)
        stats = load_stats(conn, [a.id for a in catalogue])
    items = [_with_stats(a, stats.get(a.id, am.Stats())) for a in catalogue]
    items.insert(0, am.action_document(am.DO_NOTHING_ACTION))
    return {"items": items}


@router.post("/actions", status_code=201)
def create_action(request: Request, body: Document, staff: Writer) -> dict[str, Any]:
    action = service.create_action(request.app.state.db, body, actor=staff.actor, via="api")
    return am.action_document(action)


@router.get("/actions/{action_id}")
def get_action(request: Request, action_id: str, _staff: Reader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        action = service.get_action(conn, action_id)
        stats = load_stats(conn, [action.id]).get(action.id, am.Stats())
    return _with_stats(action, stats)


@router.patch("/actions/{action_id}")
def update_action(request: Request, action_id: str, body: Document, staff: Writer) -> dict[str, Any]:
    action = service.update_action(request.app.state.db, action_id, body, actor=staff.actor, via="api")
    return am.action_document(action)


@router.delete("/actions/{action_id}", status_code=204)
def delete_action(request: Request, action_id: str, staff: Writer) -> Response:
    service.delete_action(request.app.state.db, action_id, actor=staff.actor, via="api")
    return Response(status_code=204)


@router.get("/policies")
def list_policies(request: Request, _staff: Reader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": [service.policy_document(p) for p in load_policies(conn)]}


@router.post("/policies", status_code=201)
def create_policy(request: Request, body: Document, staff: Writer) -> dict[str, Any]:
    return service.policy_document(service.create_policy(request.app.state.db, body, actor=staff.actor, via="api"))


@router.get("/policies/{policy_id}")
def get_policy(request: Request, policy_id: str, _staff: Reader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return service.policy_document(service.get_policy(conn, policy_id_of(policy_id)))


@router.patch("/policies/{policy_id}")
def update_policy(request: Request, policy_id: str, body: Document, staff: Writer) -> dict[str, Any]:
    policy = service.update_policy(request.app.state.db, policy_id_of(policy_id), body, actor=staff.actor, via="api")
    return service.policy_document(policy)


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(request: Request, policy_id: str, staff: Writer) -> Response:
    service.delete_policy(request.app.state.db, policy_id_of(policy_id), actor=staff.actor, via="api")
    return Response(status_code=204)


@router.get("/decide/settings")
def get_settings(request: Request, _staff: Reader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return am.settings_document(load_settings(conn))


@router.put("/decide/settings")
def put_settings(request: Request, body: Document, staff: Writer) -> dict[str, Any]:
    settings = service.update_settings(request.app.state.db, body, actor=staff.actor, via="api")
    return am.settings_document(settings)


@router.get("/profiles/{profile_id}/contact")
def get_contact(
    request: Request,
    profile_id: str,
    _staff: Reader,
    channel: Annotated[str, Query(max_length=32)] = "email",
    inbound: bool = False,
) -> dict[str, Any]:
    """May we contact the person on `channel` now, under the contact policy and their own caps?"""
    if channel not in contact.CHANNEL_OF:
        raise Invalid("invalid_channel", f"channel must be one of {', '.join(contact.CHANNEL_OF)}")
    with request.app.state.db.read() as conn:
        canonical, _ = members_of(conn, profile_id)
        decision = contact.check(conn, canonical, channel, utcnow(), inbound=inbound)
    return {"profile_id": canonical, "channel": channel, "allowed": decision.allowed, "reason": decision.reason}
