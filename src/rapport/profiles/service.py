"""Reading the unified profile: one view over a profile and every profile merged into it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.collect.store import events, sources
from rapport.identity.model import CLAIMED, Identifier, IdentityRules, normalize_email, normalize_phone
from rapport.identity.store import identifiers, profiles
from rapport.profiles.store import profile_events, profile_traits

NAME_TRAITS = ("name", "firstName", "lastName", "first_name", "last_name")


@dataclass
class ProfileView:
    id: str
    members: list[str]
    identifiers: list[dict[str, Any]]
    traits: dict[str, Any]
    trait_sources: dict[str, dict[str, Any]]
    channels: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    event_count: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "identifiers": self.identifiers,
            "traits": self.traits,
            "trait_sources": self.trait_sources,
            "channels": self.channels,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "event_count": self.event_count,
            "merged_profiles": [m for m in self.members if m != self.id],
        }


def canonical_of(conn: Connection, profile_id: str) -> str | None:
    return conn.execute(sa.select(profiles.c.canonical_id).where(profiles.c.id == profile_id)).scalar()


def load_profile(conn: Connection, profile_id: str) -> ProfileView | None:
    """The profile as it shows now; asking for a merged-away id answers its survivor."""
    canonical = canonical_of(conn, profile_id)
    if canonical is None:
        return None
    members = conn.execute(
        sa.select(profiles.c.id, profiles.c.channels).where(profiles.c.canonical_id == canonical)
    ).all()
    ids = [m.id for m in members]
    timeline = profile_events.c
    count, first_seen, last_seen = conn.execute(
        sa.select(sa.func.count(), sa.func.min(timeline.timestamp), sa.func.max(timeline.timestamp)).where(
            timeline.profile_id.in_(ids)
        )
    ).one()
    idents = conn.execute(
        sa.select(
            identifiers.c.type,
            identifiers.c.value,
            identifiers.c.verification,
            identifiers.c.verified_by,
            identifiers.c.verified_at,
            sources.c.name.label("source"),
        )
        .select_from(identifiers.outerjoin(sources, sources.c.id == identifiers.c.source_id))
        .where(identifiers.c.profile_id.in_(ids))
    ).all()
    trait_rows = conn.execute(
        sa.select(
            profile_traits.c.key,
            profile_traits.c.value,
            profile_traits.c.observed_at,
            profile_traits.c.asserted,
            sources.c.name,
            sources.c.channel,
        )
        .select_from(profile_traits.outerjoin(sources, sources.c.id == profile_traits.c.source_id))
        .where(profile_traits.c.profile_id.in_(ids))
    ).all()
    latest: dict[str, Any] = {}
    for row in trait_rows:  # across the group's members as the processor keeps them: asserted first, then newest
        if row.key not in latest or (latest[row.key].asserted, latest[row.key].observed_at) < (
            row.asserted,
            row.observed_at,
        ):
            latest[row.key] = row
    return ProfileView(
        id=canonical,
        members=ids,
        identifiers=[
            {
                "type": r.type,
                "value": r.value,
                "source": r.source,
                "verification": r.verification or CLAIMED,
                "verified_by": r.verified_by,
                "verified_at": r.verified_at,
            }
            for r in sorted(idents, key=lambda r: (Identifier(r.type, r.value).rank, r.value))
        ],
        traits={k: r.value for k, r in sorted(latest.items())},
        trait_sources={
            k: {"source": r.name, "channel": r.channel, "observed_at": r.observed_at, "asserted": bool(r.asserted)}
            for k, r in sorted(latest.items())
        },
        channels=sorted({c for m in members for c in (m.channels or [])}),
        first_seen=first_seen,
        last_seen=last_seen,
        event_count=count,
    )


def parse_identifier(text: str, rules: IdentityRules) -> Identifier | None:
    """`type:value` as staff type it, normalized the way the graph stores it."""
    kind, sep, value = text.partition(":")
    if not sep or not value.strip():
        return None
    kind = kind.strip().lower()
    if kind == "email":
        email = normalize_email(value)
        return Identifier("email", email) if email else None
    if kind == "phone":
        phone = normalize_phone(value, rules.phone_region)
        return Identifier("phone", phone) if phone else None
    return Identifier(kind, value.strip())


def find_by_identifier(conn: Connection, ident: Identifier) -> str | None:
    origin = conn.execute(sa.select(identifiers.c.profile_id).where(identifiers.c.key == ident.key)).scalar()
    return canonical_of(conn, origin) if origin else None


def search_profiles(conn: Connection, text: str, rules: IdentityRules, limit: int = 20) -> list[str]:
    """Canonical ids matching an email, a phone, an id of any kind, or part of a name."""
    text = text.strip()
    if not text:
        return []
    found = exact_matches(conn, text, rules)
    if len(text) >= 2:
        pattern = f"%{text.lower()}%"
        rows = conn.execute(
            sa.select(sa.distinct(profiles.c.canonical_id))
            .select_from(profile_traits.join(profiles, profiles.c.id == profile_traits.c.profile_id))
            .where(
                profile_traits.c.key.in_(NAME_TRAITS),
                sa.func.lower(sa.cast(profile_traits.c.value, sa.Text)).like(pattern),
            )
            .limit(limit)
        ).scalars()
        found += [r for r in rows if r not in found]
    return found[:limit]


def exact_matches(conn: Connection, text: str, rules: IdentityRules) -> list[str]:
    """Canonical ids of the profiles `text` names exactly: a profile id, `type:value`, an email, a
    phone, or a user, anonymous or device id. Usually one; several when, say, a user id of one
    customer is spelled like another's anonymous id."""
    text = text.strip()
    found: list[str] = []
    candidates: list[Identifier] = []
    if ":" in text:
        parsed = parse_identifier(text, rules)
        candidates += [parsed] if parsed else []
    if email := normalize_email(text):
        candidates.append(Identifier("email", email))
    if phone := normalize_phone(text, rules.phone_region):
        candidates.append(Identifier("phone", phone))
    candidates += [Identifier(kind, text) for kind in ("user_id", "anonymous_id", "device_id")]
    for ident in candidates:
        canonical = find_by_identifier(conn, ident)
        if canonical and canonical not in found:
            found.append(canonical)
    if (canonical := canonical_of(conn, text)) and canonical not in found:
        found.append(canonical)
    return found


def timeline(
    conn: Connection, member_ids: list[str], limit: int = 50, before: tuple[datetime, int] | None = None
) -> list[dict[str, Any]]:
    """Events of the profile across every channel, newest first, paged by (timestamp, id)."""
    query = (
        sa.select(
            events.c.id,
            events.c.type,
            events.c.event,
            events.c.timestamp,
            events.c.received_at,
            events.c.message_id,
            events.c.payload,
            sources.c.name.label("source"),
            sources.c.channel,
        )
        .select_from(
            profile_events.join(events, events.c.id == profile_events.c.event_id).join(
                sources, sources.c.id == events.c.source_id
            )
        )
        .where(profile_events.c.profile_id.in_(member_ids))
        .order_by(profile_events.c.timestamp.desc(), profile_events.c.event_id.desc())
        .limit(limit)
    )
    if before is not None:
        ts, eid = before
        query = query.where(
            sa.or_(
                profile_events.c.timestamp < ts,
                sa.and_(profile_events.c.timestamp == ts, profile_events.c.event_id < eid),
            )
        )
    return [dict(r._mapping) for r in conn.execute(query)]
