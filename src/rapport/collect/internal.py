"""Internal sources: how a context records what happens in it as an event in the one log.

A case opened, a survey answered, a decision made, an email sent: a context records each with
`record_event`, in the same transaction as the state change it describes, so the two commit
together. The event then goes where every event goes: the profile processor puts it on the
person's timeline, consumers see it in order, and export and erasure reach it like any other.

Each context records through its own source, `internal:<context>`, created on first use with the
channel `internal`. Such a source is server trust and no client can reach it: `internal` is not a
channel a source can be created with, the `internal:` names are refused to `create_source`, the
directory of write keys never answers one (its key is random and never shown), and it is not
listed, rotated or disabled as a client's (collect/service.py).

An event may name its profile (`profile_id`): it goes on that profile and no identifier of it is
read, so it never joins or merges anything. The processor honours that name
(`context.rapport.profileId`) only in events of internal sources; from a client it is a claim like
any other field, and means nothing.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.log import LOG_LOCK, append_messages
from rapport.collect.model import (
    DEFAULT_MAX_MESSAGE_BYTES,
    INTERNAL_CHANNEL,
    INTERNAL_PREFIX,
    Envelope,
    Rejected,
    normalize_message,
)
from rapport.collect.store import sources
from rapport.db.engine import advisory_lock
from rapport.kernel.clock import utcnow

LIBRARY = "rapport-internal"  # context.library.name of internal events
_CONTEXT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class InternalEventError(ValueError):
    """The event cannot be recorded (a programming error in its context): the transaction fails."""


def record_event(
    conn: Connection,
    context: str,
    *,
    type: str = "track",  # the Segment field's name: track, identify ...
    event: str | None = None,
    profile_id: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,  # a bearer id only this context knows (service: an unknown mail sender)
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> int:
    """Append what happened in `context` to the log, in the caller's write transaction; answer its
    offset. Name the person by `profile_id` (placed on that profile, never joining anything) or by
    a verified `user_id` (resolved as a server source's message is). A `message_id` makes it
    idempotent: the same one again is stored once.

    Call it last in the transaction: on PostgreSQL it holds the log's append lock until the commit,
    so that offsets still commit in order (ADR 0002)."""
    if sum(name is not None for name in (profile_id, user_id, anonymous_id)) != 1:
        raise InternalEventError("name the profile, the user or the bearer id the event is about: one of them")
    message: dict[str, Any] = {"type": type, "context": {"library": {"name": LIBRARY}}}
    if profile_id is not None:
        message["context"]["rapport"] = {"profileId": profile_id}
    elif user_id is not None:
        message["userId"] = user_id
    else:
        message["anonymousId"] = anonymous_id
    for key, value in (("event", event), ("properties", properties), ("traits", traits), ("messageId", message_id)):
        if value is not None:
            message[key] = value
    accepted = normalize_message(message, Envelope({}, {}, None, utcnow()), needs_id=False)
    if isinstance(accepted, Rejected):
        raise InternalEventError(f"{context}: {accepted.code}: {accepted.reason}")
    advisory_lock(conn, LOG_LOCK)  # the same lock, and below the same append, as the log writer's
    return append_messages(conn, internal_source_id(conn, context), [accepted], []).offset


def internal_source_id(conn: Connection, context: str) -> int:
    """The id of the context's internal source, created on first use (under the log lock, so two
    transactions never both create it)."""
    if not _CONTEXT.match(context):
        raise InternalEventError(f"a context is named in lower case letters, digits and _: not {context!r}")
    name = INTERNAL_PREFIX + context
    row = conn.execute(sa.select(sources.c.id, sources.c.channel).where(sources.c.name == name)).first()
    if row is not None:
        if row.channel != INTERNAL_CHANNEL:  # made before such names were refused to clients
            raise InternalEventError(f"the source {name!r} is a client's; rename it to record {context} events")
        return int(row.id)
    values = {
        "name": name,
        "channel": INTERNAL_CHANNEL,
        # Never shown and never accepted (the key directory refuses internal sources): the column
        # wants a unique value. The limits below are those of HTTP requests, which never come.
        "write_key": f"internal-{secrets.token_urlsafe(24)}",
        "max_message_bytes": DEFAULT_MAX_MESSAGE_BYTES,
        "max_batch_bytes": DEFAULT_MAX_MESSAGE_BYTES,
        "rate_limit_per_s": 1,
        "created_at": utcnow(),
    }
    return int(conn.execute(sources.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def profile_hint(payload: dict[str, Any] | None) -> str | None:
    """The profile an event names (`context.rapport.profileId`), if it names one. Only the
    processor's business, and only for events of internal sources."""
    context = payload.get("context") if payload is not None else None
    rapport = context.get("rapport") if isinstance(context, dict) else None
    named = rapport.get("profileId") if isinstance(rapport, dict) else None
    return named if isinstance(named, str) and 0 < len(named) <= 32 else None
