"""What the words of a written answer say: its sentiment and topic, read by `rapport.texts`.

The one place voice reads text analysis, so the closed loop ("strongly negative text") and the
outer loop (topics that drive detraction) change together when it does. Topics come from the latest
topic build (`rapport texts`' k-means over MiniLM embeddings, named by key terms); until one exists,
an answer's own longest plain words stand in, and the topics page says so. Answers are also kept by
`rapport.texts` (`record_texts`, source `survey_answer`), so the next topic build learns from them
and the outer loop reads their topic as the build names it (voice/reads.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from rapport.db.engine import Database
from rapport.texts import service as texts
from rapport.texts.model import Analysis, TextItem

WIRED = "rapport.texts (sentiment model; topics of the latest topic build)"
SOURCE = "survey_answer"  # rapport.texts' name for where these texts come from
log = logging.getLogger("rapport.voice")
_WORD = re.compile(r"[a-z][a-z']+")
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

__all__ = ["WIRED", "Analysis", "analyses", "keep", "key_terms"]


def key_terms(text: str) -> list[str]:
    """A stand-in for topics before any topic build: the text's three longest plain words."""
    words = {w for w in _WORD.findall(text.lower()) if len(w) >= 5 and w not in _STOP}
    return sorted(words, key=lambda w: (-len(w), w))[:3]


def analyses(db: Database, written: Sequence[str]) -> list[Analysis]:
    """Sentiment and topic of each text, in order (the model runs outside any transaction)."""
    if not written:
        return []
    with db.read() as conn:
        model = texts.topic_model(conn)
    found = texts.analyze(list(written), model)
    if model is not None:
        return found
    return [replace(a, topics=key_terms(t)) for a, t in zip(found, written, strict=True)]


def source_ref(response_id: int, question_key: str) -> str:
    return f"{response_id}:{question_key}"


def keep(db: Database, items: Sequence[TextItem]) -> None:
    """Hand the answers to rapport.texts to keep (for topic builds); the answer stands if this fails."""
    try:
        texts.record_texts(db, list(items))
    except Exception:  # noqa: BLE001 - the answer is committed; a later topic build misses this text only
        log.exception("could not keep survey answers for topic building")
