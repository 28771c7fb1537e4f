"""The HTTP edge: a request body is bounded before it is read into memory and before its sender is
known. A `Content-Length` over the bound is answered 413 at once, unread; a body without one
(chunked) is counted as it streams in, and answered 413 the moment it passes the bound, so no client
can make the server buffer more than the largest body anything here accepts. A body whose sender
left before it ended is no error of the server's: nothing is answered, and nothing logged.

Plain ASGI, like TextGuard, so the ingest path pays no task or body copy for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect

from rapport.kernel.errors import ASGIApp, Scope, error_response


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """At most `default` bytes of body, or the bound of the first path prefix in `by_prefix` that matches."""

    def __init__(self, app: ASGIApp, default: int, by_prefix: Mapping[tuple[str, ...], int] | None = None) -> None:
        self.app = app
        self.default = default
        self.by_prefix = dict(by_prefix or {})

    def bound(self, path: str) -> int:
        return next((limit for prefixes, limit in self.by_prefix.items() if path.startswith(prefixes)), self.default)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.bound(scope["path"])
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # an answer was already on its way: nothing more can be said
                raise
            await _too_large(limit)(scope, receive, send)
        except ClientDisconnect:
            pass  # the client left (or was cut off as too slow, kernel/connections.py) mid-body: no one to answer


def _too_large(limit: int) -> Any:
    return error_response(413, "payload_too_large", f"the request body exceeds {limit} bytes, the most accepted here")
