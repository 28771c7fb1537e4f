"""FastAPI dependencies for staff: `Authorized("permission")` declares what a route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rapport.access.model import Staff
from rapport.access.service import authenticate
from rapport.errors import ApiError


def current_staff(request: Request) -> Staff:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_token", "send a staff token as `Authorization: Bearer <token>`",
                       {"WWW-Authenticate": "Bearer"})
    with request.app.state.db.read() as conn:
        staff = authenticate(conn, token)
    if staff is None:
        raise ApiError(401, "invalid_token", "the token is unknown or revoked", {"WWW-Authenticate": "Bearer"})
    return staff


def Authorized(permission: str):  # noqa: N802 - reads as a type in signatures
    def check(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if not staff.may(permission):
            raise ApiError(403, "forbidden", f"the {staff.role} role may not {permission.replace(':', ' ')}")
        return staff

    return Annotated[Staff, Depends(check)]
