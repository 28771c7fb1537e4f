"""The chat widget on the portal's pages (the help center's among them), when a source's write key
is configured for it (`RAPPORT_HELP_CHAT_WRITE_KEY`; the demo sets its web source's)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from rapport.web.panels import PortalHook


def _page(request: Request, _profile_id: str | None) -> dict[str, Any]:
    key = request.app.state.settings.help_chat_write_key
    return {"chat_widget": {"write_key": key}} if key else {}


PORTAL_HOOK = PortalHook(page=_page)
