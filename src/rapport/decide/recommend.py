"""Choosing what to show one person now: score with the model, add their own repeat purchases and
the popular items, apply the rules (decide/model.py), and give each item its reason.

A reason names only the person's own items (from the lines the scope allowed) or a category, and
popularity is an aggregate of at least `min_support` people: nothing here reads another person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.decide import learn, model
from rapport.decide.arbitrate import next_best_actions, record_presentations
from rapport.decide.catalog_cache import cached_items
from rapport.decide.model import Candidate, Held, Item, Reason, reason_for
from rapport.decide.service import (
    Ask,
    Person,
    Scope,
    held_of,
    new_decision_id,
    record_decision,
    scope_of,
    validate_ask,
)
from rapport.decide.training import Loaded, ModelCache
from rapport.kernel.clock import utcnow

SEED_ACTIONS = (model.PURCHASED, model.ADDED, model.VIEWED)
_UNWORDED = reason_for("popular")
POOL = 200  # candidates scored before the rules; the rules rarely drop more than the person owns


@dataclass
class Scored:
    item_id: str
    collaborative: float = 0.0
    buy_again: float = 0.0
    popularity: float = 0.0
    reason: Reason | None = None

    @property
    def score(self) -> float:
        return self.collaborative + self.buy_again + self.popularity


@dataclass
class Seeds:
    """The person's items the scope allows, newest first, with what they did (bought beats looked at)."""

    ids: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)


def seeds_of(scope: Scope, held: Held, context_item: str | None) -> Seeds:
    seeds = Seeds()
    if context_item:
        seeds.ids.append(context_item)
        seeds.actions[context_item] = "browsing"
    for line in reversed(scope.lines):
        if line.action not in SEED_ACTIONS or line.item_id in seeds.actions:
            continue
        if line.action == model.PURCHASED and line.item_id not in held.owned:
            continue  # refunded: not a reason to recommend anything
        seeds.ids.append(line.item_id)
        seeds.actions[line.item_id] = line.action
    return seeds


REASON_OF_ACTION = {
    "browsing": "browsing",
    "goes_with": "goes_with",
    model.PURCHASED: "bought",
    model.ADDED: "viewed",
    model.VIEWED: "viewed",
}


def _collaborative(m: learn.Model, seeds: Seeds, pool: dict[str, Scored]) -> None:
    known = [s for s in seeds.ids if s in m.index]
    if not known:
        return
    contrib = learn.contributions(m, np.asarray([m.index[s] for s in known]))
    scores = np.asarray(contrib.sum(axis=0)).ravel()
    best = learn.top_n(scores, POOL)
    if not len(best):
        return
    top = float(scores[best[0]])
    strongest = contrib.tocsc()[:, best].toarray().argmax(axis=0)
    for column, source in zip(best.tolist(), strongest.tolist(), strict=True):
        seed = known[source]
        entry = pool.setdefault(m.item_ids[column], Scored(m.item_ids[column]))
        entry.collaborative = float(scores[column]) / top
        entry.reason = Reason(REASON_OF_ACTION[seeds.actions[seed]], "", seed)


def _buy_again(
    m: learn.Model | None, held: Held, scope: Scope, pool: dict[str, Scored], catalog: dict[str, Item]
) -> None:
    """Consumables the person bought and that are due again; only at level personal (their history)."""
    if scope.level != "personal" or not held.owned:
        return
    # Their orders, oldest first: the lines of one order share its time.
    orders = sorted({at for owned in held.owned.values() for at in owned.purchases})
    after = {at: len(orders) - 1 - n for n, at in enumerate(orders)}
    decay = m.params.again_decay if m else learn.AGAIN_DECAY
    raw = {i: learn.repeat_score((after[at] for at in o.purchases), decay) for i, o in held.owned.items()}
    top = max(raw.values())
    weight = m.params.again_weight if m else learn.AGAIN_WEIGHT
    for item_id in held.owned:
        item = catalog.get(item_id)
        due = held.due.get(item_id, 1.0)
        if item is None or item.kind not in model.RETURNING_KINDS or due < model.DUE_AT or top <= 0:
            continue
        entry = pool.setdefault(item_id, Scored(item_id))
        entry.buy_again = weight * raw[item_id] / top * due
        entry.reason = Reason("restock", "", item_id)


def _popular(m: learn.Model, pool: dict[str, Scored]) -> None:
    peak = float(m.popularity.max()) if m.size else 0.0
    if peak <= 0:
        return
    for column in learn.top_n(m.popularity, POOL).tolist():
        entry = pool.setdefault(m.item_ids[column], Scored(m.item_ids[column]))
        entry.popularity = float(m.popularity[column]) / peak * 1e-3


def _words(scored: Scored, catalog: dict[str, Item]) -> Reason:
    """The reason in the customer's words: their own item's name, or the item's category."""
    reason = scored.reason if scored.collaborative > 0 or scored.buy_again > 0 else None
    if reason is not None and reason.because is not None:
        mine = catalog.get(reason.because)
        return reason_for(reason.code, mine.name if mine else reason.because, reason.because)
    category = catalog[scored.item_id].category if scored.item_id in catalog else None
    return reason_for("popular_in", category) if category else reason_for("popular")


def _help(scope: Scope, held: Held, catalog: dict[str, Item]) -> tuple[list[dict[str, Any]], str | None]:
    """After a purchase: help with what they bought most recently (never the item again)."""
    bought = [line.item_id for line in scope.lines if line.action == model.PURCHASED and line.item_id in held.owned]
    if not bought:
        return [], None
    item = catalog.get(bought[-1])
    if item is None:
        return [], bought[-1]
    reason = reason_for("help", item.name, item.id)
    links = [
        {
            "id": item.id,
            "kind": "help",
            "title": link.title,
            "url": link.url,
            "reason": reason.text,
            "reason_code": reason.code,
        }
        for link in item.help
    ]
    return links, item.id


def choose(conn: Connection, loaded: Loaded | None, scope: Scope, ask: Ask, now: datetime) -> list[dict[str, Any]]:
    m = loaded.model if loaded else None
    intervals: dict[str, timedelta | None] = {}
    if m is not None and m.intervals is not None:
        for line in scope.lines:
            column = m.index.get(line.item_id)
            if column is not None and not np.isnan(m.intervals[column]):
                intervals[line.item_id] = timedelta(days=float(m.intervals[column]))
    held = held_of(scope, intervals, now)
    catalog_ids = {line.item_id for line in scope.lines} | ({ask.context_item} if ask.context_item else set())
    chosen_help: list[dict[str, Any]] = []
    seeds = seeds_of(scope, held, ask.context_item)
    if ask.placement == "post_purchase":
        catalog = cached_items(conn, sorted(catalog_ids))
        chosen_help, just_bought = _help(scope, held, catalog)
        if just_bought:  # related to what they just bought, and nothing else
            seeds = Seeds([just_bought], {just_bought: "goes_with"})
    pool: dict[str, Scored] = {}
    if m is not None:
        _collaborative(m, seeds, pool)
        if ask.placement != "post_purchase" or not chosen_help:
            _popular(m, pool)
    catalog = cached_items(conn, sorted(catalog_ids | set(pool) | set(held.owned)))
    _buy_again(m, held, scope, pool, catalog)
    # The rules read no reason: words only for what is shown (a third of a decision's time otherwise)
    candidates = [Candidate(s.item_id, s.score, _UNWORDED) for s in pool.values()]
    room = max(0, ask.limit - len(chosen_help[: ask.limit]))
    kept = model.apply_rules(candidates, catalog, held, room)
    shown = chosen_help[: ask.limit]
    for candidate in kept:
        item = catalog[candidate.item_id]
        scored = pool[candidate.item_id]
        reason = _words(scored, catalog)
        shown.append(
            {
                "id": item.id,
                "kind": item.kind,
                "title": item.name,
                "price": item.price,
                "reason": reason.text,
                "reason_code": reason.code,
                "because": reason.because,  # the person's own item the reason names, if any
                "factors": {
                    "collaborative": round(scored.collaborative, 6),
                    "buy_again": round(scored.buy_again, 6),
                    "popularity": round(scored.popularity, 9),
                },
            }
        )
    return shown


def decide(
    db: Database, cache: ModelCache, person: Person, ask: Ask, *, actor: str, now: datetime | None = None
) -> dict[str, Any]:
    """One decision, recorded in the decision log with the model version it used."""
    validate_ask(ask)
    now = now or utcnow()
    with db.read() as conn:
        scope = scope_of(conn, person, ask, now)
        loaded = cache.current(conn)
        items = choose(conn, loaded, scope, ask, now)
        chosen = next_best_actions(conn, person, ask, scope, now)
    outcome = {
        "decision_id": new_decision_id(),
        "decided_at": now,
        "level": scope.level,
        "level_reason": scope.reason,
        "model_version": loaded.version if loaded else None,
        "placement": ask.placement,
        "channel": ask.channel,
        "items": items,
        "actions": chosen.shown,
        "actions_held": chosen.held,
        "contact_policy": chosen.contact,
    }
    return record_decision(
        db, person, ask, outcome, actor=actor, also=lambda conn, pid: record_presentations(conn, pid, outcome)
    )
