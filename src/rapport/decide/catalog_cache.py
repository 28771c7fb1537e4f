"""The catalogue in memory, for decisions: a decision reads some 200 candidate items, and reading
them from the database was 40% of its time (bench/decide.py).

Items are never deleted, and every write of one (an import, an event describing a new one) sets its
`updated_at` to now; so the newest `updated_at` (one indexed row) tells whether anything changed
since the cache was filled. It is read on every decision: a changed item is seen at once, in every
process.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.decide.model import Item
from rapport.decide.store import items, load_items

sa.Index("ix_decide_items_updated_at", items.c.updated_at)
_VERSION = sa.select(sa.func.max(items.c.updated_at))


class ItemCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: Any = None
        self._items: dict[str, Item | None] = {}  # None: not in the catalogue

    def get(self, conn: Connection, ids: Iterable[str]) -> dict[str, Item]:
        wanted = list(dict.fromkeys(ids))
        version = conn.execute(_VERSION).scalar()
        with self._lock:
            if version != self._version:
                self._items, self._version = {}, version
            known = self._items
            missing = [i for i in wanted if i not in known]
        if missing:
            loaded = load_items(conn, missing)
            with self._lock:
                if self._items is known:  # not cleared meanwhile by a newer version
                    known.update({i: loaded.get(i) for i in missing})
            known = {**known, **loaded}
        return {i: found for i in wanted if (found := known.get(i)) is not None}


_CACHES: weakref.WeakKeyDictionary[Any, ItemCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cached_items(conn: Connection, ids: Iterable[str]) -> dict[str, Item]:
    """The items of `ids` that the catalogue holds, as `store.load_items` answers, from memory."""
    with _CACHES_LOCK:
        cache = _CACHES.setdefault(conn.engine, ItemCache())
    return cache.get(conn, ids)
