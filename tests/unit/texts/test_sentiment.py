"""The public functions: the learned model on clear examples, and the lexical fallback without torch."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.texts import encoder, sentiment
from rapport.texts.service import analyze, sentiment_of

CLEAR = [
    ("The agent was wonderful and fixed my problem in minutes!", "positive"),
    ("Absolutely love the new app, thank you so much.", "positive"),
    ("Terrible service. I waited two weeks and nobody helped me.", "negative"),
    ("This is the worst purchase I have ever made, it broke on day one.", "negative"),
    ("I ordered a blue shirt on Monday.", "neutral"),
    ("The store opens at nine.", "neutral"),
]


@pytest.mark.parametrize(("text", "expected"), CLEAR)
def test_the_learned_model_on_clear_examples(minilm: Any, text: str, expected: str) -> None:
    analysis = sentiment_of(text)
    assert analysis.model == sentiment.LEARNED
    assert analysis.sentiment == expected
    assert -1.0 <= analysis.score <= 1.0
    if expected == "positive":
        assert analysis.score > 0.3
    if expected == "negative":
        assert analysis.score < -0.3


def test_analyze_keeps_order_and_agrees_with_one_at_a_time(minilm: Any) -> None:
    texts = [t for t, _ in CLEAR]
    batch = analyze(texts)
    assert [a.sentiment for a in batch] == [e for _, e in CLEAR]
    assert batch[2] == sentiment_of(texts[2])
    assert analyze([]) == []


def test_without_the_model_stack_the_lexical_model_answers_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "_missing", "No module named 'torch'")
    answers = analyze(["I love this shop", "I hate waiting", "It is Tuesday"])
    assert [a.model for a in answers] == ["lexicon"] * 3
    assert [a.sentiment for a in answers] == ["positive", "negative", "neutral"]
    assert encoder.unavailable_reason() == "No module named 'torch'"


def test_the_encoder_loads_once_for_every_thread(minilm: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: encoder.encoder(), range(8)))
    assert all(m is minilm for m in models)


def test_accuracy_and_macro_f1_against_a_hand_computed_example() -> None:
    from rapport.texts.evaluate import evaluate

    truth = ["positive", "positive", "negative", "neutral", "negative"]
    guess = ["positive", "neutral", "negative", "neutral", "positive"]
    report = evaluate(truth, guess)
    # positive: tp 1, fp 1, fn 1 -> 0.5; negative: tp 1, fp 0, fn 1 -> 2/3; neutral: tp 1, fp 1, fn 0 -> 2/3
    assert report["accuracy"] == 0.6
    assert report["f1"] == {"negative": 0.6667, "neutral": 0.6667, "positive": 0.5}
    assert report["macro_f1"] == round((0.5 + 2 / 3 + 2 / 3) / 3, 4)
    with pytest.raises(ValueError):
        evaluate([], [])
