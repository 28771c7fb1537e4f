"""Topics without labels: a small corpus of three things customers write about, in varied words, is
split back into those three, each named by its own key terms; weekly counts and trends."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from rapport.texts import encoder, topics

DELIVERY = [
    "My parcel still has not arrived after {n} days.",
    "The courier never delivered my order, tracking says it is stuck.",
    "Delivery was late again, the package came {n} days after the promised date.",
    "Where is my parcel? The delivery tracking has not moved since {day}.",
    "The delivery driver left my package at the wrong address.",
    "Order shipped on {day} but the parcel is still not delivered.",
    "Late delivery, the courier missed the delivery slot twice.",
]
REFUND = [
    "I returned the jacket {n} days ago and still have no refund.",
    "When will I get my money back for the returned item?",
    "The refund for my cancelled order has not reached my card.",
    "I was charged twice and need a refund of the second payment.",
    "Please refund the return I sent on {day}, it has been weeks.",
    "Still waiting for the refund, the return label was used on {day}.",
    "You promised a refund within {n} days and nothing came back to my account.",
]
LOGIN = [
    "I cannot log in to the app, it says my password is wrong.",
    "The password reset email never arrives so I cannot sign in.",
    "App crashes every time I try to log in since the update on {day}.",
    "Login fails with an error after I enter the code.",
    "I am locked out of my account after {n} attempts to sign in.",
    "Two-factor code does not work and I cannot access my account.",
    "The app keeps logging me out and the password reset link is broken.",
]
DAYS = ["Monday", "Tuesday", "Friday"]


def corpus() -> tuple[list[str], list[str]]:
    texts, truth = [], []
    for name, templates in (("delivery", DELIVERY), ("refund", REFUND), ("login", LOGIN)):
        for template, (n, day) in itertools.product(templates, [(3, DAYS[0]), (5, DAYS[1]), (9, DAYS[2])]):
            texts.append(template.format(n=n, day=day))
            truth.append(name)
    return texts, truth


def test_three_themes_are_found_and_named_by_their_terms(minilm: Any) -> None:
    texts, truth = corpus()
    vectors = encoder.embed(texts)
    assert vectors is not None
    found = topics.cluster(texts, vectors, max_topics=8)
    # Each topic found is (almost) one theme, and each theme lives (mostly) in one topic.
    by_topic: dict[int, Counter[str]] = {}
    for label, theme in zip(found.labels, truth, strict=True):
        by_topic.setdefault(int(label), Counter())[theme] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_topic.values()) / len(texts)
    assert purity >= 0.9, by_topic
    main = {theme: max(by_topic, key=lambda t: by_topic[t][theme]) for theme in ("delivery", "refund", "login")}
    assert len(set(main.values())) == 3, by_topic
    words = {"delivery": {"delivery", "parcel", "courier"}, "refund": {"refund", "return", "money"}}
    words["login"] = {"log", "login", "password", "sign", "account"}
    for theme, topic in main.items():
        named = found.topics[topic]
        assert set(" ".join(named.terms).split()) & words[theme], (theme, named.terms)
        assert named.name == " · ".join(named.terms[:3])
    assert [t.size for t in found.topics] == sorted((t.size for t in found.topics), reverse=True)


def test_a_new_text_joins_the_nearest_topic_and_an_unrelated_one_none(minilm: Any) -> None:
    texts, _ = corpus()
    vectors = encoder.embed(texts)
    assert vectors is not None
    found = topics.cluster(texts, vectors, max_topics=8)
    centroids = np.vstack([t.centroid for t in found.topics])
    fresh = encoder.embed(["My refund has still not come through", "Photosynthesis happens in chloroplasts"])
    assert fresh is not None
    refund, unrelated = topics.nearest(centroids, fresh)
    assert refund is not None and "refund" in " ".join(found.topics[refund].terms)
    assert unrelated is None


def test_weekly_counts_and_trend() -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    times = [now - timedelta(days=d) for d in (1, 2, 3, 4, 8, 9, 15, 40, 200)]
    counts = topics.weekly(times, now, 8)
    assert counts == [0, 0, 1, 0, 0, 1, 2, 4]
    assert topics.trend([0, 0, 0, 1, 2, 3, 4, 6])[0] == "rising"
    assert topics.trend([6, 5, 4, 4, 1, 0, 1, 0])[0] == "falling"
    assert topics.trend([2, 2, 2, 2, 2, 2, 2, 2]) == ("steady", 1.0)


def test_too_few_texts_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="at least 4"):
        topics.cluster(["a", "b"], np.zeros((2, 384), dtype=np.float32))
