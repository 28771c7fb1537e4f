"""Macros over HTTP: admins keep them; agents list them, see one filled in for a case, and use it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import Field

from rapport.access.api import permission
from rapport.access.model import Permission, Staff
from rapport.db.metadata import MAX_ROW_ID
from rapport.kernel.errors import RequestBody
from rapport.service import macros, read
from rapport.service.macros_model import MAX_NAME, MAX_TEXT, MacroSpec
from rapport.service.model import STATUSES

router = APIRouter(prefix="/api/v1", tags=["service"])
CaseWorker = Annotated[Staff, Depends(permission(Permission.CASES_WORK))]
MacroKeeper = Annotated[Staff, Depends(permission(Permission.MACROS_MANAGE))]
Id = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Tag = Annotated[str, Field(max_length=40)]


class MacroCreate(RequestBody):
    name: str = Field(max_length=MAX_NAME)
    text: str = Field(max_length=MAX_TEXT, description="may name {first_name} {name} {reference} {subject} {agent}")
    status: Status | None = Field(default=None, description="the status the case takes; null: as the reply implies")
    tags: list[Tag] = Field(default=[], max_length=20)
    internal: bool = Field(default=False, description="an internal note rather than a reply")


class MacroPatch(RequestBody):
    name: str | None = Field(default=None, max_length=MAX_NAME)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    status: Status | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    internal: bool | None = None


class MacroUse(RequestBody):
    note: str = Field(default="", max_length=MAX_TEXT, description="added below the macro's text")


@router.get("/macros")
def get_macros(request: Request, _staff: CaseWorker) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return {"items": macros.list_macros(conn)}


@router.post("/macros", status_code=201)
def post_macro(request: Request, body: MacroCreate, staff: MacroKeeper) -> dict[str, Any]:
    spec = MacroSpec(body.name, body.text, body.status, tuple(body.tags), body.internal)
    return macros.create_macro(request.app.state.db, spec, actor=staff.actor)


@router.patch("/macros/{macro_id}")
def patch_macro(request: Request, macro_id: Id, body: MacroPatch, staff: MacroKeeper) -> dict[str, Any]:
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    if "tags" in changes:
        changes["tags"] = tuple(changes["tags"] or ())
    return macros.update_macro(request.app.state.db, macro_id, changes, actor=staff.actor)


@router.delete("/macros/{macro_id}", status_code=204)
def delete_macro(request: Request, macro_id: Id, staff: MacroKeeper) -> Response:
    macros.delete_macro(request.app.state.db, macro_id, actor=staff.actor)
    return Response(status_code=204)


@router.get("/cases/{case_id}/macros/{macro_id}")
def get_filled(request: Request, case_id: Id, macro_id: Id, staff: CaseWorker) -> dict[str, Any]:
    """The macro as it would go out on this case, to read (or edit) before sending."""
    with request.app.state.db.read() as conn:
        return macros.filled(conn, macro_id, case_id, staff.name)


@router.post("/cases/{case_id}/macros/{macro_id}", status_code=201)
def post_use(request: Request, case_id: Id, macro_id: Id, body: MacroUse, staff: CaseWorker) -> dict[str, Any]:
    """Send the macro on the case: the reply (or note), the status, the tags."""
    db = request.app.state.db
    done = macros.use_macro(db, macro_id, case_id, agent=staff.name, actor=staff.actor, note=body.note)
    with db.read() as conn:
        view = read.staff_view(conn, case_id)
    message = next(m for m in view["messages"] if m["id"] == done["message_id"])
    return {"message": message, "case": {k: view[k] for k in read.SUMMARY}}
