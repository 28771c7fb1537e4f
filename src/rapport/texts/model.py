"""What an analysis of a text is: pure values, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rapport.kernel.rules import RuleError

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


MAX_TEXTS = 100  # texts one analyze request may carry
MAX_TEXT_CHARS = 5000  # characters of one text (a long mail is a few thousand)
SOURCES = ("case_message", "survey_answer", "chat", "social", "review", "other")


class TextError(RuleError):
    pass


@dataclass(frozen=True)
class TextItem:
    """A text a customer wrote, where and when, to be analysed and kept (rapport.texts.service.record_texts)."""

    source: str  # one of SOURCES
    source_ref: str  # its id in that source: one analysis per (source, source_ref)
    text: str
    channel: str  # email, chat, social, web, ... (the service desk's channels)
    touchpoint: str  # where in the relationship: "service desk", "after purchase", ...
    occurred_at: datetime
    profile_id: str | None = None  # the writer, where known
    case_id: int | None = None  # the case a message belongs to


def check_texts(texts: object) -> list[str]:
    """The texts of one analyze request, or a TextError saying what is wrong with them."""
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TextError("invalid_texts", "texts must be a list of strings")
    if not texts:
        raise TextError("no_texts", "send at least one text")
    if len(texts) > MAX_TEXTS:
        raise TextError("too_many_texts", f"send at most {MAX_TEXTS} texts at once")
    for i, text in enumerate(texts):
        if len(text) > MAX_TEXT_CHARS:
            raise TextError("text_too_long", f"text {i} is over {MAX_TEXT_CHARS} characters")
    return texts
