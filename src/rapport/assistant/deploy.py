"""The deployed intent model: trained from Banking77 and the published articles' known questions
(`rapport assistant train`), kept in the configured data directory, and loaded once per process.

Calibration of the out-of-scope threshold reads CLINC150: its out-of-scope training examples are
the model's out-of-scope class, and its out-of-scope validation examples, beside a tenth of the
in-scope questions held out of training, choose the threshold.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import sqlalchemy as sa

from rapport.assistant import data, intents
from rapport.assistant.embed import EmbeddingCache
from rapport.assistant.intents import IntentModel
from rapport.db.engine import Database
from rapport.kb.store import kb_articles
from rapport.kernel.clock import utcnow
from rapport.settings import Settings

RECIPE = "minilm+tfidf-lr-2"  # changes when the recipe does: a model of another recipe is retrained


def model_dir(settings: Settings) -> Path:
    return settings.data_dir / "assistant"


def model_path(settings: Settings) -> Path:
    return model_dir(settings) / "intent-model.joblib"


def cache_for(settings: Settings) -> EmbeddingCache:
    return EmbeddingCache(model_dir(settings) / "embeddings.npz")


def known_questions(db: Database) -> list[data.Example]:
    """The published articles' known questions, each labelled with its article's slug."""
    query = sa.select(kb_articles.c.slug, kb_articles.c.known_questions).where(kb_articles.c.status == "published")
    with db.read() as conn:
        rows = conn.execute(query.order_by(kb_articles.c.id)).all()
    return [(" ".join(q.split()), slug) for slug, questions in rows for q in questions or () if q.strip()]


def fingerprint(examples: list[data.Example]) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for text, label in sorted(examples):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def train_deployed(
    db: Database, *, shared: Path | None = None, kind: str | None = None, say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Train on Banking77 and the knowledge base, calibrate on CLINC150, and replace the deployed model."""
    settings = db.settings
    note = say or (lambda _t: None)
    kb = known_questions(db)
    examples = list(dict.fromkeys(data.banking77(shared) + kb))
    clinc = data.clinc150(shared)
    kept, held = data.stratified_split(examples, 0.1, intents.SEED)
    cache = cache_for(settings) if (kind or intents.MINILM) == intents.MINILM else None
    model = intents.train(
        kept,
        clinc.out_of_scope("train"),
        calibration=(held, clinc.out_of_scope("val")),
        kind=kind,
        cache=cache,
        say=note,
    )
    if cache is not None:
        cache.save()
    model.meta |= {
        "recipe": RECIPE,
        "trained_at": utcnow().isoformat(),
        "knowledge_base_questions": len(kb),
        "fingerprint": fingerprint(examples),
    }
    save(model, model_path(settings))
    note(f"saved {model_path(settings)}")
    return model.meta


def save(model: IntentModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(model, partial)
    os.replace(partial, path)  # a process loading it sees the old model or the new, never half of one
    path.with_suffix(".json").write_text(json.dumps(model.meta, indent=2))


@dataclass
class Loaded:
    model: IntentModel | None = None
    stamp: tuple[int, int] | None = None
    training: dict[str, Any] = field(default_factory=dict)  # a background training in this process


_lock = threading.Lock()
_loaded: dict[Path, Loaded] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def deployed(settings: Settings) -> IntentModel | None:
    """The deployed model, loaded once per process (again only when the file was replaced)."""
    path = model_path(settings)
    stamp = _stamp(path)
    with _lock:
        slot = _loaded.setdefault(path, Loaded())
        if stamp is not None and stamp != slot.stamp:
            model = joblib.load(path)
            if model.kind == intents.MINILM:
                from rapport.assistant.embed import minilm_available

                if not minilm_available():  # trained where the model stack was, served where it is not
                    return slot.model
            slot.model, slot.stamp = model, stamp
        return slot.model


def training_state(settings: Settings) -> dict[str, Any]:
    with _lock:
        return dict(_loaded.setdefault(model_path(settings), Loaded()).training)


def train_in_background(db: Database, shared: Path | None = None, kind: str | None = None) -> threading.Thread:
    """Train in a thread of this process (the demo, after serving starts; the console's button)."""
    path = model_path(db.settings)

    def note(text: str) -> None:
        with _lock:
            _loaded.setdefault(path, Loaded()).training.update(step=text)

    def run() -> None:
        note("starting")
        try:
            meta = train_deployed(db, shared=shared, kind=kind, say=note)
            outcome = {"state": "done", "meta": meta}
        except Exception as exc:  # noqa: BLE001 - reported on the console page, not lost in a thread
            outcome = {"state": "failed", "error": f"{type(exc).__name__}: {exc}"}
        with _lock:
            _loaded.setdefault(path, Loaded()).training.update(outcome)

    with _lock:
        _loaded.setdefault(path, Loaded()).training = {"state": "running", "since": utcnow().isoformat()}
    thread = threading.Thread(target=run, name="rapport-assistant-training", daemon=True)
    thread.start()
    return thread
