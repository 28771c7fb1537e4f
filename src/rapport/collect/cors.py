"""CORS for the Tracking API, so that browser libraries on any website can send to it.

The Tracking API's answers are readable from every origin (`Access-Control-Allow-Origin: *`): a
browser library's write key is public, its requests carry no cookies or other credentials that the
API reads, and so a page on another origin can learn nothing through it that its write key would not
tell it anyway. Preflights are answered here, before any route, with the headers the library asked
for (RudderStack sends `AnonymousId`, `SentAt`, `Rsa-*`; both send `Authorization`), and
`Retry-After` is exposed so a library can honour a 429. `Access-Control-Allow-Credentials` is never
sent: a credentialed request from a browser is refused by the browser, which is the point.

Only the Tracking API's paths get any of this: the console, the portal and the staff API (cookies
and tokens) are answered as if CORS did not exist, so a browser keeps other origins out of them.

Plain ASGI rather than FastAPI's `@app.middleware`, which would cost every ingest request a task and
a copy of its body (see kernel/errors.py, TextGuard).
"""

from __future__ import annotations

import re
from typing import Any

from rapport.kernel.errors import ASGIApp, Scope

# The Tracking API's paths: Segment's /v1/..., RudderStack's source config and beacon route.
TRACKING_PREFIXES = ("/v1/", "/beacon/v1/", "/sourceConfig/")
TRACKING_PATHS = ("/sourceConfig",)
ALLOWED_METHODS = b"GET, HEAD, POST"
MAX_AGE_S = b"86400"  # browsers cap it (Chromium at 2 hours); each cap is the browser's to choose
_HEADER_NAME = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
_MOST_HEADERS = 64


def is_tracking_path(path: str) -> bool:
    return path.startswith(TRACKING_PREFIXES) or path in TRACKING_PATHS


def requested_headers(value: bytes) -> bytes:
    """The headers a preflight asked for, as a list to allow: header names only, lower case."""
    names: list[bytes] = []
    for part in value.split(b","):
        name = part.strip().lower()
        if name and _HEADER_NAME.match(name) and name not in names:
            names.append(name)
        if len(names) == _MOST_HEADERS:
            break
    return b", ".join(names)


def _preflight_headers(request_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    asked = b""
    for name, value in request_headers:
        if name == b"access-control-request-headers":
            asked = value
    headers = [
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-methods", ALLOWED_METHODS),
        (b"access-control-max-age", MAX_AGE_S),
        (b"vary", b"Access-Control-Request-Headers"),
    ]
    allowed = requested_headers(asked)
    if allowed:
        headers.append((b"access-control-allow-headers", allowed))
    return headers


ANSWER_HEADERS = [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", b"Retry-After")]


class TrackingCors:
    """Answers CORS preflights on the Tracking API's paths and marks its answers readable by any origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_tracking_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS" and any(
            name == b"access-control-request-method" for name, _ in scope["headers"]
        )
        if preflight:
            headers = _preflight_headers(scope["headers"])  # a 204 has no body, and so no Content-Length
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_readable(message: Any) -> None:
            if message["type"] == "http.response.start":  # no route sets CORS headers of its own
                message = {**message, "headers": [*message.get("headers", ()), *ANSWER_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_readable)
