"""Hybrid knowledge-base search (RAPPORT_KB_SEMANTIC): the lexical candidates re-ranked by meaning with
the shared MiniLM encoder, never more or fewer of them; and a server that has not embedded its
articles yet answers lexically at once and embeds them meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.kb import semantic, service
from rapport.kb.model import Draft
from rapport.kernel import encoder

ARTICLES = [
    (
        "password-rules",
        "Password rules",
        "Forgot the password rules? Get back to this page: a password needs 12 characters, and an old password "
        "never comes back.",
    ),
    ("reset-password", "Reset a lost password", "Choose *Reset* on the sign-in page and follow the mail we send."),
    ("card-arrival", "When will my card arrive", "Cards are posted within two days."),
]
QUESTIONS = {
    "password-rules": ("what are the password rules",),
    "reset-password": ("I can't sign in to my account",),
    "card-arrival": ("my card has not come",),
}


@pytest.fixture(autouse=True)
def fresh_vectors():
    semantic.wait_warm()
    semantic.forget()
    yield
    semantic.wait_warm()
    semantic.forget()


@pytest.fixture
def kb(db) -> None:
    drafts = [(Draft(t, b, "help", "en", QUESTIONS[s]), s, "published") for s, t, b in ARTICLES]
    service.import_articles(db, drafts, actor="test")


def found(db, text: str, **kwargs: Any) -> list[str]:
    return [h.article["slug"] for h in service.search(db, text, log=False, **kwargs).hits]


def test_the_model_stack_is_installed_for_the_tests():
    assert encoder.available()  # CI installs rapport[ml]: nothing here may be skipped for its lack


def test_meaning_reorders_the_lexical_candidates_and_never_adds_or_drops_one(db, kb, monkeypatch):
    query = "I forgot my password, how do I get back in"
    lexical = found(db, query, semantic=False)
    assert set(lexical) == {"password-rules", "reset-password"}
    monkeypatch.setattr(semantic, "INLINE", 10)
    monkeypatch.setattr(semantic, "WEIGHT", 1.0)  # meaning alone decides the order
    assert found(db, query, semantic=True) == ["reset-password", "password-rules"]
    monkeypatch.setattr(semantic, "WEIGHT", 0.0)  # words alone: the lexical order
    assert found(db, query, semantic=True) == lexical
    assert found(db, "zebra crossing", semantic=True) == []


def test_a_cold_server_answers_lexically_and_embeds_every_article_meanwhile(db, kb, monkeypatch):
    monkeypatch.setattr(semantic, "INLINE", 0)
    monkeypatch.setattr(semantic, "WEIGHT", 1.0)
    query = "I forgot my password, how do I get back in"
    assert found(db, query, semantic=True) == found(db, query, semantic=False)  # nothing embedded yet
    semantic.wait_warm(timeout=120)
    assert semantic.missing(service.published_articles(db)) == 0
    assert found(db, query, semantic=True) == ["reset-password", "password-rules"]


def test_an_edited_article_is_embedded_again(db, kb, monkeypatch):
    monkeypatch.setattr(semantic, "INLINE", 10)
    [article] = [a for a in service.published_articles(db) if a["slug"] == "card-arrival"]
    before = semantic.vectors_of([article])[0]
    edited = {**article, "version": article["version"] + 1, "title": "Exchange rates abroad"}
    assert semantic.missing([edited]) == 1
    after = semantic.vectors_of([edited])[0]
    assert float(before @ after) < 0.95


def test_typing_and_the_default_setting_stay_lexical(db, kb):
    assert db.settings.kb_semantic is False
    service.search(db, "password", log=False)
    service.search(db, "passw", typing=True, semantic=None, log=False)
    assert semantic.missing(service.published_articles(db)) == 3  # nothing was embedded


def test_the_example_is_one_where_words_and_meaning_disagree(db, kb):
    # the property the tests above rest on: lexically the rules page wins (it says "password" most)
    assert found(db, "I forgot my password, how do I get back in", semantic=False)[0] == "password-rules"
