"""Staff API of the service desk: cases and their messages, the queue, SLA policies and calendars,
agents' capacity, and the service report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.db.metadata import MAX_ROW_ID
from rapport.identity.model import normalize_email
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound, RequestBody
from rapport.service import parity, policy_admin, queue, read
from rapport.service.influence import NETWORKS, record_influence
from rapport.service.model import CHANNELS, PRIORITIES, STATUSES
from rapport.service.policies import list_calendars, list_policies
from rapport.service.requester import Requester, for_address, for_profile
from rapport.service.service import (
    Changes,
    Message,
    NewCase,
    Work,
    add_customer_message,
    merge_cases,
    open_case_in,
    reply,
    set_agent,
    update_case,
)
from rapport.service.store import case_row

router = APIRouter(prefix="/api/v1", tags=["service"])

CaseWorker = Annotated[Staff, Depends(permission(Permission.CASES_WORK))]
SlaReader = Annotated[Staff, Depends(permission(Permission.SLA_READ))]
SlaManager = Annotated[Staff, Depends(permission(Permission.SLA_MANAGE))]
ReportReader = Annotated[Staff, Depends(permission(Permission.SERVICE_REPORTS_READ))]
CaseId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Name = Annotated[str, Path(min_length=1, max_length=64)]


class RequesterIn(RequestBody):
    profile_id: str | None = Field(default=None, min_length=1, max_length=32)
    email: str | None = Field(default=None, max_length=360)
    name: str | None = Field(default=None, max_length=200)


class SocialIn(RequestBody):
    network: Literal[NETWORKS]  # type: ignore[valid-type]
    handle: str | None = Field(default=None, max_length=200)
    followers: int = Field(ge=0, le=10**10)


class CaseCreate(RequestBody):
    requester: RequesterIn
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=200_000, description="what the customer asked, in their words")
    channel: Literal[CHANNELS] = "phone"  # type: ignore[valid-type]
    priority: Literal[PRIORITIES] = "normal"  # type: ignore[valid-type]
    topic: str | None = Field(default=None, max_length=64)
    tags: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=20)
    team: str | None = Field(default=None, min_length=1, max_length=64)
    social: SocialIn | None = Field(default=None, description="the author's following, kept apart from the queue")


class CasePatch(RequestBody):
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    topic: str | None = Field(default=None, max_length=64)
    tags: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=20)
    team: str | None = Field(default=None, min_length=1, max_length=64)
    assignee: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500, description="why it is assigned so (logged)")


class MessageCreate(RequestBody):
    text: str = Field(min_length=1, max_length=200_000)
    internal: bool = Field(default=False, description="an internal note, never shown or sent to the customer")
    author: Literal["agent", "customer"] = Field(
        default="agent", description="customer: what the customer said, written down by the agent (a call)"
    )
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]


class MergeBody(RequestBody):
    into: int = Field(ge=1, le=MAX_ROW_ID, description="the case that stays")


class PolicyPut(RequestBody):
    position: int = Field(default=100, ge=0, le=10_000)
    channel: Literal[CHANNELS] | None = None  # type: ignore[valid-type]
    topic: str | None = Field(default=None, max_length=64)
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    calendar: str = Field(default="always", min_length=1, max_length=64)
    first_response_minutes: int | None = Field(default=None, ge=0)
    next_response_minutes: int | None = Field(default=None, ge=0)
    resolution_minutes: int | None = Field(default=None, ge=0)
    warn_before_minutes: int | None = Field(default=None, ge=0)


class CalendarPut(RequestBody):
    timezone: str = Field(default="UTC", max_length=64)
    hours: dict[str, Any] | None = None
    holidays: dict[str, Any] | None = None
    ical: str | None = Field(default=None, max_length=1_000_000)


class AgentPut(RequestBody):
    capacity: int = Field(ge=0, le=1000)
    teams: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default=[], max_length=50)


def _requester(body: RequesterIn) -> Any:
    """Who asked, as staff name them: a profile, or an email address, resolved as mail is (only an
    asserted address joins its profile). An address staff typed proves no mailbox: replies go to
    the profile's verified address, not to it."""
    if (body.profile_id is None) == (body.email is None):
        raise Invalid("invalid_requester", "name the requester by profile_id or by email: one of them")

    def resolve(conn: Any) -> Requester:
        if body.profile_id is not None:
            found = for_profile(conn, body.profile_id, body.name)
            if found is None:
                raise NotFound(f"profile {body.profile_id}", "profile_not_found")
            return found
        address = normalize_email(body.email)
        if address is None:
            raise Invalid("invalid_email", "the requester's email is not an address")
        found = for_address(conn, address, body.name)
        asserted = found.how.startswith("address asserted")
        return Requester(found.profile_id, found.key, address if asserted else None, found.name, found.how)

    return resolve


@router.post("/cases", status_code=201)
def post_case(request: Request, body: CaseCreate, staff: CaseWorker) -> dict[str, Any]:
    """Open a case for a customer who called, visited, wrote on social or anywhere else."""
    resolve = _requester(body.requester)
    new = NewCase(body.subject, body.channel, body.priority, body.topic, body.tags, body.team)
    db = request.app.state.db
    with db.write() as conn:
        w = Work(conn, staff.actor)
        case = open_case_in(w, resolve(conn), new, Message(body.text), "customer")
        if body.social is not None:
            record_influence(conn, case["id"], body.social.network, body.social.handle, body.social.followers)
        w.finish(case)
    with db.read() as conn:
        return read.staff_view(conn, case["id"])


@router.get("/cases")
def get_cases(
    request: Request,
    _staff: CaseWorker,
    status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    profile_id: Annotated[str | None, Query(max_length=32)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        members = members_of(conn, profile_id)[1] if profile_id else None
        items = read.list_cases(conn, status=status, assignee=assignee, profile_ids=members, before=before, limit=limit)
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}


@router.get("/cases/{case_id}")
def get_case(request: Request, case_id: CaseId, _staff: CaseWorker) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return read.staff_view(conn, case_id)


@router.patch("/cases/{case_id}")
def patch_case(request: Request, case_id: CaseId, body: CasePatch, staff: CaseWorker) -> dict[str, Any]:
    given = body.model_fields_set
    changes = Changes(
        status=body.status,
        priority=body.priority,
        topic=body.topic,
        clear_topic="topic" in given and body.topic is None,
        tags=body.tags,
        team=body.team,
        clear_team="team" in given and body.team is None,
        assignee=body.assignee,
        unassign="assignee" in given and body.assignee is None,
        reason=body.reason,
    )
    db = request.app.state.db
    update_case(db, case_id, changes, actor=staff.actor)
    with db.read() as conn:
        return read.staff_view(conn, case_id)


@router.post("/cases/{case_id}/messages", status_code=201)
def post_message(request: Request, case_id: CaseId, body: MessageCreate, staff: CaseWorker) -> dict[str, Any]:
    """A reply (mailed on an email case), an internal note, or what the customer said on a call."""
    db = request.app.state.db
    if body.author == "customer":
        if body.internal or body.status is not None:
            raise Invalid("invalid_message", "what the customer said is public and sets no status")
        message_id = add_customer_message(db, case_id, Message(body.text), actor=staff.actor)
    else:
        message_id = reply(db, case_id, body.text, actor=staff.actor, public=not body.internal, status=body.status)[
            "message_id"
        ]
    with db.read() as conn:
        view = read.staff_view(conn, case_id)
    message = next(m for m in view["messages"] if m["id"] == message_id)
    return {"message": message, "case": {k: view[k] for k in read.SUMMARY}}


@router.post("/cases/{case_id}/merge")
def post_merge(request: Request, case_id: CaseId, body: MergeBody, staff: CaseWorker) -> dict[str, Any]:
    """Merge this duplicate into `into`: its messages move there and it is closed."""
    merge_cases(request.app.state.db, case_id, body.into, actor=staff.actor)
    with request.app.state.db.read() as conn:
        return read.staff_view(conn, body.into)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def get_attachment(
    request: Request, case_id: CaseId, attachment_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], _staff: CaseWorker
) -> Response:
    with request.app.state.db.read() as conn:
        found = read.attachment(conn, case_id, attachment_id)
    if found["content"] is None:
        raise NotFound(f"the content of attachment {attachment_id} ({found['note']})", "attachment_not_stored")
    return Response(found["content"], media_type="application/octet-stream", headers=read.download_headers(found))


@router.get("/queue/next")
def get_next(request: Request, staff: CaseWorker) -> dict[str, Any]:
    """The case the calling agent should take next (not taken: POST to take it)."""
    with request.app.state.db.read() as conn:
        head = queue.next_for(conn, staff.name)
        found = case_row(conn, head["id"]) if head else None
        return {"case": read.summary(found) if found else None}


@router.post("/queue/next")
def take_next(request: Request, staff: CaseWorker) -> dict[str, Any]:
    """Take the next case: it is assigned to the caller, within their capacity, with the reason."""
    case = queue.take_next(request.app.state.db, staff.name, actor=staff.actor)
    return {"case": read.summary(case) if case else None}


@router.get("/queue")
def get_queue(request: Request, _staff: CaseWorker, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": queue.standing(conn, limit)}


@router.put("/service/agents/{name}")
def put_agent(
    request: Request, name: Annotated[str, Path(min_length=1, max_length=200)], body: AgentPut, staff: SlaManager
) -> dict[str, Any]:
    return set_agent(request.app.state.db, name, body.capacity, body.teams, actor=staff.actor)


@router.get("/sla/policies")
def get_policies(request: Request, _staff: SlaReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": list_policies(conn)}


@router.put("/sla/policies/{name}")
def put_policy(request: Request, name: Name, body: PolicyPut, staff: SlaManager) -> dict[str, Any]:
    return policy_admin.set_policy(request.app.state.db, name, body.model_dump(), staff.actor)


@router.delete("/sla/policies/{name}", status_code=204)
def delete_policy(request: Request, name: Name, staff: SlaManager) -> Response:
    policy_admin.delete_policy(request.app.state.db, name, staff.actor)
    return Response(status_code=204)


@router.get("/sla/calendars")
def get_calendars(request: Request, _staff: SlaReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": list_calendars(conn)}


@router.put("/sla/calendars/{name}")
def put_calendar(request: Request, name: Name, body: CalendarPut, staff: SlaManager) -> dict[str, Any]:
    document = body.model_dump(exclude_none=True)
    return policy_admin.set_calendar(request.app.state.db, name, document, staff.actor)


@router.get("/service/report")
def get_report(
    request: Request, _staff: ReportReader, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> dict[str, Any]:
    """Cases opened in the last `days`, by status, and each promise met or missed by channel."""
    since: datetime = utcnow() - timedelta(days=days)
    with request.app.state.db.read() as conn:
        return read.report(conn, since)


@router.get("/service/parity")
def get_parity(
    request: Request,
    _staff: ReportReader,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    min_settled: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> dict[str, Any]:
    """Equal service: first response and resolution p50/p90 and on-time rate by channel, language
    and influence band, with an alert for any group below 0.8 × the best group's on-time rate."""
    since: datetime = utcnow() - timedelta(days=days)
    with request.app.state.db.read() as conn:
        return parity.parity_report(conn, since, min_settled=min_settled)
