"""The catalogue in memory answers as the database does, and sees every change at once."""

from __future__ import annotations

from rapport.decide.catalog_cache import cached_items
from rapport.decide.model import Item
from rapport.decide.service import insert_described_items, upsert_catalog
from rapport.decide.store import load_items


def test_the_cache_answers_as_the_database_and_sees_changes_at_once(db):
    with db.write() as conn:
        upsert_catalog(conn, [Item("a", "Alpha"), Item("b", "Beta", kind="consumable")])
    with db.read() as conn:
        assert cached_items(conn, ["a", "b", "zz"]) == load_items(conn, ["a", "b", "zz"])
        assert set(cached_items(conn, ["b", "a", "b"])) == {"a", "b"}
    with db.write() as conn:
        upsert_catalog(conn, [Item("a", "Alpha (remastered)", available=False)])
        insert_described_items(conn, [Item("zz", "New from an event")])
    with db.read() as conn:
        seen = cached_items(conn, ["a", "zz"])
    assert seen["a"].name == "Alpha (remastered)" and not seen["a"].available
    assert seen["zz"].name == "New from an event"  # an id once missing is looked up again after a change
