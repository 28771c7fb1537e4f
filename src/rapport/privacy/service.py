"""Data subject rights: export everything held about a person (GDPR Art. 15/20) and erase it (Art. 17).

Both walk the personal-data registry, so every registered store is covered and a new table is
covered the day it registers.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.collect.subjects import person_keys
from rapport.consent.service import suppression_digest
from rapport.consent.store import suppressions
from rapport.db.engine import Database
from rapport.db.metadata import metadata
from rapport.identity.graph import GRAPH_LOCK, bump_version
from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.registry import PersonalData, personal_data
from rapport.privacy.store import data_requests

SUPPRESSED_TYPES = ("email", "phone")


def due_date(received: datetime) -> datetime:
    """One month after receipt (GDPR Art. 12(3)); the 31st of a short month falls to its last day."""
    year, month = (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    for day in (received.day, 30, 29, 28):
        try:
            return received.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return received + timedelta(days=30)


def _keys(conn: Connection, members: list[str]) -> list[str]:
    """The person's identifier keys, and each phone in the spellings a message may use: how rows with
    no profile link (dead letters, events set aside) are found, never by a substring of a name."""
    found = conn.execute(sa.select(identifiers.c.key).where(identifiers.c.profile_id.in_(members))).scalars()
    return person_keys(found)


def _contact_values(conn: Connection, members: list[str]) -> list[str]:
    """The person's email addresses and phone numbers as they are stored, longest first."""
    query = sa.select(identifiers.c.value).where(
        identifiers.c.profile_id.in_(members), identifiers.c.type.in_(SUPPRESSED_TYPES)
    )
    return sorted(set(conn.execute(query).scalars()), key=len, reverse=True)


def _scrub(conn: Connection, entry: PersonalData, members: list[str], keys: list[str], contact: list[str]) -> int:
    """Rows kept by legal duty (the audit log) keep what happened, not whom to reach: free text staff
    typed about the person (a merge reason, a consent's source) loses their addresses and numbers."""
    if not contact:
        return 0
    pattern = re.compile("|".join(re.escape(value) for value in contact), re.IGNORECASE)
    key = list(entry.table.primary_key.columns)
    changed = 0
    for row in conn.execute(sa.select(entry.table).where(entry.find(members, keys))).mappings():
        text = {name: value for name, value in row.items() if isinstance(value, str | dict | list)}
        cleaned = {name: _without(value, pattern) for name, value in text.items()}
        updates = {name: value for name, value in cleaned.items() if value != row[name]}
        if updates:
            conn.execute(entry.table.update().where(*[c == row[c.name] for c in key]).values(**updates))
            changed += 1
    return changed


def _without(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub("[erased]", value)
    if isinstance(value, dict):
        return {k: _without(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, pattern) for v in value]
    return value


def _in_order() -> list[PersonalData]:
    """Registered stores, those that reference others first, so deletes never break a foreign key;
    a store found through others (`found_through`) goes before them, so they still find its rows
    (repeated until nothing moves: one found through a store that is itself found through another)."""
    order = {t.name: i for i, t in enumerate(reversed(metadata.sorted_tables))}
    entries = sorted(personal_data().values(), key=lambda e: order[e.table.name])
    for _ in range(len(entries)):
        moved = False
        for entry in [e for e in entries if e.found_through]:
            first = min(i for i, e in enumerate(entries) if e.table.name in entry.found_through)
            if entries.index(entry) > first:
                entries.remove(entry)
                entries.insert(first, entry)
                moved = True
        if not moved:
            return entries
    raise RuntimeError("personal data found through each other in a circle")


def _exportable(value: Any) -> Any:
    """Bytes (an attachment, a raw mail) as base64 text: an export holds every byte, as JSON can."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _rows(conn: Connection, entry: PersonalData, members: list[str], keys: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(entry.table).where(entry.find(members, keys)))
    return [{k: _exportable(v) for k, v in r._mapping.items()} for r in rows]


def _track(conn: Connection, canonical: str, kind: str, actor: str, via: str, receipt: dict[str, Any]) -> int:
    now = utcnow()
    request_id: int = conn.execute(
        data_requests.insert().values(
            profile_id=canonical,
            kind=kind,
            status="completed",
            received_at=now,
            due_at=due_date(now),
            completed_at=now,
            actor=actor,
            channel=via,
            receipt=receipt,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    record_audit(
        conn,
        actor=actor,
        channel=via,
        action=f"data.{kind}",
        profile_id=canonical,
        request_id=request_id,
        stores=sorted(receipt),
    )
    return request_id


def export_profile(db: Database, profile_id: str, *, actor: str, via: str) -> dict[str, Any]:
    """Everything held about the person, store by store, as one JSON-ready document."""
    with db.write() as conn:
        canonical, members = members_of(conn, profile_id)
        keys = _keys(conn, members)
        stores = {
            e.table.name: {"description": e.description, "rows": _rows(conn, e, members, keys)} for e in _in_order()
        }
        request_id = _track(conn, canonical, "export", actor, via, {n: len(s["rows"]) for n, s in stores.items()})
    return {"profile_id": canonical, "request_id": request_id, "generated_at": utcnow(), "stores": stores}


def export_zip(document: dict[str, Any]) -> bytes:
    """The export as a zip of CSV files, one per store, plus the JSON document itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "export.json", orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
        )
        for name, store in document["stores"].items():
            out = io.StringIO()
            rows = store["rows"]
            columns = sorted({k for r in rows for k in r}) or ["(no rows)"]
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: v if isinstance(v, str | int | float) or v is None else orjson.dumps(v, default=str).decode()
                        for k, v in row.items()
                    }
                )
            archive.writestr(f"{name}.csv", out.getvalue())
    return buffer.getvalue()


def _suppress(conn: Connection, members: list[str]) -> int:
    keys = (
        conn.execute(
            sa.select(identifiers.c.key).where(
                identifiers.c.profile_id.in_(members), identifiers.c.type.in_(SUPPRESSED_TYPES)
            )
        )
        .scalars()
        .all()
    )
    if not keys:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [{"digest": suppression_digest(conn, k), "created_at": utcnow(), "reason": "erasure"} for k in keys]
    conn.execute(dialect.insert(suppressions).on_conflict_do_nothing(index_elements=["digest"]), rows)
    return len(rows)


def erase_profile(db: Database, profile_id: str, *, actor: str, via: str) -> dict[str, Any]:
    """Delete every personal row of the person in every registered store; keep salted hashes of their
    contact points so they get no marketing if they come back; write a receipt per store."""
    with db.write(lock=GRAPH_LOCK) as conn:
        canonical, members = members_of(conn, profile_id)
        keys = _keys(conn, members)
        receipt: dict[str, Any] = {"suppressions": {"action": "salted hashes kept", "rows": _suppress(conn, members)}}
        contact = _contact_values(conn, members)
        for entry in _in_order():
            if entry.erase == "retain":
                scrubbed = _scrub(conn, entry, members, keys, contact)
                receipt[entry.table.name] = {"action": "retained, contact data removed", "rows": scrubbed}
                continue
            deleted = conn.execute(entry.table.delete().where(entry.find(members, keys))).rowcount
            receipt[entry.table.name] = {"action": "deleted", "rows": deleted}
        bump_version(conn)  # the processor must forget the erased identifiers
        request_id = _track(conn, canonical, "erasure", actor, via, receipt)
    if db.dialect == "sqlite":  # erased pages must not linger in the WAL; best effort while readers are active
        raw = db.writer.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return {"profile_id": canonical, "request_id": request_id, "receipt": receipt}
