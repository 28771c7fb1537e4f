"""The decision layer's rules, pure: items and their kinds, what e-commerce events say about items,
what a person owns, which scored items may be shown, and the reason each carries in words the
customer may see.

Reasons are built only from the person's own data and aggregates (popularity, a category): a
`Reason` names an item of theirs or a category, never another person.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

KINDS = ("durable", "consumable", "content", "service")
RETURNING_KINDS = frozenset({"consumable", "service"})  # may come back when due; the others never once owned
PLACEMENTS = ("home", "product", "cart", "post_purchase", "email", "search")
LEVELS = ("none", "contextual", "personal")
VISIT = timedelta(minutes=30)  # the current visit: what one anonymousId did in the last 30 minutes
MAX_LIMIT = 50
MAX_HELP_LINKS = 10

# Segment's e-commerce spec (v2): what each event says about items.
VIEWED, ADDED, PURCHASED, REFUNDED, DISMISSED = "viewed", "added", "purchased", "refunded", "dismissed"
EVENT_ACTIONS = {
    "Product Viewed": VIEWED,
    "Product Clicked": VIEWED,
    "Product Added": ADDED,
    "Order Completed": PURCHASED,
    "Order Refunded": REFUNDED,
    "Recommendation Dismissed": DISMISSED,
    "Product Dismissed": DISMISSED,
}
ITEM_EVENTS = tuple(EVENT_ACTIONS)


class CatalogError(ValueError):
    """A catalogue row or an item described in an event cannot be read; the message says why."""


@dataclass(frozen=True)
class HelpLink:
    title: str
    url: str


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    category: str | None = None
    kind: str = "durable"
    price: float | None = None
    available: bool = True
    help: tuple[HelpLink, ...] = ()


@dataclass(frozen=True)
class ItemLine:
    """One item an event names: what the person did with it."""

    item_id: str
    action: str
    quantity: int = 1
    order_id: str | None = None


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:limit] if value else None


def _price(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and 0 <= price < 1e12 else None


def _quantity(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    try:
        quantity = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(max(quantity, 1), 10_000)


def item_id_of(props: Mapping[str, Any]) -> str | None:
    """Segment names an item by `product_id`, else `sku`; `item_id` and `id` are read as well."""
    for key in ("product_id", "sku", "item_id", "id"):
        found = _text(props.get(key), 200)
        if found:
            return found
    return None


def describe_item(props: Mapping[str, Any]) -> Item | None:
    """The item a product in an event describes (its id, name, category, price; kind only when the
    event says so). None when it names no item."""
    item_id = item_id_of(props)
    if item_id is None:
        return None
    kind = props.get("kind")
    return Item(
        id=item_id,
        name=_text(props.get("name"), 300) or item_id,
        category=_text(props.get("category"), 200),
        kind=kind if kind in KINDS else "durable",
        price=_price(props.get("price")),
    )


def lines_of(event: str | None, properties: Any) -> tuple[list[ItemLine], list[Item]]:
    """What an e-commerce track event says: the item lines (who did what with which item) and the
    items it describes. Events outside the spec say nothing."""
    action = EVENT_ACTIONS.get(event or "")
    if action is None or not isinstance(properties, Mapping):
        return [], []
    order_id = _text(properties.get("order_id"), 200)
    products = properties.get("products")
    if action in (PURCHASED, REFUNDED) and isinstance(products, list):
        entries = [p for p in products[:500] if isinstance(p, Mapping)]
    elif action == REFUNDED:
        entries = [properties] if item_id_of(properties) else []  # a refund of the whole order names none
    else:
        entries = [properties]
    lines, items = [], []
    for entry in entries:
        item = describe_item(entry)
        if item is None:
            continue
        lines.append(ItemLine(item.id, action, _quantity(entry.get("quantity", 1)), order_id))
        items.append(item)
    if action == REFUNDED and not lines and order_id:
        lines.append(ItemLine("", REFUNDED, 0, order_id))  # the whole order
    return lines, items


@dataclass(frozen=True)
class Interaction:
    """A line with when it happened, as a person's history holds it."""

    item_id: str
    action: str
    at: datetime
    quantity: int = 1
    order_id: str | None = None


@dataclass
class Owned:
    item_id: str
    quantity: int
    first_bought: datetime
    last_bought: datetime
    purchases: list[datetime] = field(default_factory=list)  # when each order holding it was placed


def ownership(history: Iterable[Interaction]) -> dict[str, Owned]:
    """What the person bought and still has: purchases minus refunds, in time order. A refund names
    the items it returns, or, naming none, returns its whole order."""
    owned: dict[str, Owned] = {}
    orders: dict[str, dict[str, int]] = {}
    for line in sorted(history, key=lambda i: i.at):
        if line.action == PURCHASED:
            entry = owned.get(line.item_id)
            if entry is None:
                owned[line.item_id] = Owned(line.item_id, line.quantity, line.at, line.at, [line.at])
            else:
                entry.quantity += line.quantity
                entry.last_bought = line.at
                entry.purchases.append(line.at)
            if line.order_id:
                order = orders.setdefault(line.order_id, {})
                order[line.item_id] = order.get(line.item_id, 0) + line.quantity
        elif line.action == REFUNDED:
            returned = {line.item_id: line.quantity} if line.item_id else dict(orders.get(line.order_id or "", {}))
            for item_id, quantity in returned.items():
                entry = owned.get(item_id)
                if entry is None:
                    continue
                entry.quantity -= quantity
                if line.order_id and line.order_id in orders:
                    orders[line.order_id].pop(item_id, None)
                if entry.quantity <= 0:
                    del owned[item_id]
    return owned


def repurchase_interval(purchases: Sequence[datetime]) -> timedelta | None:
    """The person's own interval between purchases of one item (the median), if they bought it twice."""
    times = sorted(purchases)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False) if b - a >= timedelta(hours=12)]
    return timedelta(seconds=median(gaps)) if gaps else None


def due(owned: Owned, population: timedelta | None, now: datetime) -> float:
    """0..1: how due a consumable is again, by the person's own interval or else the population's;
    1 when neither is known (they bought it once and nobody rebuys it: no reason to hold it back)."""
    interval = repurchase_interval(owned.purchases) or population
    if interval is None or interval <= timedelta(0):
        return 1.0
    return min(1.0, (now - owned.last_bought) / interval)


DUE_AT = 0.8  # a consumable comes back from 80% of its interval: just before it runs out


@dataclass(frozen=True)
class Reason:
    """Why an item is shown, in words the customer may see; `because` names one of their own items
    or a category, never another person's data."""

    code: str  # bought | viewed | browsing | restock | popular | popular_in | help | goes_with | editorial
    text: str
    because: str | None = None  # the item of theirs (id) it comes from, when it comes from one


def reason_for(code: str, name: str | None = None, item_id: str | None = None) -> Reason:
    words = {
        "bought": f"because you bought {name}",
        "viewed": f"because you looked at {name}",
        "browsing": f"because you are looking at {name}",
        "restock": f"time to restock your {name}",
        "goes_with": f"goes with your {name}",
        "help": f"help for your {name}",
        "popular_in": f"popular in {name}",
        "popular": "popular with our customers",
    }
    return Reason(code, words[code], item_id)


@dataclass(frozen=True)
class Candidate:
    item_id: str
    score: float
    reason: Reason


@dataclass(frozen=True)
class Held:
    """What the rules need to know about the person (empty for `none`: nothing of theirs is read)."""

    owned: Mapping[str, Owned] = field(default_factory=dict)
    dismissed: frozenset[str] = frozenset()
    due: Mapping[str, float] = field(default_factory=dict)  # consumables they own: how due each is


def shown(item: Item | None, held: Held) -> str | None:
    """None when the item may be shown to this person, else why not (for the decision log)."""
    if item is None:
        return "not in the catalogue"
    if not item.available:
        return "unavailable"
    if item.id in held.dismissed:
        return "dismissed"
    if item.id in held.owned:
        if item.kind not in RETURNING_KINDS:
            return f"owned ({item.kind})"
        if held.due.get(item.id, 1.0) < DUE_AT:
            return "owned, not due yet"
    return None


def apply_rules(
    candidates: Iterable[Candidate], catalog: Mapping[str, Item], held: Held, limit: int
) -> list[Candidate]:
    """The best `limit` candidates the rules allow, best first, each item once."""
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for candidate in sorted(candidates, key=lambda c: (-c.score, c.item_id)):
        if candidate.item_id in seen or shown(catalog.get(candidate.item_id), held) is not None:
            continue
        seen.add(candidate.item_id)
        chosen.append(candidate)
        if len(chosen) >= limit:
            break
    return chosen


_TRUE, _FALSE = (
    {"true", "1", "yes", "y", "in stock", "in_stock", "available"},
    {"false", "0", "no", "n", "out of stock"},
)


def _help_links(row: Mapping[str, Any]) -> tuple[HelpLink, ...]:
    """`help`: a list of {"title", "url"} (JSON Lines) or `url` / `title|url` separated by `;` (CSV);
    or the columns `help_url` and `help_title`."""
    raw = row.get("help")
    entries: list[tuple[Any, Any]] = []
    if isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, Mapping):
                entries.append((entry.get("title"), entry.get("url")))
            elif isinstance(entry, str):
                entries.append((None, entry))
            else:
                raise CatalogError('help: each link is {"title", "url"} or a URL')
    elif isinstance(raw, str) and raw.strip():
        for part in raw.split(";"):
            title, sep, url = part.rpartition("|") if "|" in part else ("", "", part)
            entries.append((title or None, url))
    elif raw not in (None, ""):
        raise CatalogError("help must be a list of links or text")
    if row.get("help_url"):
        entries.append((row.get("help_title"), row.get("help_url")))
    links = []
    for title, url in entries[:MAX_HELP_LINKS]:
        url_text = _text(url, 2000)
        if not url_text or not url_text.lower().startswith(("https://", "http://", "/")):
            raise CatalogError(f"help link {url!r} is not an http(s) URL or a path")
        links.append(HelpLink(_text(title, 200) or "How to use it", url_text))
    return tuple(links)


def catalog_item(row: Mapping[str, Any]) -> Item:
    """One row of a catalogue file (CSV or JSON Lines) as an item. Columns: `id` (or `product_id`,
    `sku`), `name`, `category`, `kind` (durable when empty), `price`, `available` (true when empty),
    `help` (or `help_url`, `help_title`). Raises CatalogError with the reason."""
    item_id = item_id_of(row)
    if item_id is None:
        raise CatalogError("no id: give the item's id in `id`, `product_id` or `sku`")
    name = _text(row.get("name"), 300)
    if name is None:
        raise CatalogError(f"item {item_id}: no name")
    kind = row.get("kind") or "durable"
    if kind not in KINDS:
        raise CatalogError(f"item {item_id}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    price = None
    if row.get("price") not in (None, ""):
        price = _price(row.get("price"))
        if price is None:
            raise CatalogError(f"item {item_id}: price {row.get('price')!r} is not a number of 0 or more")
    available = row.get("available")
    if isinstance(available, str):
        text = available.strip().lower()
        if text not in _TRUE | _FALSE | {""}:
            raise CatalogError(f"item {item_id}: available must be true or false, not {available!r}")
        available = text not in _FALSE
    elif available is None:
        available = True
    elif not isinstance(available, bool):
        raise CatalogError(f"item {item_id}: available must be true or false")
    return Item(item_id, name, _text(row.get("category"), 200), kind, price, available, _help_links(row))
