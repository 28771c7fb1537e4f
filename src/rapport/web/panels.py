"""What a context contributes to the two sites: navigation entries, panels on the Customer 360 and on
the portal's "My data", and hooks run for every signed-in portal request.

The sites are shells: they know these shapes, not the contexts that fill them. `rapport.contexts`
lists every contribution explicitly; `create_app` hands them to the shells through `app.state.sites`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Connection

from rapport.access.model import Permission


@dataclass(frozen=True)
class NavEntry:
    key: str  # the page's `current` value, so the entry is marked as the page shown
    href: str
    label: str
    permission: Permission | None = None  # console: shown only to roles with it
    order: int = 100


@dataclass(frozen=True)
class Subject:
    """The customer a panel is about: the canonical profile and every profile merged into it."""

    profile_id: str
    members: list[str]
    query: Mapping[str, str] = field(default_factory=dict)  # the page's query (paging, notices)


# A panel's loader reads what it shows in the page's read transaction; None hides the panel.
PanelLoader = Callable[[Connection, Subject, Request], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    key: str
    template: str  # rendered with the loader's answer as `panel`
    load: PanelLoader
    permission: Permission | None = None  # console panels: shown only to roles with it
    order: int = 100


@dataclass(frozen=True)
class PortalHook:
    """Runs for each request of a signed-in customer (`on_request`), and adds to every portal page's
    context (`page`: given the signed-in profile id or None)."""

    on_request: Callable[[Request, str], None] | None = None
    page: Callable[[Request, str | None], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Sites:
    """Everything the contexts contribute to the console and the portal, in display order."""

    console_nav: tuple[NavEntry, ...] = ()
    portal_nav: tuple[NavEntry, ...] = ()
    profile_panels: tuple[Panel, ...] = ()
    my_data_panels: tuple[Panel, ...] = ()
    portal_hooks: tuple[PortalHook, ...] = ()


def sites_of(request: Request) -> Sites:
    sites = getattr(request.app.state, "sites", None)
    return sites if isinstance(sites, Sites) else Sites()


def load_panels(
    conn: Connection, panels: tuple[Panel, ...], subject: Subject, request: Request, may: Callable[[Permission], bool]
) -> list[dict[str, Any]]:
    """The panels this reader may see, each with what its loader found, in display order."""
    shown = []
    for panel in sorted(panels, key=lambda p: p.order):
        if panel.permission is not None and not may(panel.permission):
            continue
        data = panel.load(conn, subject, request)
        if data is not None:
            shown.append({"key": panel.key, "template": panel.template, "data": data})
    return shown
