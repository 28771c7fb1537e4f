"""FastAPI dependencies for staff, declared once: a route names the permission it needs by type; and
the routes over staff tokens themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from rapport.access.model import GRANTS, Permission, Staff
from rapport.access.service import authenticate, list_tokens, revoke_token
from rapport.db.metadata import MAX_INT_ID
from rapport.kernel.errors import ApiError


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


def permission(needed: Permission) -> Callable[[Staff], Staff]:
    """The dependency of a route that needs `needed`: the staff member, or 401/403."""
    needed = Permission(needed)  # a mistyped permission fails when the route is declared, not as a 500

    def check(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if not staff.may(needed):
            raise ApiError(403, "forbidden", f"the {staff.role} role may not {GRANTS[needed].ability}")
        return staff

    return check


ProfileReader = Annotated[Staff, Depends(permission(Permission.PROFILES_READ))]
MergeMaker = Annotated[Staff, Depends(permission(Permission.MERGES_MAKE))]
MergeUndoer = Annotated[Staff, Depends(permission(Permission.MERGES_UNDO))]
IdentifierVerifier = Annotated[Staff, Depends(permission(Permission.IDENTIFIERS_VERIFY))]
DeadLetterReader = Annotated[Staff, Depends(permission(Permission.DEAD_LETTERS_READ))]
MetricsReader = Annotated[Staff, Depends(permission(Permission.METRICS_READ))]
AuditReader = Annotated[Staff, Depends(permission(Permission.AUDIT_READ))]
ConsentReader = Annotated[Staff, Depends(permission(Permission.CONSENT_READ))]
ConsentWriter = Annotated[Staff, Depends(permission(Permission.CONSENT_WRITE))]
PreferenceWriter = Annotated[Staff, Depends(permission(Permission.PREFERENCES_WRITE))]
MessageSender = Annotated[Staff, Depends(permission(Permission.MESSAGES_SEND))]
DataExporter = Annotated[Staff, Depends(permission(Permission.DATA_EXPORT))]
DataEraser = Annotated[Staff, Depends(permission(Permission.DATA_ERASE))]
PortalLinker = Annotated[Staff, Depends(permission(Permission.PORTAL_LINK))]
TokenManager = Annotated[Staff, Depends(permission(Permission.TOKENS_MANAGE))]
KnowledgeWriter = Annotated[Staff, Depends(permission(Permission.KB_WRITE))]
VoiceReader = Annotated[Staff, Depends(permission(Permission.VOICE_READ))]
VoiceInviter = Annotated[Staff, Depends(permission(Permission.VOICE_INVITE))]
VoiceManager = Annotated[Staff, Depends(permission(Permission.VOICE_MANAGE))]

router = APIRouter(prefix="/api/v1", tags=["staff"])


@router.get("/tokens")
def get_tokens(request: Request, _staff: TokenManager) -> dict[str, Any]:
    """Every staff token issued: id, holder, role, when issued and revoked (never the token itself)."""
    with request.app.state.db.read() as conn:
        return {"items": list_tokens(conn)}


@router.post("/tokens/{token_id}/revoke")
def post_revoke_token(
    request: Request, token_id: Annotated[int, Path(ge=1, le=MAX_INT_ID)], staff: TokenManager
) -> dict[str, Any]:
    """Revoke a token at once, audited: its API calls get 401, its console sessions are signed out."""
    return revoke_token(request.app.state.db, token_id, staff.actor, channel="api")
