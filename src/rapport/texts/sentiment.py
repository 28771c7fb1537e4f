"""Sentiment scores: a linear head over MiniLM sentence embeddings and the lexical scores, or the
lexical model alone where the model stack is not installed.

The head (`data/sentiment_head.json`) is a logistic regression onto the three classes of VADER's
human-rated ground truth, trained by `rapport texts train-sentiment` on some of its files only (the
file says which); bench/voice.py reports on the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rapport.texts import encoder, lexicon
from rapport.texts.model import Analysis, label

HEAD_FILE = Path(__file__).parent / "data" / "sentiment_head.json"
LEXICAL = "lexicon"
LEARNED = "minilm+lexicon"
LEXICAL_NEGATIVE_BELOW = -0.05  # VADER's published cut-offs for its compound score
LEXICAL_POSITIVE_ABOVE = 0.05


@dataclass(frozen=True)
class Head:
    """A multinomial logistic regression over the lexical features and the text's closeness to anchor
    sentences: the label is the likeliest class, the score P(positive) - P(negative).

    The encoder enters only through the anchors, never as its 384 raw dimensions: a head over those
    learned the reviews' topics as much as their tone ("fixed my problem" came out negative, as
    product troubleshooting is in Amazon reviews), and customer service is a different domain.
    """

    name: str
    classes: tuple[str, ...]  # the order of the rows of coef
    coef: np.ndarray  # (3, features)
    intercept: np.ndarray  # (3,)
    trained_on: tuple[str, ...]
    anchors: dict[str, tuple[str, ...]]  # positive, negative, neutral sentences


# Plain customer-feedback sentences of each tone, written for this purpose (not taken from any data set).
ANCHORS: dict[str, tuple[str, ...]] = {
    "positive": (
        "I am very happy with this.",
        "Great service, thank you so much!",
        "They solved my problem quickly, excellent.",
        "I love it, it works perfectly.",
        "Friendly, helpful staff. Highly recommended.",
        "Best experience I have had, wonderful.",
    ),
    "negative": (
        "I am very unhappy with this.",
        "Terrible service, I am so angry.",
        "They never solved my problem, useless.",
        "I hate it, it does not work at all.",
        "Rude, unhelpful staff. Avoid.",
        "Worst experience I have had, awful.",
    ),
    "neutral": (
        "I ordered it on Monday.",
        "The store is on Main Street.",
        "My account number is in the email.",
        "The package contains two items.",
        "I called about my order.",
        "The meeting is at three.",
    ),
}


def lexical_features(texts: Sequence[str]) -> np.ndarray:
    rows = []
    for text in texts:
        s = lexicon.score(text)
        rows.append([s.compound, s.positive, s.negative, min(s.matched, 5) / 5, float(s.matched == 0), abs(s.compound)])
    return np.array(rows, dtype=np.float32).reshape(len(rows), 6)


@cache
def head() -> Head | None:
    if not HEAD_FILE.exists():
        return None
    raw = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    return Head(
        name=raw["name"],
        classes=tuple(raw["classes"]),
        coef=np.asarray(raw["coef"], dtype=np.float32),
        intercept=np.asarray(raw["intercept"], dtype=np.float32),
        trained_on=tuple(raw["trained_on"]),
        anchors={k: tuple(v) for k, v in raw["anchors"].items()},
    )


_anchor_vectors: dict[tuple[str, ...], np.ndarray] = {}


def anchor_features(anchors: dict[str, tuple[str, ...]], embeddings: np.ndarray) -> np.ndarray | None:
    """Closeness to the positive minus the negative anchors (mean and max), and to the neutral ones."""
    key = anchors["positive"] + anchors["negative"] + anchors["neutral"]
    if key not in _anchor_vectors:
        vectors = encoder.embed(key)
        if vectors is None:
            return None
        _anchor_vectors[key] = vectors
    sims = embeddings @ _anchor_vectors[key].T
    p, n = len(anchors["positive"]), len(anchors["negative"])
    pos, neg, neu = sims[:, :p], sims[:, p : p + n], sims[:, p + n :]
    return np.stack([pos.mean(1) - neg.mean(1), pos.max(1) - neg.max(1), neu.mean(1)], axis=1)


def features(texts: Sequence[str], embeddings: np.ndarray, anchors: dict[str, tuple[str, ...]]) -> np.ndarray | None:
    closeness = anchor_features(anchors, embeddings)
    if closeness is None:
        return None
    return np.hstack([lexical_features(texts), closeness])


def probabilities(head_: Head, x: np.ndarray) -> np.ndarray:
    logits = x @ head_.coef.T + head_.intercept
    logits -= logits.max(axis=1, keepdims=True)
    odds = np.exp(logits)
    return odds / odds.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def lexical_analyses(texts: Sequence[str]) -> list[Analysis]:
    out = []
    for text in texts:
        compound = lexicon.score(text).compound
        sentiment = label(compound, LEXICAL_NEGATIVE_BELOW, LEXICAL_POSITIVE_ABOVE)
        out.append(Analysis(sentiment=sentiment, score=round(compound, 4), model=LEXICAL))
    return out


def analyses(texts: Sequence[str], embeddings: np.ndarray | None = None) -> list[Analysis]:
    """Sentiment of each text by the best model this install has (the answer names it)."""
    head_ = head()
    if head_ is None:
        return lexical_analyses(texts)
    if embeddings is None:
        embeddings = encoder.embed(texts)
    x = None if embeddings is None else features(texts, embeddings, head_.anchors)
    if x is None:
        return lexical_analyses(texts)
    p = probabilities(head_, x)
    positive, negative = head_.classes.index("positive"), head_.classes.index("negative")
    return [
        Analysis(
            sentiment=head_.classes[int(row.argmax())],  # type: ignore[arg-type]
            score=round(float(row[positive] - row[negative]), 4),
            model=head_.name,
        )
        for row in p
    ]
