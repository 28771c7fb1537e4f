"""Sentiment scores: a linear head over MiniLM sentence embeddings and the lexical scores, or the
lexical model alone where the model stack is not installed.

The head (`data/sentiment_head.json`) is a ridge regression onto the human mean ratings of VADER's
ground truth, trained by `rapport texts train-sentiment` on some of its files only (the file says
which); bench/voice.py reports on the others. Its thresholds for the three classes were chosen on the
training files too.
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
LEXICAL_NEGATIVE_BELOW = -0.05  # VADER's published cut-offs for its compound score
LEXICAL_POSITIVE_ABOVE = 0.05


@dataclass(frozen=True)
class Head:
    name: str
    weights: np.ndarray  # embedding dims, then the lexical features
    bias: float
    negative_below: float
    positive_above: float
    trained_on: tuple[str, ...]


def lexical_features(scores: Sequence[lexicon.LexicalScore]) -> np.ndarray:
    return np.array([[s.compound, s.positive, s.negative, min(s.matched, 5) / 5] for s in scores], dtype=np.float32)


@cache
def head() -> Head | None:
    if not HEAD_FILE.exists():
        return None
    raw = json.loads(HEAD_FILE.read_text(encoding="utf-8"))
    return Head(
        name=raw["name"],
        weights=np.asarray(raw["weights"], dtype=np.float32),
        bias=float(raw["bias"]),
        negative_below=float(raw["negative_below"]),
        positive_above=float(raw["positive_above"]),
        trained_on=tuple(raw["trained_on"]),
    )


def features(texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    lexical = lexical_features([lexicon.score(t) for t in texts])
    return np.hstack([embeddings, lexical])


def predict(head_: Head, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    raw = features(texts, embeddings) @ head_.weights + head_.bias
    return np.clip(raw, -1.0, 1.0)


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
    if embeddings is None:
        return lexical_analyses(texts)
    scores = predict(head_, texts, embeddings)
    return [
        Analysis(
            sentiment=label(float(s), head_.negative_below, head_.positive_above),
            score=round(float(s), 4),
            model=head_.name,
        )
        for s in scores
    ]
