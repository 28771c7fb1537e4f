"""Write path and the permission check of the consent context.

`check_permission_for` is the one door: every send and every decision path calls it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.consent import model
from rapport.consent.model import ConsentRecord, Decision, Preferences, Subject
from rapport.consent.store import consent_records, preferences, recent_sends, suppressions
from rapport.db.engine import Database
from rapport.identity.model import CLAIMED
from rapport.identity.service import members_of
from rapport.identity.store import IN_SAME_GROUP, identifiers, profiles
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.kernel.secrets import stored_secret

RECENT_SENDS = timedelta(days=365)
_SALTS: dict[str, str] = {}  # database URL -> suppression salt; it never changes once made

# The permission check's queries, built once: it runs on every send and every decision.
# The group and the preferences (kept on the canonical profile) in one query.
_GROUP_WITH_PREFERENCES = (
    sa.select(profiles.c.id, profiles.c.canonical_id, preferences.c.document)
    .select_from(profiles.outerjoin(preferences, preferences.c.profile_id == profiles.c.id))
    .where(IN_SAME_GROUP)
)
_LEDGER = (
    sa.select(consent_records)
    .where(consent_records.c.profile_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(consent_records.c.id)
)
_PREFERENCES = sa.select(preferences.c.document).where(preferences.c.profile_id == sa.bindparam("pid"))
_SUPPRESSED = sa.select(suppressions.c.digest).where(suppressions.c.digest == sa.bindparam("digest"))


def validate_consent(purpose: str, channel: str, status: str, statuses: tuple[str, ...] = model.STATUSES) -> None:
    """What staff and customers may state; the ledger also holds `pending`, which only a client
    source's grant records (consent.model.as_claim)."""
    if purpose not in model.PURPOSES:
        raise Invalid("invalid_purpose", f"purpose must be one of {', '.join(model.PURPOSES)}")
    if channel not in model.CHANNELS:
        raise Invalid("invalid_channel", f"channel must be one of {', '.join(model.CHANNELS)}")
    if status not in statuses:
        raise Invalid("invalid_status", f"status must be one of {', '.join(statuses)}")


def append_consent(
    conn: Connection,
    profile_id: str,
    record: ConsentRecord,
    *,
    actor: str,
    via: str,
) -> None:
    """Add one ledger row in the caller's transaction, with its audit row."""
    validate_consent(record.purpose, record.channel, record.status, (*model.STATUSES, model.PENDING))
    conn.execute(consent_records.insert().values(profile_id=profile_id, actor=actor, **asdict(record)))
    record_audit(
        conn,
        actor=actor,
        channel=via,
        action=f"consent.{record.status}",
        profile_id=profile_id,
        purpose=record.purpose,
        consent_channel=record.channel,
        source=record.source,
        notice_version=record.notice_version,
    )


def record_consent(db: Database, profile_id: str, record: ConsentRecord, *, actor: str, via: str) -> str:
    with db.write() as conn:
        canonical, _ = members_of(conn, profile_id)
        append_consent(conn, canonical, record, actor=actor, via=via)
    return canonical


def consent_ledger(conn: Connection, member_ids: list[str]) -> list[ConsentRecord]:
    rows = conn.execute(_LEDGER, {"ids": member_ids})
    fields = ConsentRecord.__dataclass_fields__
    return [ConsentRecord(**{k: v for k, v in r._mapping.items() if k in fields}) for r in rows]


def load_preferences(conn: Connection, canonical_id: str) -> Preferences:
    doc = conn.execute(_PREFERENCES, {"pid": canonical_id}).scalar()
    return model.preferences_of(doc)


def update_preferences(db: Database, profile_id: str, changes: dict[str, Any], *, actor: str, via: str) -> Preferences:
    with db.write() as conn:
        canonical, _ = members_of(conn, profile_id)
        current = load_preferences(conn, canonical)
        try:
            updated = model.parse_preferences(changes, current)
        except model.PreferenceError as exc:
            raise Invalid("invalid_preferences", str(exc)) from None
        document = model.preferences_document(updated)
        if (
            conn.execute(
                preferences.update()
                .where(preferences.c.profile_id == canonical)
                .values(document=document, updated_at=utcnow())
            ).rowcount
            == 0
        ):
            conn.execute(preferences.insert().values(profile_id=canonical, document=document, updated_at=utcnow()))
        record_audit(
            conn, actor=actor, channel=via, action="preferences.updated", profile_id=canonical, changed=sorted(changes)
        )
    return updated


def _salt(conn: Connection, create: bool) -> str | None:
    salt = _SALTS.get(str(conn.engine.url))
    if salt is None:
        salt = stored_secret(conn, "suppression_salt", make=(lambda: secrets.token_hex(32)) if create else None)
        if salt is not None:
            _SALTS[str(conn.engine.url)] = salt
    return salt


def suppression_digest(conn: Connection, key: str) -> str:
    """Salted hash of an identifier key (`email:x@y.z`); the salt is made once and kept in the database."""
    return hashlib.sha256(f"{_salt(conn, create=True)}:{key}".encode()).hexdigest()


def is_suppressed(conn: Connection, key: str | None) -> bool:
    salt = _salt(conn, create=False) if key is not None else None
    if salt is None:
        return False
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()
    return conn.execute(_SUPPRESSED, {"digest": digest}).first() is not None


def contact_points(conn: Connection, member_ids: list[str], kind: str) -> list[str]:
    rows = conn.execute(
        sa.select(identifiers.c.value)
        .where(identifiers.c.profile_id.in_(member_ids), identifiers.c.type == kind)
        .order_by(identifiers.c.created_at)
    )
    return list(rows.scalars())


def check_permission_for(
    conn: Connection,
    profile_id: str,
    purpose: str,
    channel: str,
    *,
    contact_point: str | None = None,
    outreach: bool = False,
    now: datetime | None = None,
) -> Decision:
    """The one permission check: may we use this person's data for `purpose` on `channel` now?"""
    now = now or utcnow()
    group = conn.execute(_GROUP_WITH_PREFERENCES, {"pid": profile_id}).all()
    if not group:
        return Decision(False, "no such profile (erased or never known)")
    canonical, members = group[0].canonical_id, [r.id for r in group]
    document = next((r.document for r in group if r.id == canonical), None)
    prefs = model.preferences_of(document)
    kind = {"email": "email", "sms": "phone", "phone": "phone"}.get(channel)
    key = f"{kind}:{contact_point}" if kind and contact_point else None
    suppressed = is_suppressed(conn, key)
    capped = outreach and channel in prefs.frequency_caps  # sends are counted only against a cap
    subject = Subject(
        records=tuple(consent_ledger(conn, members)),
        preferences=prefs,
        sent_recently=recent_sends(conn, members, now - RECENT_SENDS) if capped else {},
        suppressed=suppressed,
        reach=_reach(conn, key, members),
    )
    return model.check_permission(subject, purpose, channel, now, contact_point, outreach=outreach)


def _reach(conn: Connection, key: str | None, members: list[str]) -> str | None:
    """How the contact point is verified, when it is one of the person's identifiers (see Subject.reach)."""
    if key is None:
        return None
    row = conn.execute(
        sa.select(identifiers.c.verification).where(identifiers.c.key == key, identifiers.c.profile_id.in_(members))
    ).first()
    if row is None:
        return None
    return row.verification or CLAIMED


def verified_contact_points(conn: Connection, member_ids: list[str], kind: str) -> list[tuple[str, str | None]]:
    """The person's contact points of one kind with how each was verified (None: claimed), oldest first."""
    rows = conn.execute(
        sa.select(identifiers.c.value, identifiers.c.verification)
        .where(identifiers.c.profile_id.in_(member_ids), identifiers.c.type == kind)
        .order_by(identifiers.c.created_at)
    )
    return [(value, verification) for value, verification in rows]


def honour_gpc(db: Database, profile_id: str, actor: str) -> bool:
    """A browser sent `Sec-GPC: 1` for this signed-in customer: Global Privacy Control asks us not to
    share or sell, so deny sharing unless it is denied already (audited like any consent). Raises
    NotFound for a profile erased a moment ago."""
    with db.read() as conn:
        current = model.current_state(consent_ledger(conn, members_of(conn, profile_id)[1]))
    sharing = current.get(("sharing", model.ANY, None))
    if sharing is not None and sharing.status == "denied":
        return False
    record = ConsentRecord("sharing", model.ANY, None, "denied", utcnow(), model.GPC_SOURCE, model.PORTAL_NOTICE)
    record_consent(db, profile_id, record, actor=actor, via="portal")
    return True
