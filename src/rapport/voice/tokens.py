"""Survey links: one unguessable signed token per invitation.

The token carries the invitation's number and a random nonce stored with it, signed with the
server's secret: altering either breaks the signature, and a valid token for one invitation says
nothing about another's (its nonce is unknown). No sign-in is needed to answer, and none is given.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer

from rapport.db.engine import Database
from rapport.kernel.errors import Invalid
from rapport.kernel.secrets import signing_secret

SALT = "rapport.voice.invitation.v1"
MAX_TOKEN = 512


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _serializer(db: Database) -> URLSafeSerializer:
    return URLSafeSerializer(signing_secret(db), salt=SALT)


def make_token(db: Database, invitation_id: int, nonce: str) -> str:
    return str(_serializer(db).dumps([invitation_id, nonce]))


def read_token(db: Database, token: str) -> tuple[int, str]:
    """The invitation number and nonce a token carries; raises Invalid when it was altered."""
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        invitation_id, nonce = _serializer(db).loads(token)
        if not isinstance(invitation_id, int) or isinstance(invitation_id, bool) or not isinstance(nonce, str):
            raise ValueError("bad payload")
    except (BadSignature, ValueError, TypeError):
        raise Invalid(
            "invalid_token", "this survey link is not valid (it may have been cut short or altered)"
        ) from None
    return invitation_id, nonce


def survey_url(db: Database, token: str) -> str:
    return f"{db.settings.public_url}/s/{token}"
