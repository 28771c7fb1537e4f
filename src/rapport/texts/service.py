"""What the words say: the public functions other contexts call.

`sentiment_of` and `analyze` need no database: the model loads lazily, once per process, and where
the model stack is not installed the lexical model answers (each Analysis names its model).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapport.texts import sentiment
from rapport.texts.model import Analysis


def analyze(texts: Sequence[str]) -> list[Analysis]:
    """Sentiment (and topics, where a topic model is given) of each text, in order."""
    texts = list(texts)
    if not texts:
        return []
    return sentiment.analyses(texts)


def sentiment_of(text: str) -> Analysis:
    return analyze([text])[0]
