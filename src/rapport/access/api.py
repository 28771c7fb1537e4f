"""FastAPI dependencies for staff, declared once: a route names the permission it needs by type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from rapport.access.model import Staff
from rapport.access.service import authenticate
from rapport.errors import ApiError


def current_staff(request: Request) -> Staff:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "missing_token",
            "send a staff token as `Authorization: Bearer <token>`",
            {"WWW-Authenticate": "Bearer"},
        )
    with request.app.state.db.read() as conn:
        staff = authenticate(conn, token)
    if staff is None:
        raise ApiError(401, "invalid_token", "the token is unknown or revoked", {"WWW-Authenticate": "Bearer"})
    return staff


def permission(name: str) -> Callable[[Staff], Staff]:
    def check(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if not staff.may(name):
            raise ApiError(403, "forbidden", f"the {staff.role} role may not {name.replace(':', ' ')}")
        return staff

    return check


ProfileReader = Annotated[Staff, Depends(permission("profiles:read"))]
MergeMaker = Annotated[Staff, Depends(permission("merges:make"))]
MergeUndoer = Annotated[Staff, Depends(permission("merges:undo"))]
DeadLetterReader = Annotated[Staff, Depends(permission("dead_letters:read"))]
MetricsReader = Annotated[Staff, Depends(permission("metrics:read"))]
AuditReader = Annotated[Staff, Depends(permission("audit:read"))]
ConsentReader = Annotated[Staff, Depends(permission("consent:read"))]
ConsentWriter = Annotated[Staff, Depends(permission("consent:write"))]
PreferenceWriter = Annotated[Staff, Depends(permission("preferences:write"))]
MessageSender = Annotated[Staff, Depends(permission("messages:send"))]
DataExporter = Annotated[Staff, Depends(permission("data:export"))]
DataEraser = Annotated[Staff, Depends(permission("data:erase"))]
PortalLinker = Annotated[Staff, Depends(permission("portal:link"))]
