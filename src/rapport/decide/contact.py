"""The contact policy, across every action and channel: may we contact this person on this channel
now?

It counts what reached them on the channel: actions decide presented (`decide_presentations`) and
messages sent or queued through the outbox (`contact_history`: marketing mail, survey invitations,
service mail alike). A contact is refused when

- the business's limit for the channel is reached (`contact_limits`: at most N per D days), or
- the customer's own frequency cap for the channel is reached, or it is their quiet hours (their
  preferences, through the same rules the one permission check applies to sends); quiet hours do not
  apply to an inbound contact, where the customer is with us now (a page, the app, their call).

`check(conn, profile_id, channel, now)` is public: other contexts (voice: survey fatigue) ask it
before they reach out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.consent.model import Decision, Preferences, contact_rules, preferences_of
from rapport.consent.store import contact_history, preferences
from rapport.db.metadata import UTCDateTime
from rapport.decide.actions_model import Settings
from rapport.decide.actions_store import SETTINGS_DOCUMENT, presentations, settings_of
from rapport.identity.store import profiles

# Decide's channels named as consent names them (decide/service.py CONSENT_CHANNELS says the same).
CHANNEL_OF = {
    "web": "web",
    "mobile": "mobile",
    "email": "email",
    "store": "in_store",
    "in_store": "in_store",
    "call_center": "phone",
    "phone": "phone",
    "push": "push",
    "sms": "sms",
    "mail": "mail",
}
COUNTED = ("queued", "sent")  # outbox rows that reached, or are about to reach, the person


def _members(conn: Connection, profile_id: str) -> tuple[str, list[str]] | None:
    canonical = conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()
    if canonical is None:
        return None
    members = conn.execute(sa.select(profiles.c.id).where(profiles.c.canonical_id == canonical)).scalars().all()
    return canonical, list(members)


def inputs(*beside: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """One statement that reads what a check needs, the business's settings (`contact_settings`) and
    the person's preferences (`contact_preferences`, of the profile bound as `pid`), and what the
    caller needs beside them: one round trip instead of two or more. `inputs_of` reads its row."""
    prefs = sa.select(preferences.c.document).where(preferences.c.profile_id == sa.bindparam("pid"))
    return sa.select(
        SETTINGS_DOCUMENT.scalar_subquery().label("contact_settings"),
        prefs.scalar_subquery().label("contact_preferences"),
        *beside,
    )


def inputs_of(row: sa.Row[Any]) -> tuple[Settings, Preferences]:
    return settings_of(row.contact_settings), preferences_of(row.contact_preferences)


_INPUTS = inputs()

_CONTACTS = sa.union_all(
    sa.select(presentations.c.at).where(
        presentations.c.profile_id.in_(sa.bindparam("ids", expanding=True)),
        presentations.c.channel == sa.bindparam("channel"),
        presentations.c.at >= sa.bindparam("since", type_=UTCDateTime),
    ),
    sa.select(contact_history.c.at).where(
        contact_history.c.profile_id.in_(sa.bindparam("ids", expanding=True)),
        contact_history.c.channel == sa.bindparam("channel"),
        contact_history.c.status.in_(COUNTED),
        contact_history.c.at >= sa.bindparam("since", type_=UTCDateTime),
    ),
)


def contacts(conn: Connection, members: list[str], channel: str, since: datetime) -> list[datetime]:
    """When the person was contacted on `channel` since `since`: presented actions and outbox sends."""
    rows = conn.execute(_CONTACTS, {"ids": members, "channel": channel, "since": since}).scalars()
    return sorted(rows)


def check(
    conn: Connection,
    profile_id: str,
    channel: str,
    now: datetime,
    *,
    inbound: bool = False,
    settings: Settings | None = None,
    members: tuple[str, list[str]] | None = None,  # (canonical id, merge group) when the caller knows them
    prefs: Preferences | None = None,  # the canonical profile's, read in the caller's transaction
) -> Decision:
    """May we contact the person on `channel` (a consent channel: email, sms, push, phone, mail, web,
    mobile, in_store) now? `inbound`: they are with us (quiet hours do not apply). Callers that read
    the settings and preferences already (with `inputs`) hand them in."""
    channel = CHANNEL_OF.get(channel, channel)
    group = members or _members(conn, profile_id)
    if group is None:
        return Decision(False, "no such profile (erased or never known)")
    canonical, members_ids = group
    if settings is None or prefs is None:  # parsed only where the caller has not: decide's hot path hands settings
        row = conn.execute(_INPUTS, {"pid": canonical}).one()
        settings = settings_of(row.contact_settings) if settings is None else settings
        prefs = preferences_of(row.contact_preferences) if prefs is None else prefs
    limit = settings.contact_limits.get(channel)
    cap = prefs.frequency_caps.get(channel)
    days = max(limit.per_days if limit else 0, cap.per_days if cap else 0)
    times = contacts(conn, members_ids, channel, now - timedelta(days=days)) if days else []
    if limit is not None:
        since = now - timedelta(days=limit.per_days)
        count = sum(1 for t in times if t >= since)
        if count >= limit.max:
            return Decision(
                False, f"contact policy: {count} {channel} contacts in {limit.per_days} days (max {limit.max})"
            )
    sent: dict[str, list[datetime]] = defaultdict(list)
    sent[channel] = times
    refusal = contact_rules(replace(prefs, quiet_hours=None) if inbound else prefs, sent, channel, now)
    if refusal is not None:
        return Decision(False, f"the customer's {refusal.reason}")
    if limit is None:
        return Decision(True, f"no contact limit for {channel}")
    return Decision(True, f"within the contact policy for {channel} ({limit.max} per {limit.per_days} days)")
