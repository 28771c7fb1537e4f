"""The write path of decide: the catalogue (imported, or described by events), and decisions.

A decision asks the one permission check (`check_permission_for`, purpose `personalization`) before
it reads anything of the person's: `personal` (their history across channels) needs it to allow;
otherwise their level says what may be used: `contextual`, only the current visit; `none`, nothing
of theirs, which is exactly the decision an unknown visitor gets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from rapport.consent.service import check_permission_for, load_preferences
from rapport.db.engine import Database
from rapport.decide import model
from rapport.decide.model import Held, Interaction, Item
from rapport.decide.store import decisions, history, items, load_items, visit
from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound

CONSENT_CHANNELS = {
    "web": "web",
    "mobile": "mobile",
    "email": "email",
    "store": "in_store",
    "in_store": "in_store",
    "call_center": "phone",
    "phone": "phone",
    "push": "push",
    "sms": "sms",
}


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(items)


def _values(item: Item, origin: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "category": item.category,
        "kind": item.kind,
        "price": item.price,
        "available": item.available,
        "help": [{"title": h.title, "url": h.url} for h in item.help],
        "origin": origin,
        "updated_at": utcnow(),
    }


def insert_described_items(conn: Connection, described: Sequence[Item]) -> None:
    """Items events describe, unless known already: the first description stays, and the catalogue's
    always wins (a write key is public; an event must not rename what every customer sees)."""
    if described:
        rows = [_values(item, "event") for item in described]
        conn.execute(_insert(conn).on_conflict_do_nothing(index_elements=["id"]), rows)


def upsert_catalog(conn: Connection, catalog: Sequence[Item]) -> None:
    """Catalogue rows replace what is known of each item, whoever described it before."""
    if not catalog:
        return
    statement = _insert(conn)
    updated = {
        c: statement.excluded[c]
        for c in ("name", "category", "kind", "price", "available", "help", "origin", "updated_at")
    }
    conn.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_=updated),
        [_values(item, "catalog") for item in catalog],
    )


@dataclass
class CatalogReport:
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    examples: list[str] = field(default_factory=list)


def import_catalog(
    db: Database, rows: Iterable[tuple[int, dict[str, Any] | str]], progress: Any = None, chunk: int = 1000
) -> CatalogReport:
    """Catalogue rows (line number, row or the reason it cannot be read), in chunks of 1,000."""
    report = CatalogReport()
    batch: dict[str, Item] = {}

    def flush() -> None:
        if batch:
            with db.write() as conn:
                upsert_catalog(conn, list(batch.values()))
            report.imported += len(batch)
            if progress:
                progress(len(batch))
            batch.clear()

    for line, row in rows:
        report.rows += 1
        try:
            if isinstance(row, str):
                raise model.CatalogError(row)
            item = model.catalog_item(row)
        except model.CatalogError as exc:
            report.rejected += 1
            if len(report.examples) < 20:
                report.examples.append(f"row {line}: {exc}")
            if progress:
                progress(1)
            continue
        if item.id in batch:
            report.imported -= 1  # the same item twice in a chunk: the later row wins, counted once
        batch[item.id] = item
        if len(batch) >= chunk:
            flush()
    flush()
    return report


@dataclass(frozen=True)
class Ask:
    placement: str = "home"
    channel: str = "web"
    limit: int = 10
    context_item: str | None = None  # the item on the page now (placement `product`, `cart`)


def validate_ask(ask: Ask) -> None:
    if ask.placement not in model.PLACEMENTS:
        raise Invalid("invalid_placement", f"placement must be one of {', '.join(model.PLACEMENTS)}")
    if ask.channel not in CONSENT_CHANNELS:
        raise Invalid("invalid_channel", f"channel must be one of {', '.join(CONSENT_CHANNELS)}")
    if not 1 <= ask.limit <= model.MAX_LIMIT:
        raise Invalid("invalid_limit", f"limit must be 1 to {model.MAX_LIMIT}")


@dataclass(frozen=True)
class Person:
    """Whom a decision is for: a profile (canonical id and merge group), and the visit it comes from."""

    profile_id: str | None = None
    members: tuple[str, ...] = ()
    visit: tuple[str, int] | None = None  # (anonymousId, source id) of a visitor's browser or app


@dataclass(frozen=True)
class Scope:
    level: str
    reason: str
    lines: tuple[Interaction, ...] = ()


def scope_of(conn: Connection, person: Person, ask: Ask, now: datetime) -> Scope:
    """What the decision may read, through the one permission check."""
    if person.profile_id is None:
        return Scope("none", "a visitor we do not know: the same for everyone")
    channel = CONSENT_CHANNELS[ask.channel]
    allowed = check_permission_for(conn, person.profile_id, "personalization", channel, now=now)
    if allowed:
        return Scope("personal", allowed.reason, tuple(history(conn, list(person.members))))
    level = load_preferences(conn, person.profile_id).personalization_level
    if level == "none":
        return Scope("none", f"{allowed.reason}: the same for everyone")
    since = now - model.VISIT
    if person.visit is not None:
        lines = visit(conn, person.visit[0], person.visit[1], since)
    else:
        lines = history(conn, list(person.members), since)
    fallback = " (personal falls back to the current visit)" if level == "personal" else ""
    return Scope("contextual", f"{allowed.reason}{fallback}: only the current visit is used", tuple(lines))


def new_decision_id() -> str:
    return uuid.uuid4().hex


def record_decision(
    db: Database,
    person: Person,
    ask: Ask,
    outcome: dict[str, Any],
    *,
    actor: str,
    also: Callable[[Connection, str | None], None] | None = None,
) -> dict[str, Any]:
    """The decision log: what was shown, why, with which model. A profile erased a moment ago is not
    named (the decision answered as for a stranger, see `recommend.decide`)."""
    with db.write() as conn:
        profile_id = person.profile_id
        if (
            profile_id is not None
            and conn.execute(sa.select(profiles.c.id).where(profiles.c.id == profile_id)).first() is None
        ):
            profile_id = None
        conn.execute(
            decisions.insert().values(
                id=outcome["decision_id"],
                profile_id=profile_id,
                placement=ask.placement,
                channel=ask.channel,
                level=outcome["level"],
                level_reason=outcome["level_reason"],
                model_version=outcome["model_version"],
                items=outcome["items"],
                actor=actor,
                created_at=outcome["decided_at"],
            )
        )
        if also is not None:  # in the same transaction, for the profile the decision names
            also(conn, profile_id)
    return outcome


def held_of(scope: Scope, intervals: dict[str, timedelta | None], now: datetime) -> Held:
    """What the rules know of the person: nothing at level none; else what the scope's lines say."""
    if scope.level == "none":
        return Held()
    owned = model.ownership(scope.lines)
    dismissed = frozenset(line.item_id for line in scope.lines if line.action == model.DISMISSED)
    due = {item_id: model.due(o, intervals.get(item_id), now) for item_id, o in owned.items()}
    return Held(owned, dismissed, due)


def not_found_profile(profile_id: str) -> NotFound:
    return NotFound(f"profile {profile_id!r}")


def owned_items(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    """What the person bought on any channel and still has, newest purchase first, with the item."""
    owned = model.ownership(history(conn, members))
    catalog = load_items(conn, sorted(owned))
    return [
        {
            "id": o.item_id,
            "item": catalog.get(o.item_id),
            "quantity": o.quantity,
            "first_bought": o.first_bought,
            "last_bought": o.last_bought,
        }
        for o in sorted(owned.values(), key=lambda o: (o.last_bought, o.item_id), reverse=True)
    ]
