"""Macros: saved replies that admins keep and agents use on a case, filled in from the case (the
customer's name, the case's reference, the agent's name), with the status and tags the case takes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound
from rapport.profiles.service import load_profile
from rapport.service.macros_model import MacroError, MacroSpec, check_macro, fill, first_name, merged_tags
from rapport.service.macros_store import service_macros
from rapport.service.requester import profile_of
from rapport.service.service import Changes, reply, update_case
from rapport.service.store import cases


def _checked(spec: MacroSpec) -> MacroSpec:
    try:
        return check_macro(spec)
    except MacroError as exc:
        raise Invalid(exc.code, exc.message) from None


def _row(conn: Connection, macro_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(service_macros).where(service_macros.c.id == macro_id)).first()
    if row is None:
        raise NotFound("macro")
    return dict(row._mapping)


def _name_taken(conn: Connection, name: str, other_than: int | None = None) -> None:
    query = sa.select(service_macros.c.id).where(sa.func.lower(service_macros.c.name) == name.lower())
    found = conn.execute(query).scalar()
    if found is not None and found != other_than:
        raise Conflict("macro_exists", f"a macro is already named {name!r}")


def list_macros(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(service_macros).order_by(service_macros.c.name))]


def create_macro(db: Database, spec: MacroSpec, *, actor: str, via: str = "api") -> dict[str, Any]:
    spec = _checked(spec)
    now = utcnow()
    with db.write() as conn:
        _name_taken(conn, spec.name)
        values = {
            "name": spec.name,
            "text": spec.text,
            "status": spec.status,
            "tags": list(spec.tags),
            "internal": spec.internal,
            "uses": 0,
            "created_at": now,
            "created_by": actor,
            "updated_at": now,
        }
        macro_id = conn.execute(service_macros.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
        record_audit(conn, actor=actor, channel=via, action="service.macro_created", macro=spec.name)
        return _row(conn, int(macro_id))


def update_macro(db: Database, macro_id: int, changes: dict[str, Any], *, actor: str) -> dict[str, Any]:
    with db.write() as conn:
        current = _row(conn, macro_id)
        spec = MacroSpec(
            current["name"], current["text"], current["status"], tuple(current["tags"]), current["internal"]
        )
        spec = _checked(replace(spec, **changes))
        _name_taken(conn, spec.name, other_than=macro_id)
        conn.execute(
            service_macros.update()
            .where(service_macros.c.id == macro_id)
            .values(
                name=spec.name,
                text=spec.text,
                status=spec.status,
                tags=list(spec.tags),
                internal=spec.internal,
                updated_at=utcnow(),
            )
        )
        record_audit(conn, actor=actor, channel="api", action="service.macro_changed", macro=spec.name)
        return _row(conn, macro_id)


def delete_macro(db: Database, macro_id: int, *, actor: str, via: str = "api") -> None:
    with db.write() as conn:
        current = _row(conn, macro_id)
        conn.execute(service_macros.delete().where(service_macros.c.id == macro_id))
        record_audit(conn, actor=actor, channel=via, action="service.macro_deleted", macro=current["name"])


def filled(conn: Connection, macro_id: int, case_id: int, agent: str) -> dict[str, Any]:
    """The macro as it would go out on this case: its text filled in, its status and tags."""
    macro = _row(conn, macro_id)
    found = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
    if found is None:
        raise NotFound(f"case {case_id}", "case_not_found")
    case = dict(found._mapping)
    traits: dict[str, Any] = {}
    requester = case["requester_profile_id"] or profile_of(conn, case)
    if requester:
        profile = load_profile(conn, requester)
        traits = profile.traits if profile else {}
    name = case["requester_name"] or _text(traits.get("name"))
    values = {
        "name": name,
        "first_name": _text(traits.get("first_name")) or first_name(name),
        "reference": case["reference"],
        "subject": case["subject"],
        "agent": agent,
    }
    return {
        "macro_id": macro["id"],
        "name": macro["name"],
        "text": fill(macro["text"], values),
        "status": macro["status"],
        "tags": merged_tags(case["tags"], macro["tags"]),
        "internal": macro["internal"],
    }


def _text(value: Any) -> str | None:
    return value.strip()[:200] if isinstance(value, str) and value.strip() else None


def use_macro(db: Database, macro_id: int, case_id: int, *, agent: str, actor: str, note: str = "") -> dict[str, Any]:
    """Send the macro on the case (a reply, or an internal note), then add its tags; `note` is added
    below the macro's text."""
    with db.read() as conn:
        ready = filled(conn, macro_id, case_id, agent)
    text = ready["text"] + (f"\n\n{note.strip()}" if note.strip() else "")
    done = reply(db, case_id, text, actor=actor, public=not ready["internal"], status=ready["status"])
    used(db, macro_id, case_id, actor=actor)
    return done


def used(db: Database, macro_id: int, case_id: int, *, actor: str) -> None:
    """After a reply made from the macro (here, or edited in the console): its tags on the case, and
    one more use counted. A macro deleted in between adds nothing."""
    with db.read() as conn:
        found = conn.execute(sa.select(service_macros.c.tags).where(service_macros.c.id == macro_id)).first()
        current = conn.execute(sa.select(cases.c.tags).where(cases.c.id == case_id)).scalar()
    if found is None:
        return
    tags = merged_tags(current, found.tags)
    if tags != list(current or []):
        update_case(db, case_id, Changes(tags=tags), actor=actor)
    with db.write() as conn:
        conn.execute(
            service_macros.update().where(service_macros.c.id == macro_id).values(uses=service_macros.c.uses + 1)
        )
