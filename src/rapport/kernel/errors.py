"""Every client error is a 4xx JSON body `{"code": ..., "message": ...}`; this module makes it so.

That includes text no store can hold: PostgreSQL refuses a NUL in text (SQLite takes it), and
neither driver can write a lone UTF-16 surrogate, which JSON's `\\udXXX` escapes can carry. Such
text is refused where it comes in: in a JSON API's URL by `TextGuard`, in a staff API body by
`RequestBody`, and dropped from console forms by `storable` (the Tracking API reads bodies itself,
in collect/jsondoc.py and collect/model.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _JSONResponse
from pydantic import BaseModel, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONResponse(_JSONResponse):
    """JSON via orjson: datetimes as ISO 8601, fast enough for the ingest path."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class DomainError(Exception):
    """A rule refused what was asked: `code` for machines (`already_merged`, `link_expired`), `message`
    for people. Services raise these and never speak HTTP; the kind of refusal decides, in one place
    (`STATUS`, `EXIT_CODE`), the HTTP answer, the status of the page that shows it and the CLI's exit."""

    kind = "invalid"

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers

    @property
    def status(self) -> int:
        return STATUS[self.kind]


class Invalid(DomainError):
    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"

    def __init__(self, what: str, code: str = "not_found") -> None:
        super().__init__(code, f"{what} not found")


class Conflict(DomainError):
    kind = "conflict"


class Gone(DomainError):
    kind = "gone"


class Forbidden(DomainError):
    kind = "forbidden"


class Unavailable(DomainError):
    kind = "unavailable"


STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "too_large": 413,
    "too_many": 429,
    "unavailable": 503,
}
# A refused command exits 2, like a usage error: what was asked cannot be done as asked. A command
# that may succeed later exits 75 (EX_TEMPFAIL), one not allowed 77 (EX_NOPERM), as sysexits.h says.
EXIT_CODE = {"invalid": 2, "not_found": 2, "conflict": 2, "gone": 2, "forbidden": 77, "unavailable": 75}
KIND_OF_STATUS = {status: kind for kind, status in STATUS.items()}


class ApiError(DomainError):
    """A refusal at the HTTP edge (a missing token, a body too large), where the status is the point."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message, headers)
        self.kind = KIND_OF_STATUS.get(status, "invalid")
        self._status = status

    @property
    def status(self) -> int:
        return self._status


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(TextGuard)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)


def domain_error_response(exc: DomainError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error of the framework's own (no route, wrong method) as the JSON every client error is."""
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    status = exc.status_code
    return error_response(status, code.get(status, "error"), str(exc.detail), dict(exc.headers or {}))


def unstorable(value: Any) -> bool:
    """Whether a NUL or a lone surrogate is anywhere in this text, or in the text inside it."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(unstorable(v) for v in value)
    return False


def storable(text: str) -> str:
    """The text without what no store can hold: for forms typed by people, where dropping it is kinder
    than refusing the form."""
    return _UNSTORABLE.sub("", text)


class RequestBody(BaseModel):
    """The base of every staff API body: its text must be storable (answered 400 otherwise)."""

    @model_validator(mode="after")
    def _storable(self) -> RequestBody:
        for name, value in self:
            if unstorable(value):
                raise ValueError(f"`{name}` holds a NUL or a lone surrogate, which cannot be stored")
        return self


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


JSON_APIS = ("/api/", "/v1/")  # the console and the portal answer pages, and check their own input


class TextGuard:
    """Answers 400 to a JSON API URL whose path or query holds a NUL (`%00`), before a route reads it.

    Plain ASGI rather than FastAPI's `@app.middleware`, which would cost every ingest request a
    task and a copy of its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and ("\x00" in scope["path"] or b"%00" in scope["query_string"])
            and scope["path"].startswith(JSON_APIS)
        ):
            response = error_response(400, "invalid_characters", "the URL holds a NUL (%00) character")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
