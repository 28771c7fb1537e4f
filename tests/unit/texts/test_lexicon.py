"""The lexical model: it answers without the model stack, and says it did."""

from __future__ import annotations

import pytest

from rapport.texts import lexicon, sentiment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The agent was wonderful and fixed my problem in minutes!", "positive"),
        ("Terrible service, I am furious and want a refund.", "negative"),
        ("I ordered a blue shirt on Monday.", "neutral"),
        ("The delivery was not good.", "negative"),
        ("Not bad at all, actually.", "positive"),
        ("I love it :)", "positive"),
    ],
)
def test_clear_examples(text: str, expected: str) -> None:
    [analysis] = sentiment.lexical_analyses([text])
    assert analysis.sentiment == expected
    assert analysis.model == "lexicon"
    assert -1.0 <= analysis.score <= 1.0


def test_negation_flips_and_boosters_strengthen() -> None:
    good = lexicon.score("The app is good").compound
    assert lexicon.score("The app is not good").compound < 0 < good
    assert lexicon.score("The app is very good").compound > good
    assert lexicon.score("The app is GOOD, really").compound > lexicon.score("The app is good, really").compound


def test_but_shifts_the_weight_to_what_follows() -> None:
    assert lexicon.score("The staff were nice but the wait was awful").compound < 0
    assert lexicon.score("The wait was awful but the staff were lovely").compound > 0


def test_empty_and_odd_texts_are_neutral() -> None:
    for text in ("", "   ", "12345", "???"):
        assert lexicon.score(text).compound == 0.0
