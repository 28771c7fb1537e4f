"""Topics found without labels: sentence embeddings clustered with k-means, each cluster named by the
terms that set it apart (class-based TF-IDF, as BERTopic does: a term's frequency in the cluster's
texts against how common it is across all clusters).

The number of topics is chosen by the silhouette of a sample, between a few and `max_topics`. Needs
scikit-learn (the `ml` extra). Pure: no storage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

MIN_SIMILARITY = 0.35  # a new text joins the nearest topic only if at least this close (cosine)
TERMS = 6
SAMPLE = 2000  # texts the silhouette of each candidate number of topics is measured on
SEED = 17


@dataclass(frozen=True)
class Topic:
    name: str
    terms: list[str]
    size: int
    centroid: np.ndarray  # unit length


@dataclass(frozen=True)
class Clustering:
    topics: list[Topic]
    labels: np.ndarray  # the topic of each text, by position in `topics`


def _candidates(n: int, max_topics: int) -> list[int]:
    top = max(2, min(max_topics, n // 5))
    low = min(3, top)
    steps = sorted({low, top, *np.linspace(low, top, num=8).round().astype(int).tolist()})
    return [k for k in steps if 2 <= k <= top]


def choose_k(embeddings: np.ndarray, max_topics: int) -> int:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(embeddings)
    rng = np.random.default_rng(SEED)
    sample = embeddings[rng.choice(n, size=min(n, SAMPLE), replace=False)]
    best_k, best = 2, -1.0
    for k in _candidates(len(sample), max_topics):
        labels = KMeans(n_clusters=k, n_init=2, random_state=SEED).fit_predict(sample)
        if len(set(labels)) < 2:
            continue
        quality = float(silhouette_score(sample, labels, metric="cosine"))
        if quality > best:
            best_k, best = k, quality
    return best_k


def key_terms(texts: Sequence[str], labels: np.ndarray, k: int, terms: int = TERMS) -> list[list[str]]:
    """The terms that set each cluster apart: class-based TF-IDF over words and two-word phrases."""
    from sklearn.feature_extraction.text import CountVectorizer

    min_df = 2 if len(texts) < 200 else 3  # a term one text uses (a name, an order number) names nothing
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=min_df, token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b"
    )
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no term left
        return [[] for _ in range(k)]
    vocabulary = vectorizer.get_feature_names_out()
    per_class = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in range(k)]).astype(float)
    tf = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1)
    average_words = per_class.sum() / k
    idf = np.log(1 + average_words / np.maximum(per_class.sum(axis=0), 1))
    weights = tf * idf
    out = []
    for c in range(k):
        chosen: list[str] = []
        for index in np.argsort(-weights[c]):
            if weights[c, index] <= 0 or len(chosen) == terms:
                break
            term = str(vocabulary[index])
            if any(term in other.split() or other in term.split() for other in chosen if " " in other or " " in term):
                continue  # "refund" beside "refund request" says nothing new
            chosen.append(term)
        out.append(chosen)
    return out


def name_of(terms: list[str], number: int) -> str:
    return " · ".join(terms[:3]) if terms else f"topic {number}"


def cluster(texts: Sequence[str], embeddings: np.ndarray, max_topics: int = 30) -> Clustering:
    """Topics of these texts (embeddings unit length, one row per text)."""
    from sklearn.cluster import KMeans

    if len(texts) < 4:
        raise ValueError("topics need at least 4 texts")
    k = choose_k(embeddings, max_topics)
    labels = KMeans(n_clusters=k, n_init=3, random_state=SEED).fit_predict(embeddings)
    names = key_terms(texts, labels, k)
    topics = []
    for c in range(k):
        members = embeddings[labels == c]
        centroid = members.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        topics.append(Topic(name=name_of(names[c], c + 1), terms=names[c], size=len(members), centroid=centroid))
    order = sorted(range(k), key=lambda c: -topics[c].size)  # biggest first
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(k)
    return Clustering(topics=[topics[c] for c in order], labels=remap[labels])


def nearest(centroids: np.ndarray, embeddings: np.ndarray) -> list[int | None]:
    """The nearest topic of each text, or None where none is close enough."""
    if len(centroids) == 0:
        return [None] * len(embeddings)
    sims = embeddings @ centroids.T
    best = sims.argmax(axis=1)
    return [int(b) if sims[i, b] >= MIN_SIMILARITY else None for i, b in enumerate(best)]


def weekly(times: Sequence[datetime], now: datetime, weeks: int) -> list[int]:
    """Counts per week, oldest first, the last ending now."""
    counts = [0] * weeks
    start = now - timedelta(weeks=weeks)
    for when in times:
        index = math.floor((when - start) / timedelta(weeks=1))
        if 0 <= index < weeks:
            counts[index] += 1
    return counts


def trend(counts: Sequence[int], window: int = 4) -> tuple[str, float]:
    """rising / falling / steady: the last `window` weeks against the `window` before."""
    recent, before = sum(counts[-window:]), sum(counts[-2 * window : -window])
    ratio = (recent + 1) / (before + 1)
    if ratio >= 1.25 and recent - before >= 3:
        return "rising", ratio
    if ratio <= 0.8 and before - recent >= 3:
        return "falling", ratio
    return "steady", ratio
