"""The dialogue's rules (assistant/model.py): each handoff, the clarifying question, failed turns."""

from __future__ import annotations

import pytest

from rapport.assistant import model
from rapport.assistant.model import Guess, State, decide

ARTICLES = frozenset({"card_arrival", "card_delivery_estimate", "change_pin"})


def sure(intent: str = "card_arrival", confidence: float = 0.9) -> Guess:
    return Guess(intent, confidence, "change_pin", 0.02, True, True)


FRESH = State()


def run(text: str, guess: Guess | None = None, state: State = FRESH, **kw) -> model.Decision:
    return decide(
        text,
        guess if guess is not None else sure(),
        state,
        negative=kw.pop("negative", False),
        has_article=ARTICLES,
        **kw,
    )


def test_a_sure_in_scope_question_is_answered_from_its_article():
    decision = run("where is my card")
    assert decision.action == "answer" and decision.intent == "card_arrival"


@pytest.mark.parametrize(
    "text", ["Can I talk to a human?", "agent please", "I want to speak to someone", "real person", "HUMAN"]
)
def test_asking_for_a_person_hands_off(text):
    assert run(text).reason == model.ASKED_FOR_PERSON


@pytest.mark.parametrize("text", ["Is there an agent fee on transfers?", "my card arrived for someone else's name"])
def test_naming_a_person_in_a_question_is_not_asking_for_one(text):
    assert run(text).action == "answer"


def test_out_of_scope_low_confidence_and_negative_hand_off():
    assert run("book a flight", Guess("card_arrival", 0.2, None, 0.0, False, False)).reason == model.OUT_OF_SCOPE
    assert run("card?", Guess("card_arrival", 0.3, "change_pin", 0.1, False, True)).reason == model.LOW_CONFIDENCE
    assert run("where is my card", negative=True).reason == model.NEGATIVE
    no_model = decide("hello", None, State(), negative=False, has_article=ARTICLES)
    assert no_model.reason == model.NO_MODEL


def test_two_failed_turns_hand_off():
    first = run("that didn't help")
    assert first.action == "retry" and first.failed_turns == 1
    second = run("no", state=State(failed_turns=1))
    assert second.action == "handoff" and second.reason == model.FAILED


def test_an_intent_without_a_published_article_is_a_failed_turn_never_an_answer():
    decision = run("top up failed", Guess("top_up_failed", 0.95, None, 0.0, True, True))
    assert decision.action == "retry" and decision.reason == "no_article"


def test_one_clarifying_question_when_the_two_best_are_close():
    close = Guess("card_arrival", 0.45, "card_delivery_estimate", 0.40, True, True)
    asked = run("card when", close)
    assert asked.action == "clarify" and asked.options == ("card_arrival", "card_delivery_estimate")
    # never a second question in a row: an unanswered clarification is a failed turn, or the best is answered
    state = State(model.CLARIFYING, 0, asked.options)
    assert run("card when", close, state).action == "answer"
    unsure = Guess("card_arrival", 0.2, "card_delivery_estimate", 0.19, False, True)
    assert run("hmm", unsure, state).reason == "clarification_unanswered"


def test_a_close_runner_up_without_an_article_is_no_reason_to_ask():
    close = Guess("card_arrival", 0.45, "top_up_failed", 0.40, True, True)
    assert run("card", close).action == "answer"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("1", "card_arrival"),
        ("2.", "card_delivery_estimate"),
        ("the second one", "card_delivery_estimate"),
        ("When your card will arrive", "card_arrival"),
        ("banana", None),
    ],
)
def test_the_answer_to_a_clarifying_question(answer, expected):
    options = ("card_arrival", "card_delivery_estimate")
    titles = ("When your card will arrive", "How long card delivery takes")
    assert model.chosen_option(answer, options, titles, None) == expected


@pytest.mark.parametrize(
    ("text", "code"), [("", "empty_message"), (" \n\t", "empty_message"), ("x" * 2001, "message_too_long")]
)
def test_messages_refused(text, code):
    with pytest.raises(model.MessageError) as refused:
        model.clean_message(text)
    assert refused.value.code == code


def test_messages_cleaned():
    assert model.clean_message("  where\n\nis   my\x00card ") == "where is my card"
    assert len(model.clean_message("x" * 2000)) == 2000
