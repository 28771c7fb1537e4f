"""Signed session cookies and their CSRF tokens: the one mechanism behind the console's and the
portal's sessions.

A cookie holds a signed document naming a session kept on the server (access's `sessions`); nothing
in it is trusted until its signature checks and the session is still open, and the CSRF token of a
form is an HMAC of the session id, so it dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapport.kernel.secrets import signing_secret


def served_over_https(request: Request) -> bool:
    """Whether customers reach this server over https: the request's own scheme, or RAPPORT_PUBLIC_URL
    behind a proxy that speaks plain HTTP to it. A Secure cookie is then never sent in the clear."""
    public_url = str(getattr(request.app.state.settings, "public_url", "") or "")
    return request.url.scheme == "https" or public_url.startswith("https://")


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
    lifetime: timedelta

    @property
    def max_age_s(self) -> int:
        return int(self.lifetime.total_seconds())

    def _serializer(self, request: Request) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(secret_of(request), salt=self.salt)

    def issue(self, request: Request, response: Response, session_id: str) -> None:
        """Set the cookie naming this server-side session (the id is also the CSRF nonce)."""
        value = self._serializer(request).dumps({"n": session_id})
        response.set_cookie(
            self.name,
            value,
            max_age=self.max_age_s,
            httponly=True,
            samesite="lax",
            secure=served_over_https(request),
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
