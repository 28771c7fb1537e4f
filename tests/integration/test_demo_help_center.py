"""The demo's bank help center: 77 articles, one per Banking77 intent, slug = the intent's name,
Banking77's questions as known questions; the assistant's model reused when already trained on the
same questions (so a second `rapport demo` starts at once)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.console import Console

from assistant_model import require_shared_data, trained_model
from rapport.assistant import data, deploy
from rapport.demo.bank_help import start_help_center, train_assistant
from rapport.demo.bank_kb import ARTICLES
from rapport.kb import service as kb_service
from rapport.kb.store import list_articles
from rapport.settings import load_settings


@pytest.fixture
def settings(database_url, tmp_path):
    return load_settings(database_url=database_url, processor="off", data_dir=tmp_path / "data")


def test_the_bank_help_center_has_an_article_per_intent(db):
    require_shared_data()
    start_help_center(db, "key", Console(quiet=True))
    with db.read() as conn:
        articles = {a["slug"]: a for a in list_articles(conn, "published", limit=500)}
    intents = {label for _, label in data.banking77()}
    assert set(articles) == intents == set(ARTICLES) and len(articles) == 77
    arrival = articles["card_arrival"]
    assert arrival["title"] == "When your card will arrive"
    assert arrival["body"].startswith("Cards arrive within 5 working days") and "## Steps" in arrival["body"]
    assert "I am still waiting on my card?" in arrival["known_questions"]
    found = kb_service.search(db, "my card has not arrived yet", limit=3)
    assert "card_arrival" in [hit.article["slug"] for hit in found.hits]


def test_a_model_trained_on_the_same_questions_is_reused(db, settings):
    require_shared_data()
    start_help_center(db, "key", Console(quiet=True))
    examples = list(dict.fromkeys(data.banking77() + deploy.known_questions(db)))
    model = replace(trained_model(), meta={**trained_model().meta, "fingerprint": deploy.fingerprint(examples)})
    deploy.save(model, deploy.model_path(settings))
    started = train_assistant(db, Console(quiet=True))
    assert started.state == "reused" and started.thread is None
