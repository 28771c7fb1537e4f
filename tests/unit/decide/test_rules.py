"""Decide's pure rules: what events say about items, ownership, the catalogue's rows, the rules after
scoring and the model's numerics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.decide import learn
from rapport.decide.model import (
    DISMISSED,
    PURCHASED,
    REFUNDED,
    VIEWED,
    Candidate,
    CatalogError,
    Held,
    Interaction,
    Item,
    apply_rules,
    catalog_item,
    due,
    lines_of,
    ownership,
    reason_for,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_order_completed_names_each_product_and_describes_it():
    props = {
        "order_id": "o-1",
        "products": [
            {"product_id": "p1", "name": "Come On Over", "category": "Country", "price": "12.5", "quantity": 2},
            {"sku": "s2", "name": "Kettle", "kind": "durable"},
            {"name": "no id: nothing"},
            "not an object",
        ],
    }
    lines, items = lines_of("Order Completed", props)
    assert [(line.item_id, line.quantity, line.order_id) for line in lines] == [("p1", 2, "o-1"), ("s2", 1, "o-1")]
    assert items[0] == Item("p1", "Come On Over", "Country", "durable", 12.5)
    assert lines_of("Order Completed", "not a dict") == ([], [])
    assert lines_of("Page Viewed", {"product_id": "p1"}) == ([], [])


def test_a_refund_naming_no_item_returns_its_whole_order():
    lines, _ = lines_of("Order Refunded", {"order_id": "o-1"})
    assert [(line.item_id, line.action, line.order_id) for line in lines] == [("", REFUNDED, "o-1")]


def _line(item: str, action: str, days: float, quantity: int = 1, order: str | None = None) -> Interaction:
    return Interaction(item, action, T0 + timedelta(days=days), quantity, order)


def test_ownership_takes_refunds_off():
    history = [
        _line("a", PURCHASED, 0, order="o1"),
        _line("b", PURCHASED, 0, order="o1"),
        _line("c", PURCHASED, 1, quantity=2, order="o2"),
        _line("", REFUNDED, 2, quantity=0, order="o1"),  # the whole first order
        _line("c", REFUNDED, 3, quantity=1, order="o2"),  # one of two
        _line("d", VIEWED, 4),
    ]
    owned = ownership(history)
    assert set(owned) == {"c"}
    assert owned["c"].quantity == 1


def test_a_consumable_is_due_by_its_own_interval_then_the_populations():
    owned = ownership([_line("milk", PURCHASED, 0), _line("milk", PURCHASED, 10)])["milk"]
    assert due(owned, None, T0 + timedelta(days=15)) == pytest.approx(0.5)
    assert due(owned, None, T0 + timedelta(days=30)) == 1.0
    once = ownership([_line("tea", PURCHASED, 0)])["tea"]
    assert due(once, timedelta(days=20), T0 + timedelta(days=5)) == pytest.approx(0.25)
    assert due(once, None, T0 + timedelta(days=1)) == 1.0  # nothing known: not held back


def test_catalogue_rows():
    item = catalog_item(
        {
            "id": "k1",
            "name": " Kettle ",
            "kind": "durable",
            "price": "30",
            "available": "no",
            "help": "Descale it|https://help.example/descale;https://help.example/setup",
        }
    )
    assert (item.name, item.price, item.available) == ("Kettle", 30.0, False)
    assert [h.title for h in item.help] == ["Descale it", "How to use it"]
    assert catalog_item({"sku": "s", "name": "n"}).kind == "durable"
    for row, says in [
        ({"name": "x"}, "no id"),
        ({"id": "x"}, "no name"),
        ({"id": "x", "name": "n", "kind": "gadget"}, "kind must be"),
        ({"id": "x", "name": "n", "price": "-1"}, "price"),
        ({"id": "x", "name": "n", "available": "maybe"}, "available"),
        ({"id": "x", "name": "n", "help": "javascript:alert(1)"}, "help link"),
    ]:
        with pytest.raises(CatalogError, match=says):
            catalog_item(row)


CATALOG = {
    "tv": Item("tv", "TV", kind="durable"),
    "milk": Item("milk", "Milk", kind="consumable"),
    "gone": Item("gone", "Gone", available=False),
    "film": Item("film", "Film", kind="content"),
    "x": Item("x", "X"),
}


@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(sorted(CATALOG)),
            st.sampled_from([PURCHASED, REFUNDED, VIEWED, DISMISSED]),
            st.floats(0, 100),
        ),
        max_size=30,
    ),
    scores=st.dictionaries(st.sampled_from(sorted(CATALOG)), st.floats(-1, 10), min_size=1),
    limit=st.integers(1, 10),
)
def test_an_owned_durable_a_dismissed_or_unavailable_item_is_never_shown(events, scores, limit):
    history = [_line(item, action, day) for item, action, day in events]
    owned = ownership(history)
    dismissed = frozenset(line.item_id for line in history if line.action == DISMISSED)
    held = Held(owned, dismissed, {i: 0.0 for i in owned})  # nothing is due
    candidates = [Candidate(i, s, reason_for("popular")) for i, s in scores.items()]
    chosen = apply_rules(candidates, CATALOG, held, limit)
    assert len(chosen) <= limit
    for candidate in chosen:
        assert candidate.item_id not in owned  # durable, content, or a consumable not due
        assert candidate.item_id not in dismissed
        assert CATALOG[candidate.item_id].available


def test_a_due_consumable_may_come_back():
    owned = ownership([_line("milk", PURCHASED, 0)])
    chosen = apply_rules(
        [Candidate("milk", 1.0, reason_for("restock", "Milk"))], CATALOG, Held(owned, due={"milk": 1.0}), 5
    )
    assert [c.item_id for c in chosen] == ["milk"]


def test_the_model_learns_pairs_and_leaves_out_what_few_people_had():
    # people 0-3 bought a and b; person 4 alone bought a and c
    users = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    items = [0, 1, 0, 1, 0, 1, 0, 1, 0, 2]
    x = learn.interaction_matrix(users, items, 5, 3)
    model = learn.train(x, ["a", "b", "c"], learn.Params(min_support=3))
    scores = learn.collaborative(model, np.asarray([0]))
    assert scores[1] > 0 and scores[2] == 0  # c: one person, never named from another's history
    assert model.popularity[2] == 0
    arrays = learn.to_arrays(model)
    again = learn.from_arrays(arrays, model.algorithm, model.params)
    assert again.item_ids == model.item_ids and (again.weights != model.weights).nnz == 0
