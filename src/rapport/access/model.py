"""Staff roles and what each may do. Pure."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "agent", "marketer", "analyst", "privacy")

PERMISSIONS: dict[str, frozenset[str]] = {
    "profiles:read": frozenset(ROLES),
    "merges:make": frozenset({"admin", "privacy"}),
    "merges:undo": frozenset({"admin", "privacy"}),
    "dead_letters:read": frozenset({"admin", "analyst"}),
    "metrics:read": frozenset({"admin", "analyst"}),
    "sources:read": frozenset({"admin"}),
    "sources:manage": frozenset({"admin"}),
    "audit:read": frozenset({"admin", "privacy"}),
    "tokens:manage": frozenset({"admin"}),
    "consent:read": frozenset(ROLES),
    "consent:write": frozenset({"admin", "agent", "privacy"}),
    "preferences:write": frozenset({"admin", "agent", "privacy"}),
    "messages:send": frozenset({"admin", "marketer", "agent"}),
    "data:export": frozenset({"admin", "privacy"}),
    "data:erase": frozenset({"admin", "privacy"}),
    "portal:link": frozenset({"admin", "agent", "privacy"}),
}


@dataclass(frozen=True)
class Staff:
    token_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"staff:{self.token_id}:{self.name}"

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]
