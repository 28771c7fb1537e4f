"""What the words say through the staff API and the console: analyze (roles, bad input), texts
brought in from cases, topics rebuilt and shown, and the person's texts in export and erasure."""

from __future__ import annotations

from typing import Any

import pytest

from factories import basic_auth, profile_by, send_batch
from rapport.texts.service import rebuild_topics, sync_case_messages
from rapport.texts.store import text_analyses

ANALYZE = "/api/v1/voice/analyze"
TOPICS = "/api/v1/voice/topics"


@pytest.fixture(autouse=True)
def _model(minilm: Any) -> None:
    """One loaded encoder for the whole session (tests/unit/texts/conftest.py has the fixture)."""


@pytest.fixture
def ada(client, backend, admin_headers) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com"}}])
    return profile_by(client, admin_headers, "user_id:ada")["id"]


@pytest.fixture
def bob(client, backend, admin_headers) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": "bob", "traits": {"email": "bob@example.com"}}])
    return profile_by(client, admin_headers, "user_id:bob")["id"]


def headers(make_token, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(role)}"}


def open_case(client, hdrs, pid: str, text: str, channel: str = "chat") -> int:
    body = {"requester": {"profile_id": pid}, "subject": text[:40], "text": text, "channel": channel}
    res = client.post("/api/v1/cases", json=body, headers=hdrs)
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


@pytest.mark.parametrize("role", ["admin", "agent", "analyst", "marketer"])
def test_staff_who_serve_or_study_customers_get_sentiment_per_text(client, make_token, role):
    texts = ["Thank you, the agent was brilliant and solved it at once!", "Awful. Nobody answers.", "I live in Leeds."]
    res = client.post(ANALYZE, json={"texts": texts}, headers=headers(make_token, role))
    assert res.status_code == 200, res.text
    body = res.json()
    assert [r["sentiment"] for r in body["results"]] == ["positive", "negative", "neutral"]
    assert all(-1 <= r["score"] <= 1 and r["topics"] == [] for r in body["results"])
    assert body["model"] == "minilm+lexicon"


def test_strangers_write_keys_and_the_privacy_role_are_refused(client, make_token, source):
    body = {"texts": ["hello"]}
    assert client.post(ANALYZE, json=body).status_code == 401
    assert client.post(ANALYZE, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post(ANALYZE, json=body, headers=basic_auth(source)).status_code == 401
    refused = client.post(ANALYZE, json=body, headers=headers(make_token, "privacy"))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.get(TOPICS, headers=headers(make_token, "privacy")).status_code == 403
    assert client.get(TOPICS).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"texts": []},
        {"texts": "one text"},
        {"texts": [1, 2]},
        {"texts": [None]},
        {"texts": [["nested"]]},
        {"texts": ["x" * 5001]},
        {"texts": ["ok"] * 101},
        {"texts": ["a\u0000b"]},
        [],
        "texts",
    ],
)
def test_bad_bodies_are_4xx_json(client, admin_headers, body):
    res = client.post(ANALYZE, json=body, headers=admin_headers)
    assert 400 <= res.status_code < 500, res.text
    assert res.json()["code"]


def test_a_body_that_is_not_json_is_4xx(client, admin_headers):
    res = client.post(ANALYZE, content=b"{not json", headers=admin_headers | {"content-type": "application/json"})
    assert 400 <= res.status_code < 500 and res.json()["code"]


def test_the_limits_themselves_are_accepted(client, admin_headers):
    res = client.post(ANALYZE, json={"texts": ["x" * 5000] + ["ok"] * 99}, headers=admin_headers)
    assert res.status_code == 200 and len(res.json()["results"]) == 100


def test_case_messages_become_topics_shown_by_channel_and_sentiment(client, db, make_token, admin_headers, ada, bob):
    agent = headers(make_token, "agent")
    complaints = [
        "My parcel has not arrived and the courier tracking is stuck, terrible delivery.",
        "The delivery is late again, my package never came. Very disappointed.",
        "Courier left my parcel at the wrong address, awful delivery service.",
        "Where is my package? Delivery tracking has not moved for a week.",
    ]
    thanks = [
        "Thank you for the quick refund, the money is back on my card. Great service!",
        "Refund arrived within two days, really happy with how you handled my return.",
        "Lovely staff, my return and refund were sorted in minutes. Thanks!",
        "Got my money back for the returned shoes quickly, excellent.",
    ]
    for text in complaints:
        open_case(client, agent, ada, text, channel="social")
    for text in thanks:
        open_case(client, agent, bob, text, channel="chat")
    assert sync_case_messages(db) == 8
    assert sync_case_messages(db) == 0, "what is analysed is not analysed again"
    built = rebuild_topics(db, built_by="test", max_topics=4)
    assert built["texts"] == 8 and len(built["topics"]) >= 2

    view = client.get(TOPICS, headers=headers(make_token, "analyst")).json()
    by_channel = {r["key"]: r for r in view["by_channel"]}
    assert by_channel["social"]["negative"] >= 3 and by_channel["chat"]["positive"] >= 3
    names = " ".join(t["name"] + " " + " ".join(t["terms"]) for t in view["topics"])
    assert "delivery" in names or "parcel" in names
    assert "refund" in names or "money" in names
    assert sum(t["size"] for t in view["topics"]) == 8 and all(len(t["weekly"]) == 12 for t in view["topics"])

    # A new text sent to analyze joins the topic it is about.
    res = client.post(ANALYZE, json={"texts": ["My parcel delivery is late and the courier is lost"]}, headers=agent)
    [result] = res.json()["results"]
    assert result["topics"] and any(w in result["topics"][0] for w in ("delivery", "parcel", "courier"))

    # The console page: topics with their terms, charts drawn as SVG with their numbers in words.
    client.cookies.clear()
    signed = client.post("/console/sign-in", data={"token": make_token("analyst")}, follow_redirects=False)
    assert signed.status_code == 303
    page = client.get("/console/texts")
    assert page.status_code == 200 and "<svg" in page.text and "texts per week" in page.text
    assert "Sentiment and topics by channel" in page.text and "social" in page.text
    assert "negative," in page.text  # the counts in words, not colour alone


def test_their_texts_are_exported_and_erased_with_them(client, db, make_token, ada, bob):
    agent = headers(make_token, "agent")
    open_case(client, agent, ada, "The app keeps crashing when I pay, please fix it.")
    open_case(client, agent, bob, "Lovely shop, thank you.")
    assert sync_case_messages(db) == 2
    privacy = headers(make_token, "privacy")
    exported = client.post(f"/api/v1/profiles/{ada}/export", headers=privacy).json()["stores"]
    rows = exported["text_analyses"]["rows"]
    assert len(rows) == 1 and "crashing" in rows[0]["text"]
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=privacy).json()["receipt"]
    assert receipt["text_analyses"]["rows"] == 1
    with db.read() as conn:
        left = [r.text for r in conn.execute(text_analyses.select())]
    assert left == ["Lovely shop, thank you."]
