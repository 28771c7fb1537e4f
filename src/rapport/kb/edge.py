"""How often one client may search or vote, shared by the public API and the help center pages."""

from __future__ import annotations

from fastapi import Request

from rapport.kernel.limits import WindowLimit

PER_CLIENT = 120  # a minute: a person typing, and then some
IN_ALL = 20_000


def wait_s(request: Request) -> float:
    """Count one request of this client (its address as the server sees it): 0 when allowed, else
    the seconds until it may try again. Per process, like the sign-in limits."""
    state = request.app.state
    if not hasattr(state, "kb_limits"):
        state.kb_limits = WindowLimit(PER_CLIENT, IN_ALL, 60)
    limits: WindowLimit = state.kb_limits
    return limits.take(request.client.host if request.client else "")
