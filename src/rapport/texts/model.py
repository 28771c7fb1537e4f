"""What an analysis of a text is: pure values, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Analysis:
    sentiment: Sentiment
    score: float  # -1 (most negative) .. 1 (most positive)
    topics: list[str] = field(default_factory=list)  # names of the topics the text belongs to
    model: str = ""  # which model answered: "minilm+lexicon" or "lexicon"


def label(score: float, negative_below: float, positive_above: float) -> Sentiment:
    if score <= negative_below:
        return "negative"
    if score >= positive_above:
        return "positive"
    return "neutral"
