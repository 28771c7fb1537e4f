"""Ask or skip: each rule with its reason, in order, and the ask/use ratio over the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.voice.model import AskFacts, FatiguePolicy, VoiceRuleError, ask_or_skip, parse_policy

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = FatiguePolicy(window_days=90, max_ratio=0.5, min_gap_days=14)


def facts(**changes) -> AskFacts:
    base = {"sent_in_window": 0, "interactions_in_window": 4, "last_sent_at": None}
    return AskFacts(**(base | changes))


def test_asks_when_every_rule_allows_and_says_so():
    decision = ask_or_skip(facts(sent_in_window=1, last_sent_at=NOW - timedelta(days=30)), POLICY, NOW)
    assert decision.ask and decision.rule == "asked"
    assert decision.reason == "2 surveys for 4 interactions in 90 days"


def test_the_ratio_of_asking_to_using_is_capped():
    # 2 sent for 4 uses: a third would make 3 / 4 = 0.75 > 0.5
    decision = ask_or_skip(facts(sent_in_window=2, last_sent_at=NOW - timedelta(days=20)), POLICY, NOW)
    assert not decision.ask and decision.rule == "ratio"
    assert decision.reason == "asking would make 3 surveys for 4 interactions in 90 days (at most 0.5 per interaction)"
    never_used = ask_or_skip(facts(interactions_in_window=0), POLICY, NOW)
    assert not never_used.ask and never_used.rule == "ratio"


def test_a_minimum_gap_between_surveys():
    decision = ask_or_skip(facts(last_sent_at=NOW - timedelta(days=3)), POLICY, NOW)
    assert not decision.ask and decision.rule == "gap"
    assert decision.reason == "asked 3 days ago; the minimum gap is 14 days"
    assert ask_or_skip(facts(last_sent_at=NOW - timedelta(days=14)), POLICY, NOW).ask


def test_skips_when_a_complaint_is_open():
    decision = ask_or_skip(facts(open_complaint="K7P2QX9M"), POLICY, NOW)
    assert (decision.ask, decision.rule, decision.reason) == (
        False,
        "open_complaint",
        "a complaint is open (case K7P2QX9M)",
    )


def test_skips_a_case_closed_by_automation():
    decision = ask_or_skip(facts(auto_resolved=True), POLICY, NOW)
    assert not decision.ask and decision.rule == "auto_resolved"


def test_skips_when_the_channels_reply_window_is_closed():
    closed = ask_or_skip(facts(channel="chat", last_customer_message_at=NOW - timedelta(hours=25)), POLICY, NOW)
    assert not closed.ask and closed.reason == "the chat reply window (24 h) is closed"
    still_open = ask_or_skip(facts(channel="chat", last_customer_message_at=NOW - timedelta(hours=2)), POLICY, NOW)
    assert still_open.ask
    assert ask_or_skip(facts(channel="email"), POLICY, NOW).ask  # email has no reply window


def test_the_shared_contact_policy_is_one_rule():
    decision = ask_or_skip(facts(contact_policy=(False, "3 contacts this week")), POLICY, NOW)
    assert not decision.ask and decision.reason == "the contact policy refuses: 3 contacts this week"


def test_the_first_refusing_rule_gives_the_reason():
    decision = ask_or_skip(facts(auto_resolved=True, open_complaint="X", last_sent_at=NOW), POLICY, NOW)
    assert decision.rule == "auto_resolved"


@pytest.mark.parametrize(
    "document",
    [
        {"window_days": 0},
        {"max_ratio": 0},
        {"max_ratio": "1"},
        {"min_gap_days": -1},
        {"reply_windows_hours": {"chat": 0}},
        {"reply_windows_hours": []},
        {"nonsense": 1},
        {"window_days": True},
    ],
)
def test_bad_policies_are_refused(document):
    with pytest.raises(VoiceRuleError):
        parse_policy(document)
