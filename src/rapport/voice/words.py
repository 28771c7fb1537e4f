"""What the words of a written answer say: its sentiment and topics, from the text analysis.

The one place voice reads text analysis, so the closed loop ("strongly negative text") and the
outer loop (topics that drive detraction) change together when it does. Until `rapport.texts`
(issue 17, section 3) is merged this is a small stand-in: a few words of each polarity and the
text's longest plain words as topics (docs/voice.md says which one runs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

WIRED = "stand-in lexicon"  # which analysis runs: shown on the topics page

_WORD = re.compile(r"[a-z][a-z']+")
_NEGATIVE = frozenset(
    [
        "awful",
        "terrible",
        "horrible",
        "worst",
        "bad",
        "broken",
        "useless",
        "rude",
        "slow",
        "late",
        "never",
        "refund",
        "angry",
        "hate",
        "disappointed",
        "disappointing",
        "poor",
        "waste",
        "wrong",
        "failed",
        "fails",
        "fail",
        "unacceptable",
        "disgusting",
        "cancel",
    ]
)
_POSITIVE = frozenset(
    [
        "great",
        "excellent",
        "love",
        "good",
        "fast",
        "helpful",
        "friendly",
        "perfect",
        "amazing",
        "happy",
        "easy",
        "best",
        "thanks",
    ]
)
_STOP = frozenset(
    [
        "the",
        "and",
        "that",
        "this",
        "with",
        "have",
        "was",
        "were",
        "for",
        "not",
        "but",
        "you",
        "your",
        "they",
        "them",
        "their",
        "from",
        "what",
        "when",
        "which",
        "would",
        "there",
        "been",
        "about",
        "very",
        "just",
        "into",
        "than",
        "then",
        "also",
        "only",
        "after",
        "before",
        "because",
        "could",
        "should",
        "again",
        "still",
    ]
)


@dataclass(frozen=True)
class Analysis:
    sentiment: str  # negative | neutral | positive
    score: float  # -1..1
    topics: list[str]


def sentiment_of(text: str) -> Analysis:
    words = _WORD.findall(text.lower())
    neg = sum(1 for w in words if w in _NEGATIVE)
    pos = sum(1 for w in words if w in _POSITIVE)
    score = 0.0 if not (neg or pos) else round((pos - neg) / (pos + neg), 3)
    label = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
    topics = sorted({w for w in words if len(w) >= 5 and w not in _STOP}, key=lambda w: (-len(w), w))[:3]
    return Analysis(label, score, topics)


def analyze(texts: Sequence[str]) -> list[Analysis]:
    return [sentiment_of(t) for t in texts]
