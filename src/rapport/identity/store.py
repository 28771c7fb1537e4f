"""Tables of the identity graph.

A profile row is a node; `canonical_id` names the profile it currently shows as (itself unless
merged), `merged_into` the profile that absorbed it. Identifiers and events keep the profile that
first took them, so a merge moves nothing and an undo is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db import bulk
from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata
from rapport.identity.model import ASSERTED
from rapport.kernel.registry import PersonalData, by_profile

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("canonical_id", sa.String(32), nullable=False, index=True),
    sa.Column("merged_into", sa.String(32)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("channels", JSONDoc, nullable=False),
)

identifiers = sa.Table(
    "identifiers",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),  # "type:value", the lookup key
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("value", sa.String(360), nullable=False),
    sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("first_event_id", BigId),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Provenance: the source that first stated it, and how it was verified. NULL: a claim of a
    # client source; "asserted": a server source or staff stated it; "proven": the customer followed
    # a link mailed to it (identity.model.VERIFICATIONS).
    sa.Column("source_id", sa.Integer),
    sa.Column("verification", sa.String(16)),
    sa.Column("verified_at", UTCDateTime),
    sa.Column("verified_by", sa.String(200)),
)

merges = sa.Table(
    "merges",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("survivor_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("absorbed_id", sa.String(32), sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("identifiers", JSONDoc, nullable=False),  # keys that linked the two
    sa.Column("event_id", BigId),
    sa.Column("message_id", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("made_by", sa.String(200)),  # the staff member who merged on purpose; NULL: the processor
    sa.Column("undone_at", UTCDateTime),
    sa.Column("undone_by", sa.String(200)),
    sqlite_autoincrement=True,
)

# A profile and every profile merged into it (its merge group), given any member's id as :pid.
IN_SAME_GROUP = profiles.c.canonical_id == (
    sa.select(profiles.c.canonical_id).where(profiles.c.id == sa.bindparam("pid")).scalar_subquery()
)
MERGE_GROUP = sa.select(profiles.c.id, profiles.c.canonical_id).where(IN_SAME_GROUP)

# A counter bumped by every change to the graph made outside the processor (a staff merge or undo), so the
# processor knows its caches are stale.
graph_version = sa.Table(
    "graph_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", BigId, nullable=False),
)


def write_graph(
    conn: Connection,
    new_profiles: Sequence[tuple[Any, ...]],
    new_identifiers: Sequence[tuple[Any, ...]],
    new_merges: Sequence[dict[str, Any]],
    verified: Sequence[tuple[str, Any, str]] = (),
) -> None:
    """A batch's changes to the graph, in bulk, in the caller's transaction (the profile processor's
    write path): new profiles (id, canonical id, created, channels), new identifiers (key, type,
    value, profile, first event, created, source, verification, verified at, verified by), merges in
    the order they were made, since a profile absorbed earlier in the batch may itself be absorbed
    later, and known identifiers a server source asserted (by, at, key)."""
    insert_profiles = "INSERT INTO profiles (id, canonical_id, created_at, channels) VALUES (?, ?, ?, ?)"
    bulk.executemany(conn, insert_profiles, new_profiles)
    bulk.executemany(
        conn,
        "INSERT INTO identifiers (key, type, value, profile_id, first_event_id, created_at, source_id, "
        "verification, verified_at, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        sorted(new_identifiers, key=lambda row: row[0]),
        as_given=True,
    )
    bulk.executemany(
        conn,
        f"UPDATE identifiers SET verification = '{ASSERTED}', verified_by = ?, verified_at = ? WHERE key = ?",
        verified,
    )
    pairs = [(m["survivor_id"], m["absorbed_id"]) for m in new_merges]
    bulk.executemany(conn, "UPDATE profiles SET canonical_id = ? WHERE canonical_id = ?", pairs)
    bulk.executemany(conn, "UPDATE profiles SET merged_into = ? WHERE id = ?", pairs)
    if new_merges:
        conn.execute(merges.insert(), list(new_merges))


def set_channels(conn: Connection, changed: Sequence[tuple[Any, str]]) -> None:
    """New channel lists (a stored JSON list, profile id) of profiles first seen on another channel."""
    bulk.executemany(conn, "UPDATE profiles SET channels = ? WHERE id = ?", changed)


# What of this context is personal data: export and erasure are driven from it (rapport.contexts).
PERSONAL_DATA = (
    PersonalData(
        identifiers,
        by_profile(identifiers.c.profile_id),
        description="ids, email addresses, phone numbers and devices that identify the person",
    ),
    PersonalData(
        merges,
        lambda ids, _c: sa.or_(merges.c.survivor_id.in_(ids), merges.c.absorbed_id.in_(ids)),
        description="when and why records of the person were joined",
    ),
    PersonalData(
        profiles,
        by_profile(profiles.c.id),
        description="the profile itself: the channels it was seen on",
    ),
)
