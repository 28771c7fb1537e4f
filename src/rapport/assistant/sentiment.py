"""Whether a customer's message turns the conversation negative enough for a person to take it.

The sentiment is rapport.texts' (its learned head over MiniLM and the VADER lexicon, or the lexicon
alone without the model stack). Its "negative" alone is not enough: a quarter of Banking77's plain
questions read negative ("I lost my card", "my card was stolen": worried about the situation, not
unhappy with us). So the assistant hands off when the text is negative and either strongly so
(score at most STRONGLY_NEGATIVE: 1 in 300 Banking77 questions) or in words of frustration with the
service (`frustrated`: "useless", "ridiculous", "fed up" ...).
"""

from __future__ import annotations

import re

import numpy as np

from rapport.texts.model import Analysis
from rapport.texts.sentiment import analyses

STRONGLY_NEGATIVE = -0.85

_FRUSTRATED = re.compile(
    r"\b(useless|ridiculous|terrible|awful|horrible|appalling|disgusting|unacceptable|pathetic|rubbish|"
    r"worst|hate|hopeless|furious|angry|livid|outraged|scam|scammers|fed up|sick of|sick and tired|"
    r"waste of (my )?time|joke|incompetent|shocking|disgraceful|stupid|dumb|nobody (answers|helps|cares)|"
    r"not happy|unhappy|annoyed|frustrated|frustrating)\b",
    re.IGNORECASE,
)


def frustrated(text: str) -> bool:
    return bool(_FRUSTRATED.search(text))


def sentiment(text: str, embedding: np.ndarray | None = None) -> Analysis:
    """rapport.texts' sentiment of the text (sentiment_of), reusing the embedding already made."""
    return analyses([text], None if embedding is None else embedding[None, :])[0]


def turns_negative(analysis: Analysis, text: str) -> bool:
    return analysis.sentiment == "negative" and (analysis.score <= STRONGLY_NEGATIVE or frustrated(text))
