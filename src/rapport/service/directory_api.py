"""The channel directory over HTTP: `GET /v1/channels` for anyone (no key: it is public), and the
entries as admins keep them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import Field

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.kernel.errors import RequestBody
from rapport.service import directory

public_router = APIRouter(prefix="/v1", tags=["service"])
router = APIRouter(prefix="/api/v1/service/channels", tags=["service"])
SlaReader = Annotated[Staff, Depends(permission(Permission.SLA_READ))]
Admin = Annotated[Staff, Depends(permission(Permission.SLA_MANAGE))]
Key = Annotated[str, Path(min_length=1, max_length=64)]


class Link(RequestBody):
    label: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000)
    kind: str = Field(default="self-service", max_length=20)


class EntryPut(RequestBody):
    channel: str = Field(max_length=16)
    name: str = Field(min_length=1, max_length=100, description="how the page names it: Email us")
    contact: str = Field(min_length=1, max_length=500, description="the address, number or page to use")
    description: str = Field(default="", max_length=2000)
    calendar: str | None = Field(default=None, max_length=64, description="its hours; null: its policy's calendar")
    policy: str | None = Field(default=None, max_length=64, description="its promise; null: the channel's policy")
    topics: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=30)
    links: list[Link] = Field(default=[], max_length=20)
    position: int = Field(default=100, ge=0, le=10_000)
    published: bool = True


@public_router.get("/channels")
def public_channels(request: Request) -> dict[str, Any]:
    """Every way to reach us: hours, the promised first response, what each handles, where to help
    yourself, and how fast first responses actually came (p90, last 30 days)."""
    with request.app.state.db.read() as conn:
        return {"items": directory.directory(conn)}


@router.get("")
def get_entries(request: Request, _staff: SlaReader) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": directory.list_entries(conn)}


@router.put("/{key}")
def put_entry(request: Request, key: Key, body: EntryPut, staff: Admin) -> dict[str, Any]:
    return directory.set_entry(request.app.state.db, key, body.model_dump(), staff.actor)


@router.delete("/{key}", status_code=204)
def delete_entry(request: Request, key: Key, staff: Admin) -> Response:
    directory.delete_entry(request.app.state.db, key, staff.actor)
    return Response(status_code=204)
