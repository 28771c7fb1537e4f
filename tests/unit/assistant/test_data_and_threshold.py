"""Reading intent data sets, the held-out splits, and the out-of-scope threshold's choice."""

from __future__ import annotations

import json

import pytest

from rapport.assistant import data, intents
from rapport.assistant.intents import Prediction, choose_threshold


def test_a_csv_and_a_clinc_file_are_read(tmp_path):
    csv_file = tmp_path / "q.csv"
    csv_file.write_text(
        'text,category\n"Where is my card?",card_arrival\nbook a flight,oos\n,empty\n', encoding="utf-8"
    )
    read = data.read_intent_file(csv_file)
    assert read.examples("all") == [("Where is my card?", "card_arrival")] and read.out_of_scope("all") == [
        "book a flight"
    ]
    layout = {"train": [["a b", "x"]], "val": [["c", "y"]], "oos_val": [["weather", "oos"]]}
    json_file = tmp_path / "c.json"
    json_file.write_text(json.dumps(layout))
    read = data.read_intent_file(json_file)
    assert read.examples("train") == [("a b", "x")] and read.out_of_scope("val") == ["weather"]
    assert read.evaluation_split() == "val"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("a.csv", "question,label\nx,y\n", "columns text and category"),
        ("a.json", "[1, 2]", "must be an object"),
        ("a.json", '{"train": [["only text"]]}', "[text, intent]"),
        ("a.json", "{not json", "not JSON"),
        ("a.csv", "text,category\n", "no examples"),
    ],
)
def test_unreadable_files_say_why(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(data.DataError, match=None) as refused:
        data.read_intent_file(path)
    assert says in str(refused.value)


def test_a_held_out_split_is_stratified_and_disjoint():
    examples = [(f"q{i} {label}", label) for label in ("a", "b") for i in range(20)]
    kept, held = data.stratified_split(examples, 0.2, 1)
    assert not set(kept) & set(held) and len(held) == 8
    assert {label for _, label in held} == {"a", "b"}
    assert data.stratified_split(examples, 0.2, 1) == (kept, held)  # the same every time


def test_banking77_names_become_slugs():
    assert data.intent_slug("Refund_not_showing_up") == "refund_not_showing_up"
    assert data.intent_slug("reverted_card_payment?") == "reverted_card_payment"


def p(intent: str, confidence: float, best_is_intent: bool = True) -> Prediction:
    return Prediction(intent, confidence, None, 0.0, best_is_intent, best_is_intent)


def test_the_threshold_rejects_most_out_of_scope_within_the_accuracy_it_may_cost():
    in_scope = [(p("a", c), "a") for c in (0.9, 0.8, 0.7, 0.6, 0.5)] * 20 + [(p("b", 0.3), "a")]
    oos = [p("a", 0.4), p("a", 0.35), p("a", 0.2), p("a", 0.9, best_is_intent=False)]
    threshold, figures = choose_threshold(in_scope, oos, tolerance=0.01)
    assert 0.4 < threshold <= 0.5  # all four out-of-scope rejected, no in-scope question lost
    assert figures == {"in_scope_accuracy": 100 / 101, "oos_recall": 1.0}
    threshold, _ = choose_threshold(in_scope, oos, tolerance=0.0)
    assert threshold <= 0.5


def test_the_model_is_fit_again_on_the_held_out_examples_and_keeps_their_threshold():
    """The threshold is chosen by a model that never saw the calibration examples; the shipped
    model is then fit on them too (lexical model: no encoder needed)."""
    examples = [(f"where is my card {n}", "card_arrival") for n in range(6)]
    examples += [(f"I want a refund {n}", "refund") for n in range(6)]
    oos = ["what is the weather", "play some jazz", "book a table"]
    calibration = (
        [("my parcel with the card is late", "card_arrival"), ("money back please", "refund")],
        ["tell me a joke"],
    )
    plain = intents.train(examples, oos, calibration=calibration, kind=intents.LEXICAL, refit=False)
    refit = intents.train(examples, oos, calibration=calibration, kind=intents.LEXICAL)
    assert refit.threshold == plain.threshold and refit.meta["refit"] and not plain.meta["refit"]
    assert (refit.meta["examples"], refit.meta["oos_examples"]) == (14, 4)
    words = refit.vectorizer.transformer_list[0][1].vocabulary_
    assert "parcel" in words and "joke" in words  # only the held-out examples say these
    assert "parcel" not in plain.vectorizer.transformer_list[0][1].vocabulary_
