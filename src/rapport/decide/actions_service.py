"""The write path of next best action: the action catalogue, engagement policies and the settings,
each change audited (who, what, through which channel)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.decide import actions_model as am
from rapport.decide.actions_store import (
    SETTINGS_KEY,
    action_from_row,
    actions,
    load_settings,
    policies,
    policy_from_row,
    settings_table,
)
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound

MAX_ACTIONS = 1000
MAX_POLICIES = 1000


def _parsed(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except am.ActionError as exc:
        raise Invalid(exc.code, str(exc)) from None


def _row(action: am.Action) -> dict[str, Any]:
    document = am.action_document(action)
    prior = document.pop("prior")
    return {**document, "prior_alpha": prior["alpha"], "prior_beta": prior["beta"]}


def get_action(conn: Connection, action_id: str) -> am.Action:
    if action_id == am.DO_NOTHING:
        return am.DO_NOTHING_ACTION
    row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).first()
    if row is None:
        raise NotFound(f"action {action_id!r}")
    return action_from_row(row)


def create_action(db: Database, data: dict[str, Any], *, actor: str, via: str) -> am.Action:
    action = _parsed(am.parse_action, data)
    now = utcnow()
    with db.write() as conn:
        if conn.execute(sa.select(actions.c.id).where(actions.c.id == action.id)).first() is not None:
            raise Conflict("action_exists", f"an action {action.id!r} exists already")
        if (conn.execute(sa.select(sa.func.count()).select_from(actions)).scalar() or 0) >= MAX_ACTIONS:
            raise Invalid("too_many_actions", f"at most {MAX_ACTIONS} actions")
        conn.execute(actions.insert().values(**_row(action), created_at=now, updated_at=now))
        record_audit(conn, actor=actor, channel=via, action="decide.action.created", action_id=action.id)
    return action


def update_action(db: Database, action_id: str, data: dict[str, Any], *, actor: str, via: str) -> am.Action:
    with db.write() as conn:
        current = get_action(conn, action_id)
        action = _parsed(am.parse_action, data, current)
        conn.execute(actions.update().where(actions.c.id == action_id).values(**_row(action), updated_at=utcnow()))
        record_audit(
            conn, actor=actor, channel=via, action="decide.action.updated", action_id=action_id, changed=sorted(data)
        )
    return action


def delete_action(db: Database, action_id: str, *, actor: str, via: str) -> None:
    if action_id == am.DO_NOTHING:
        raise Invalid("reserved", '"do_nothing" is built in and always a candidate; it cannot be deleted')
    with db.write() as conn:
        if not conn.execute(actions.delete().where(actions.c.id == action_id)).rowcount:
            raise NotFound(f"action {action_id!r}")
        record_audit(conn, actor=actor, channel=via, action="decide.action.deleted", action_id=action_id)


def _policy_values(data: dict[str, Any], base: am.Policy | None) -> dict[str, Any]:
    known = {"name", "stage", "actions", "rules", "enabled"}
    if not isinstance(data, dict) or set(data) - known:
        raise Invalid("unknown_field", f"a policy has {', '.join(sorted(known))}")
    name = data.get("name", base.name if base else None)
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        raise Invalid("invalid_name", "name must be text of 1 to 200 characters")
    stage = data.get("stage", base.stage if base else None)
    if stage not in am.STAGES:
        raise Invalid("invalid_stage", f"stage must be one of {', '.join(am.STAGES)}")
    ids = data.get("actions", list(base.actions) if base else [])
    if not isinstance(ids, list) or len(ids) > 200 or not all(isinstance(i, str) and i for i in ids):
        raise Invalid("invalid_actions", "actions must be a list of action ids ([] for every action)")
    if "rules" not in data and (base is None or stage != base.stage):
        raise Invalid("invalid_rules", f"a {stage} policy needs its rules")
    rules = _parsed(am.parse_rules, stage, data["rules"]) if "rules" in data else dict(base.rules) if base else {}
    enabled = data.get("enabled", base.enabled if base else True)
    if not isinstance(enabled, bool):
        raise Invalid("invalid_enabled", "enabled must be true or false")
    ids = list(dict.fromkeys(ids))
    return {"name": name.strip(), "stage": stage, "actions": ids, "rules": rules, "enabled": enabled}


def _known_actions(conn: Connection, ids: list[str]) -> None:
    known = set(conn.execute(sa.select(actions.c.id).where(actions.c.id.in_(ids))).scalars()) if ids else set()
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise Invalid("unknown_action", f"no action {unknown[0]!r}")


def get_policy(conn: Connection, policy_id: int) -> am.Policy:
    row = conn.execute(sa.select(policies).where(policies.c.id == policy_id)).first()
    if row is None:
        raise NotFound(f"policy {policy_id}")
    return policy_from_row(row)


def create_policy(db: Database, data: dict[str, Any], *, actor: str, via: str) -> am.Policy:
    values = _policy_values(data, None)
    now = utcnow()
    with db.write() as conn:
        _known_actions(conn, values["actions"])
        if (conn.execute(sa.select(sa.func.count()).select_from(policies)).scalar() or 0) >= MAX_POLICIES:
            raise Invalid("too_many_policies", f"at most {MAX_POLICIES} policies")
        policy_id = conn.execute(
            policies.insert().values(**values, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
        record_audit(conn, actor=actor, channel=via, action="decide.policy.created", policy_id=policy_id)
        return get_policy(conn, int(policy_id))


def update_policy(db: Database, policy_id: int, data: dict[str, Any], *, actor: str, via: str) -> am.Policy:
    with db.write() as conn:
        values = _policy_values(data, get_policy(conn, policy_id))
        _known_actions(conn, values["actions"])
        conn.execute(policies.update().where(policies.c.id == policy_id).values(**values, updated_at=utcnow()))
        record_audit(
            conn, actor=actor, channel=via, action="decide.policy.updated", policy_id=policy_id, changed=sorted(data)
        )
        return get_policy(conn, policy_id)


def delete_policy(db: Database, policy_id: int, *, actor: str, via: str) -> None:
    with db.write() as conn:
        if not conn.execute(policies.delete().where(policies.c.id == policy_id)).rowcount:
            raise NotFound(f"policy {policy_id}")
        record_audit(conn, actor=actor, channel=via, action="decide.policy.deleted", policy_id=policy_id)


def policy_document(policy: am.Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "stage": policy.stage,
        "actions": list(policy.actions),
        "rules": dict(policy.rules),
        "enabled": policy.enabled,
    }


def update_settings(db: Database, data: dict[str, Any], *, actor: str, via: str) -> am.Settings:
    with db.write() as conn:
        settings = _parsed(am.parse_settings, data, load_settings(conn))
        document = am.settings_document(settings)
        now = utcnow()
        updated = conn.execute(
            settings_table.update()
            .where(settings_table.c.key == SETTINGS_KEY)
            .values(document=document, updated_at=now)
        ).rowcount
        if not updated:
            conn.execute(settings_table.insert().values(key=SETTINGS_KEY, document=document, updated_at=now))
        record_audit(conn, actor=actor, channel=via, action="decide.settings.updated", changed=sorted(data))
    return settings
