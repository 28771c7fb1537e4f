"""Accuracy and macro-F1 of three-class sentiment, computed here (no scikit-learn needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rapport.texts.model import SENTIMENTS


def evaluate(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("need as many predictions as labels, and at least one")
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    f1 = {}
    for label in SENTIMENTS:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label != p for t, p in zip(truth, predicted, strict=True))
        f1[label] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    present = [label for label in SENTIMENTS if label in truth or label in predicted]
    return {
        "rows": len(truth),
        "accuracy": round(accuracy, 4),
        "macro_f1": round(sum(f1[label] for label in present) / len(present), 4),
        "f1": {label: round(f1[label], 4) for label in present},
    }
