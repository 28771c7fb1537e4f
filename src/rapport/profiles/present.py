"""How profiles and events read on a page: names, summaries."""

from __future__ import annotations

from typing import Any

import orjson

from rapport.profiles.service import ProfileView


def display_name(traits: dict[str, Any]) -> str:
    for key in ("name", "fullName", "full_name"):
        if isinstance(traits.get(key), str) and traits[key].strip():
            return str(traits[key]).strip()
    first = traits.get("firstName") or traits.get("first_name") or ""
    last = traits.get("lastName") or traits.get("last_name") or ""
    return f"{first} {last}".strip() if isinstance(first, str) and isinstance(last, str) else ""


def first_of(view: ProfileView, kind: str) -> str:
    return next((i["value"] for i in view.identifiers if i["type"] == kind), "")


def result_row(view: ProfileView) -> dict[str, Any]:
    """One search result: who it is and how to reach them, at a glance."""
    return {
        "id": view.id,
        "name": display_name(view.traits) or "(no name)",
        "email": first_of(view, "email"),
        "phone": first_of(view, "phone"),
        "channels": view.channels,
        "last_seen": view.last_seen,
        "event_count": view.event_count,
    }


def event_title(row: dict[str, Any]) -> str:
    """What happened, the way a person would say it."""
    kind = row.get("type") or "event"
    name = row.get("event")
    if kind == "track":
        return str(name or "track")
    if kind in ("page", "screen"):
        return f"Viewed {kind} {name}" if name else f"Viewed a {kind}"
    if kind == "identify":
        return "Identified"
    if kind == "alias":
        return "Linked ids (alias)"
    if kind == "group":
        return "Joined group"
    return str(kind)


def event_details(row: dict[str, Any]) -> str:
    """The properties or traits an event carried, shortened for the timeline."""
    payload = row.get("payload") or {}
    if not isinstance(payload, dict):
        return ""
    details = payload.get("properties") if row.get("type") != "identify" else payload.get("traits")
    if not isinstance(details, dict) or not details:
        return ""
    text = ", ".join(f"{k}: {_short(v)}" for k, v in list(details.items())[:6])
    return text if len(details) <= 6 else text + ", …"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if len(text) <= 60 else text[:59] + "…"
