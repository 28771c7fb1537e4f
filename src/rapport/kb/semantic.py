"""Semantic re-ranking of the lexical results (optional: `RAPPORT_KB_SEMANTIC`).

The stores' full-text search finds the candidates (kb/index.py); this module re-orders the best
`CANDIDATES` of them by meaning as well: the query and each article are embedded by the shared
sentence encoder (kernel/encoder.py), an article as the mean of its title and known questions (the
phrasings customers use), and the final score is

    (1 - WEIGHT) * lexical score / the best lexical score + WEIGHT * cosine(query, article)

WEIGHT is 0.5, fixed before measuring (not tuned on the figures bench/kb_search.py reports).
Article vectors are kept in memory per (article, version), so an edited article is embedded again.
A search never waits for more than `INLINE` articles to be embedded: with more candidates missing
(a server just started), it answers with the lexical ranking and a thread embeds every published
article meanwhile (`start_warming`); the next searches are hybrid.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rapport.kernel import encoder

CANDIDATES = 30
WEIGHT = 0.5
KNOWN_QUESTIONS = 20  # per article, embedded with its title: about 0.1 s an article on the 2-core box
INLINE = 2  # articles a search may embed while the customer waits
MAX_CACHED = 50_000  # article vectors kept (384 float32 each: 75 MB at most)

_lock = threading.Lock()
_vectors: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()


def texts_of(article: dict[str, Any]) -> list[str]:
    questions = [q for q in (article.get("known_questions") or []) if isinstance(q, str) and q.strip()]
    texts = [article["title"], *questions[:KNOWN_QUESTIONS]]
    if not questions:
        texts.append(str(article.get("body") or "")[:500])
    return texts


def _key(article: dict[str, Any]) -> tuple[int, int]:
    return int(article["id"]), int(article["version"])


def missing(articles: Sequence[dict[str, Any]]) -> int:
    with _lock:
        return sum(_key(a) not in _vectors for a in articles)


def vectors_of(articles: Sequence[dict[str, Any]]) -> np.ndarray:
    """One unit vector per article, from the cache or embedded now."""
    keys = [(int(a["id"]), int(a["version"])) for a in articles]
    with _lock:
        missing = [a for a, k in zip(articles, keys, strict=True) if k not in _vectors]
    if missing:
        texts = [texts_of(a) for a in missing]
        flat = encoder.encode([t for group in texts for t in group])
        start = 0
        made = {}
        for article, group in zip(missing, texts, strict=True):
            mean = flat[start : start + len(group)].mean(axis=0)
            start += len(group)
            made[(int(article["id"]), int(article["version"]))] = mean / (np.linalg.norm(mean) or 1.0)
        with _lock:
            _vectors.update(made)
            while len(_vectors) > MAX_CACHED:
                _vectors.popitem(last=False)
    with _lock:
        for k in keys:
            _vectors.move_to_end(k)
        return np.stack([_vectors[k] for k in keys]) if keys else np.zeros((0, encoder.DIMENSIONS), np.float32)


def rerank(
    query: str, found: Sequence[tuple[int, float]], articles: dict[int, dict[str, Any]]
) -> list[tuple[int, float]] | None:
    """The lexical results (best first, with their scores) re-ordered by the blended score; None when
    too many of them are still to be embedded (the caller keeps the lexical order)."""
    found = [(a, s) for a, s in found if a in articles]
    if len(found) < 2:
        return list(found)
    if missing([articles[a] for a, _ in found]) > INLINE:
        return None
    top = max(s for _, s in found) or 1.0
    vectors = vectors_of([articles[a] for a, _ in found])
    cosine = vectors @ encoder.encode([query])[0]
    blended = [
        (a, (1 - WEIGHT) * s / top + WEIGHT * float(c)) for (a, s), c in zip(found, cosine.tolist(), strict=True)
    ]
    return sorted(blended, key=lambda pair: (-pair[1], pair[0]))


def warm(articles: Sequence[dict[str, Any]], batch: int = 200) -> int:
    """Embed these articles ahead of the first search; how many were embedded."""
    for start in range(0, len(articles), batch):
        vectors_of(articles[start : start + batch])
    return len(articles)


_warming: threading.Thread | None = None


def start_warming(load: Callable[[], list[dict[str, Any]]]) -> bool:
    """Embed the articles `load` returns in a thread of its own, unless one is at it already."""
    global _warming
    with _lock:
        if _warming is not None and _warming.is_alive():
            return False
        _warming = threading.Thread(target=lambda: warm(load()), name="rapport-kb-semantic-warm", daemon=True)
        _warming.start()
        return True


def wait_warm(timeout: float | None = None) -> None:
    thread = _warming
    if thread is not None:
        thread.join(timeout)


def forget() -> None:
    with _lock:
        _vectors.clear()
