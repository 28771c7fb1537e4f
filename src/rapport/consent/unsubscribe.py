"""Unsubscribe links: an unguessable signed token per recipient, and the withdrawal it triggers.

The token names the profile, the purpose and the contact point; it has no expiry, because a link
in an old email must still work. It is signed, not stored, so it cannot be enumerated.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from rapport.access.service import signing_secret
from rapport.consent.model import ConsentRecord
from rapport.consent.service import append_consent
from rapport.db.engine import Database
from rapport.db.metadata import utcnow
from rapport.errors import ApiError
from rapport.identity.service import members_of

SALT = "rapport.unsubscribe.v1"


@dataclass(frozen=True)
class UnsubscribeTarget:
    profile_id: str
    purpose: str
    channel: str
    contact_point: str


def _serializer(db: Database) -> URLSafeSerializer:
    return URLSafeSerializer(signing_secret(db), salt=SALT)


def make_token(db: Database, target: UnsubscribeTarget) -> str:
    return str(_serializer(db).dumps([target.profile_id, target.purpose, target.channel, target.contact_point]))


def read_token(db: Database, token: str) -> UnsubscribeTarget:
    try:
        profile_id, purpose, channel, contact = _serializer(db).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise ApiError(400, "invalid_token", "this unsubscribe link is not valid (it may have been altered)") from None
    return UnsubscribeTarget(str(profile_id), str(purpose), str(channel), str(contact))


def unsubscribe(db: Database, token: str, via: str) -> UnsubscribeTarget:
    """Withdraw the consent the link was sent under, at once. Idempotent."""
    target = read_token(db, token)
    record = ConsentRecord(
        purpose=target.purpose,
        channel=target.channel,
        contact_point=target.contact_point,
        status="withdrawn",
        recorded_at=utcnow(),
        source=f"unsubscribe-link:{via}",
    )
    with db.write() as conn:
        try:
            canonical, _ = members_of(conn, target.profile_id)
        except ApiError:
            return target  # erased since the mail went out: nothing left to withdraw
        append_consent(conn, canonical, record, actor="customer:unsubscribe-link", via=via)
    return target
