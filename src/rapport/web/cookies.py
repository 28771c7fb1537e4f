"""Signed session cookies and their CSRF tokens: the one mechanism behind the console's and the
portal's sessions.

A cookie holds a small signed document plus a random nonce; nothing in it is trusted until its
signature checks, and the CSRF token of a form is an HMAC of that nonce, so it dies with the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapport.kernel.secrets import signing_secret


def secret_of(request: Request) -> str:
    """The app's signing secret; signing_secret may write on first use, so ask once per app."""
    secret = getattr(request.app.state, "console_secret", None)
    if secret is None:
        secret = signing_secret(request.app.state.db)
        request.app.state.console_secret = secret
    return str(secret)


@dataclass(frozen=True)
class SignedCookie:
    name: str
    salt: str
    path: str
    max_age_s: int

    def _serializer(self, request: Request) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(secret_of(request), salt=self.salt)

    def issue(self, request: Request, response: Response, data: dict[str, Any]) -> None:
        value = self._serializer(request).dumps({**data, "n": secrets.token_urlsafe(16)})
        response.set_cookie(
            self.name,
            value,
            max_age=self.max_age_s,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path=self.path,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self.path, httponly=True, samesite="lax")

    def read(self, request: Request) -> dict[str, Any] | None:
        """The signed document, or None when the cookie is missing, forged, expired or malformed."""
        raw = request.cookies.get(self.name)
        if not raw:
            return None
        try:
            data = self._serializer(request).loads(raw, max_age=self.max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("n"), str) else None

    def csrf(self, request: Request, nonce: str) -> str:
        return hmac.new(secret_of(request).encode(), f"{self.name}:csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(submitted: str, expected: str) -> bool:
    return bool(submitted) and hmac.compare_digest(submitted.encode(), expected.encode())
