"""Who asked: the requester of a case, resolved through the identity graph, never by a name.

What a mail's `From:` says is not proof of who sent it (anyone can write any address there), and an
address that a client source only claimed on a profile is not proof that the profile is the
sender's (docs/threat-model.md). So a case joins a profile by its sender's address only where a
server source or staff asserted that address on it. Any other sender is given a profile of their
own, made by the processor from the case's first event: named by a bearer id (an anonymous id
derived from the address with a secret of this server, which no client can compute), so later mail
from the same address finds the same profile, and nothing about them joins or merges anyone else.
Staff join it to the customer's profile (a staff merge) once they know who it is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.identity.model import ASSERTED, PROVEN, Identifier
from rapport.identity.store import identifiers
from rapport.kernel.secrets import stored_secret
from rapport.profiles.service import canonical_of, find_by_identifier

SENDER_PREFIX = "mail-sender:"
AUTHOR_PREFIX = "social-author:"


@dataclass(frozen=True)
class Requester:
    profile_id: str | None  # the canonical profile, when it exists
    key: str | None  # the bearer id naming an unknown sender's profile, until the processor made it
    address: str | None  # the address the customer wrote from: replies on the thread go there
    name: str | None
    how: str  # why this profile: for the case's history

    @property
    def bearer(self) -> str | None:
        """The anonymous id of the key, which the case's first event carries to make the profile."""
        return Identifier.from_key(self.key).value if self.key else None


def _salt(conn: Connection) -> str:
    salt = stored_secret(conn, "service_sender_salt", make=lambda: secrets.token_hex(32))
    assert salt is not None
    return salt


def sender_key(conn: Connection, address: str) -> str:
    """The bearer id of the profile of mail from this address (a keyed hash: unguessable)."""
    digest = hmac.new(_salt(conn).encode(), address.encode(), hashlib.sha256).hexdigest()[:40]
    return Identifier("anonymous_id", SENDER_PREFIX + digest).key


def for_unauthenticated(conn: Connection, address: str, name: str | None, why: str) -> Requester:
    """The requester of mail whose `From:` the mail server did not authenticate: a profile of its own
    (one per address), never the profile of the address it names nor that of its genuine mail."""
    key = sender_key(conn, "unauthenticated:" + address)
    known = find_by_identifier(conn, Identifier.from_key(key))
    return Requester(known, key, address, name, f"{why}: not joined to the profile of that address")


def for_address(conn: Connection, address: str, name: str | None) -> Requester:
    """The requester of mail from `address` (normalized), in a write transaction (the salt may be
    made on first use)."""
    row = conn.execute(
        sa.select(identifiers.c.profile_id, identifiers.c.verification).where(identifiers.c.key == f"email:{address}")
    ).first()
    if row is not None and row.verification == ASSERTED:
        return Requester(canonical_of(conn, row.profile_id), None, address, name, "address asserted on the profile")
    key = sender_key(conn, address)
    known = find_by_identifier(conn, Identifier.from_key(key))
    claimed = " (the address is only claimed on another profile: not joined)" if row is not None else ""
    if known is not None:
        return Requester(known, key, address, name, "earlier mail from this address" + claimed)
    return Requester(None, key, address, name, "new sender: a profile is made for them" + claimed)


def for_handle(conn: Connection, network: str, handle: str) -> Requester:
    """The requester of a social mention from `handle` (normalized): the profile it was proven on
    (the customer posted a code from it, or staff saw them do so), else a profile of the handle's
    own, named by a bearer id as an unknown mail sender's is. Never anyone whose name looks alike."""
    row = conn.execute(
        sa.select(identifiers.c.profile_id, identifiers.c.verification).where(
            identifiers.c.key == f"social:{network}:{handle}"
        )
    ).first()
    if row is not None and row.verification in (ASSERTED, PROVEN):
        return Requester(canonical_of(conn, row.profile_id), None, None, f"@{handle}", "handle proven on the profile")
    digest = hmac.new(_salt(conn).encode(), f"{network}:{handle}".encode(), hashlib.sha256).hexdigest()[:40]
    key = Identifier("anonymous_id", AUTHOR_PREFIX + digest).key
    known = find_by_identifier(conn, Identifier.from_key(key))
    how = "earlier mentions from this handle" if known else "new handle: a profile is made for it"
    return Requester(known, key, None, f"@{handle}", how)


def for_profile(conn: Connection, profile_id: str, name: str | None = None) -> Requester | None:
    canonical = canonical_of(conn, profile_id)
    return None if canonical is None else Requester(canonical, None, None, name, "chosen by staff")


def profile_of(conn: Connection, case: dict[str, object]) -> str | None:
    """The requester's canonical profile now: the case's, or the one the processor made for its
    bearer id (None while that is still to come, or after erasure)."""
    if case.get("requester_profile_id"):
        return canonical_of(conn, str(case["requester_profile_id"]))
    key = case.get("requester_key")
    return find_by_identifier(conn, Identifier.from_key(str(key))) if key else None
