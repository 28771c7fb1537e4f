"""Unsubscribe links: an unguessable signed token per recipient, and the withdrawal it triggers.

The token names the profile, the purpose and the contact point; it has no expiry, because a link
in an old email must still work. It is signed, not stored, so it cannot be enumerated.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from email import message_from_bytes, policy

from itsdangerous import BadSignature, URLSafeSerializer

from rapport.consent.model import ConsentRecord
from rapport.consent.service import append_consent
from rapport.db.engine import Database
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError, Invalid
from rapport.kernel.secrets import signing_secret

SALT = "rapport.unsubscribe.v1"
# "unsubscribe TOKEN", as the mailto in List-Unsubscribe puts it in the subject (a token is URL-safe
# base64 and a dot, after a dot when compressed); a client that drops the subject may leave it in
# the body, so both are read.
_MAIL_REQUEST = re.compile(r"\bunsubscribe\s+(\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", re.IGNORECASE)


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
        raise Invalid("invalid_token", "this unsubscribe link is not valid (it may have been altered)") from None
    return UnsubscribeTarget(str(profile_id), str(purpose), str(channel), str(contact))


def unsubscribe(db: Database, token: str, via: str, how: str = "unsubscribe-link") -> UnsubscribeTarget:
    """Withdraw the consent the link was sent under, at once. Idempotent. `how` names the request in
    the ledger: the link (one-click or the confirm page) or a mail to the unsubscribe address."""
    target = read_token(db, token)
    record = ConsentRecord(
        purpose=target.purpose,
        channel=target.channel,
        contact_point=target.contact_point,
        status="withdrawn",
        recorded_at=utcnow(),
        source=f"{how}:{via}",
    )
    with db.write() as conn:
        try:
            canonical, _ = members_of(conn, target.profile_id)
        except DomainError:
            return target  # erased since the mail went out: nothing left to withdraw
        append_consent(conn, canonical, record, actor=f"customer:{how}", via=via)
    return target


def token_in_mail(raw: bytes) -> str | None:
    """The token of an unsubscribe request sent to the `mailto:` of List-Unsubscribe, if any."""
    msg = message_from_bytes(raw, policy=policy.default)
    texts = [str(msg.get("Subject") or "")]
    if (body := msg.get_body(preferencelist=("plain",))) is not None:
        with suppress(LookupError, ValueError):  # an unknown charset or a broken encoding: the subject must do
            texts.append(str(body.get_content()))
    for text in texts:
        if found := _MAIL_REQUEST.search(text):
            return found.group(1)
    return None


def unsubscribe_by_mail(db: Database, raw: bytes) -> UnsubscribeTarget:
    """Withdraw what a mail to the unsubscribe address asks for. Invalid when it names no valid link."""
    token = token_in_mail(raw)
    if token is None:
        raise Invalid("no_unsubscribe_token", "the mail holds no `unsubscribe TOKEN` in its subject or body")
    return unsubscribe(db, token, via="email", how="unsubscribe-mail")
