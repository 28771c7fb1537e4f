"""The pure rules of the adaptive experience: what an event says about usage, what is asked, and the
layout the answers give."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rapport.decide.suggest import DEFAULT, HIDE, PIN, Population, Use, experience_of, propose
from rapport.decide.usage import CHOICE, FEATURE, PAGE, SCREEN, UsageLine, usage_of


def test_usage_lines_of_each_kind_of_message():
    assert usage_of({"type": "track", "event": "Feature Used", "properties": {"feature": " share  prices "}}) == [
        UsageLine(FEATURE, "share prices")
    ]
    assert usage_of({"type": "screen", "name": "Accounts"}) == [UsageLine(SCREEN, "Accounts")]
    assert usage_of({"type": "page", "properties": {"path": "/rates"}}) == [UsageLine(PAGE, "/rates")]
    withdrawn = {
        "type": "track",
        "event": "Cash Withdrawn",
        "properties": {
            "amount": 100.0,
            "account": "savings",
            "receipt": True,
            "atm_id": "A-17",
            "transactionId": "t-1",
            "email": "ada@example.com",
            "note": "x" * 61,
            "revenue": 3,
            "nested": {"a": 1},
        },
    }
    assert usage_of(withdrawn) == [
        UsageLine(CHOICE, "Cash Withdrawn", "amount", "100"),
        UsageLine(CHOICE, "Cash Withdrawn", "account", "savings"),
        UsageLine(CHOICE, "Cash Withdrawn", "receipt", "true"),
    ]
    for ignored in (
        {"type": "track", "event": "Order Completed", "properties": {"currency": "USD"}},
        {"type": "identify", "traits": {"plan": "gold"}},
        {"type": "track", "event": "", "properties": {"a": 1}},
        {"type": "track", "event": "Feature Used", "properties": {"feature": 7}},
        {"type": "screen"},
    ):
        assert usage_of(ignored) == [], ignored


def _uses(**counts: int) -> list[Use]:
    return [Use(FEATURE, name.replace("_", " "), None, None, n) for name, n in counts.items()]


def test_the_most_used_is_pinned_the_unused_hidden_the_habit_made_default():
    uses = _uses(share_prices=18, transfers=4) + [
        Use(CHOICE, "Cash Withdrawn", "amount", "100", 6),
        Use(CHOICE, "Cash Withdrawn", "amount", "50", 1),
    ]
    menu = Population(
        frozenset({(FEATURE, "share prices"), (FEATURE, "transfers"), (FEATURE, "gift cards")}),
        frozenset({("Cash Withdrawn", "amount")}),
    )
    found = {p.kind: p for p in propose(uses, menu, frozenset())}
    assert found[PIN].target == {"surface": FEATURE, "name": "share prices"}
    assert found[HIDE].target == {"surface": FEATURE, "name": "gift cards"}
    assert found[DEFAULT].target == {"event": "Cash Withdrawn", "property": "amount", "value": "100"}
    # A closed question (yes, or no within the quiet time) is not asked; the next one of its kind may be.
    again = {p.kind: p for p in propose(uses, menu, frozenset({found[PIN].key, found[HIDE].key}))}
    assert PIN not in again and HIDE not in again and DEFAULT in again


def test_nothing_is_asked_below_the_thresholds_or_for_a_value_everyone_has():
    assert propose(_uses(share_prices=4), Population(), frozenset()) == []
    assert propose(_uses(a=5, b=5, c=5, d=5, e=5, f=5), Population(), frozenset()) == []  # none stands out
    same_for_all = [Use(CHOICE, "Call", "queue", "care", 9)]
    assert propose(same_for_all, Population(), frozenset()) == []
    light_user = _uses(share_prices=10)
    assert [p.kind for p in propose(light_user, Population(frozenset({(FEATURE, "x")})), frozenset())] == [PIN]


@given(st.lists(st.tuples(st.sampled_from([PIN, HIDE, DEFAULT]), st.text(max_size=5)), max_size=10))
def test_the_layout_holds_exactly_the_accepted(accepted):
    targets = [
        (kind, {"surface": FEATURE, "name": n} if kind != DEFAULT else {"event": "E", "property": "p", "value": n})
        for kind, n in accepted
    ]
    layout = experience_of(targets)
    assert [e["name"] for e in layout["home"]] == [n for k, n in accepted if k == PIN]
    assert [e["name"] for e in layout["hidden"]] == [n for k, n in accepted if k == HIDE]
    assert [e["value"] for e in layout["defaults"]] == [n for k, n in accepted if k == DEFAULT]
