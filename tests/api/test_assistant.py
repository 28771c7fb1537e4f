"""The assistant through its HTTP API, as a website's widget and staff use it: it answers from the
right published article, asks when two intents are close, hands off in each of the five cases to a
chat case carrying the transcript with the customer's wait counted from their first message, keeps
each visitor's conversation to that visitor, and answers bad input with 4xx JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant_model import publish_articles, trained_dir
from rapport.assistant.store import assistant_turns
from rapport.kernel.clock import utcnow
from rapport.settings import load_settings

VISITOR = "visitor-0001"


@pytest.fixture
def settings(database_url):
    return load_settings(
        database_url=database_url, processor="thread", sqlite_synchronous="NORMAL", data_dir=trained_dir()
    )


@pytest.fixture
def articles(db):
    return publish_articles(db)


@pytest.fixture
def agent_headers(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def say(client, source, text, conversation=None, visitor=VISITOR, **extra):
    body = {"text": text, "anonymousId": visitor, **extra}
    if conversation:
        body["conversationId"] = conversation
    return client.post("/v1/assistant/messages", json=body, headers={"X-Write-Key": source.write_key})


def chat(client, source, text, conversation=None, **extra) -> dict:
    res = say(client, source, text, conversation, **extra)
    assert res.status_code == 200, res.text
    return res.json()


def the_case(client, headers, reference: str) -> dict:
    found = client.get("/api/v1/cases", headers=headers).json()["items"]
    case_id = next(c["id"] for c in found if c["reference"] == reference)
    return client.get(f"/api/v1/cases/{case_id}", headers=headers).json()


def test_it_answers_from_the_matching_published_article_and_links_it(client, source, articles):
    reply = chat(client, source, "I ordered my card two weeks ago and it still hasn't arrived")
    assert reply["action"] == "answer" and reply["status"] == "assistant"
    assert reply["intent"] == "card_arrival" and reply["article"]["slug"] == "card_arrival"
    assert reply["article"]["id"] == articles["card_arrival"]["id"]
    assert reply["article"]["url"] == "/portal/help/articles/card_arrival"
    assert reply["text"] == "Cards arrive within 5 working days of ordering."
    again = chat(client, source, "someone stole my card, what do I do?", reply["conversation_id"])
    assert again["conversation_id"] == reply["conversation_id"]
    assert again["article"]["slug"] == "lost_or_stolen_card"


def test_an_unpublished_article_is_never_answered_from(client, source, db, admin_headers):
    made = publish_articles(db, ("lost_or_stolen_card", "exchange_rate"))
    client.post(
        f"/api/v1/kb/articles/{made['lost_or_stolen_card']['id']}/status",
        json={"action": "unpublish"},
        headers=admin_headers,
    )
    reply = chat(client, source, "someone stole my card, what do I do?")
    assert reply["action"] == "retry" and reply["article"] is None  # recognized, but nothing published to say
    assert "article" in reply["text"]


def _handoff(client, source, agent_headers, reply: dict, reason: str) -> dict:
    assert reply["action"] == "handoff" and reply["status"] == "handed_off", reply
    assert reply["handoff_reason"] == reason
    case = the_case(client, agent_headers, reply["case"]["reference"])
    assert case["channel"] == "chat" and "assistant" in case["tags"]
    return case


def test_asking_for_a_person_hands_off_with_the_transcript(client, source, articles, agent_headers):
    first = chat(client, source, "When will my new card get here?")
    reply = chat(client, source, "I'd like to talk to a real person please", first["conversation_id"])
    case = _handoff(client, source, agent_headers, reply, "asked_for_person")
    public = [(m["author_kind"], m["text"]) for m in case["messages"] if m["public"]]
    assert public[:3] == [
        ("customer", "When will my new card get here?"),
        ("assistant", "Cards arrive within 5 working days of ordering."),
        ("customer", "I'd like to talk to a real person please"),
    ]
    notes = [m["text"] for m in case["messages"] if not m["public"]]
    assert notes and "asked_for_person" in notes[0]  # the agent sees why


def test_out_of_scope_hands_off(client, source, articles, agent_headers):
    reply = chat(client, source, "what is the best pizza place near the station?")
    _handoff(client, source, agent_headers, reply, "out_of_scope")


def test_negative_sentiment_hands_off(client, source, articles, agent_headers):
    first = chat(client, source, "When will my card arrive?")
    reply = chat(client, source, "This is ridiculous, your service is useless", first["conversation_id"])
    _handoff(client, source, agent_headers, reply, "negative_sentiment")


def test_two_failed_turns_hand_off(client, source, articles, agent_headers):
    first = chat(client, source, "When will my card arrive?")
    second = chat(client, source, "that didn't help", first["conversation_id"])
    assert second["action"] == "retry" and second["status"] == "assistant"
    reply = chat(client, source, "no, that is not what I asked", first["conversation_id"])
    _handoff(client, source, agent_headers, reply, "failed_turns")


def test_low_confidence_hands_off(database_url, agent_headers, make_token):
    from fastapi.testclient import TestClient

    from rapport.app import create_app
    from rapport.collect.service import create_source
    from rapport.db.engine import open_database

    strict = load_settings(
        database_url=database_url,
        processor="thread",
        sqlite_synchronous="NORMAL",
        data_dir=trained_dir(threshold=1.5),  # the same model, but no confidence reaches its threshold
    )
    strict_db = open_database(strict)
    try:
        publish_articles(strict_db)
        site = create_source(strict_db, "strict-web", "web")
        with TestClient(create_app(strict, strict_db)) as strict_client:
            reply = chat(strict_client, site, "I ordered my card two weeks ago and it still hasn't arrived")
            assert reply["intent"] == "card_arrival"  # recognized, but not surely enough
            _handoff(strict_client, site, agent_headers, reply, "low_confidence")
    finally:
        strict_db.dispose()


def test_the_case_waits_from_the_first_message_and_the_conversation_continues_on_it(
    client, source, db, articles, agent_headers
):
    first = chat(client, source, "When will my card arrive?")
    ten_minutes_ago = utcnow() - timedelta(minutes=10)
    with db.write() as conn:  # the conversation began ten minutes ago
        conn.execute(assistant_turns.update().values(at=ten_minutes_ago))
    reply = chat(client, source, "can I speak to an agent", first["conversation_id"])
    case = _handoff(client, source, agent_headers, reply, "asked_for_person")
    opened = case["opened_at"]
    assert abs(_parse(opened) - ten_minutes_ago) < timedelta(seconds=1)
    assert abs(_parse(case["waiting_since"]) - ten_minutes_ago) < timedelta(seconds=1)
    clock = case["sla"]["clocks"]["first_response"]
    assert clock["state"] == "running" and clock["elapsed_s"] >= 600  # the assistant's answers stopped nothing

    # The customer keeps writing: it goes onto the case; the agent's reply comes back to the widget.
    more = chat(client, source, "It was ordered on the 3rd", first["conversation_id"])
    assert more["action"] == "relay" and more["case"]["reference"] == reply["case"]["reference"]
    case = the_case(client, agent_headers, reply["case"]["reference"])
    assert case["messages"][-1]["text"] == "It was ordered on the 3rd"
    res = client.post(f"/api/v1/cases/{case['id']}/messages", json={"text": "It ships today."}, headers=agent_headers)
    assert res.status_code == 201, res.text
    seen = client.get(
        f"/v1/assistant/conversations/{first['conversation_id']}",
        params={"anonymousId": VISITOR},
        headers={"X-Write-Key": source.write_key},
    ).json()
    assert seen["status"] == "handed_off" and seen["case"]["reference"] == reply["case"]["reference"]
    assert [m["author"] for m in seen["messages"]][-2:] == ["customer", "agent"]
    assert seen["messages"][-1]["text"] == "It ships today."


def _parse(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_another_visitor_never_gets_a_conversation(client, source, make_source, articles):
    mine = chat(client, source, "When will my card arrive?")
    token = mine["conversation_id"]
    other_site = make_source("web")
    tries = [
        ({"visitor": "visitor-0002"}, source),  # another browser on the same site
        ({}, other_site),  # the same anonymousId through another source's key
    ]
    for extra, via in tries:
        res = say(client, via, "what did I ask?", token, **extra)
        assert res.status_code == 404 and res.json()["code"] == "conversation_not_found"
        res = client.get(
            f"/v1/assistant/conversations/{token}",
            params={"anonymousId": extra.get("visitor", VISITOR)},
            headers={"X-Write-Key": via.write_key},
        )
        assert res.status_code == 404
    for guessed in ("1", "0", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 32, "../../etc"):
        assert say(client, source, "hello", guessed).status_code in (400, 404)
    # and the owner still has it, untouched
    res = client.get(
        f"/v1/assistant/conversations/{token}",
        params={"anonymousId": VISITOR},
        headers={"X-Write-Key": source.write_key},
    )
    assert res.status_code == 200 and len(res.json()["messages"]) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "", "anonymousId": VISITOR}, "empty_message"),
        ({"text": "   \n ", "anonymousId": VISITOR}, "empty_message"),
        ({"text": "a" * 2001, "anonymousId": VISITOR}, "message_too_long"),
        ({"text": "a" * 100_000, "anonymousId": VISITOR}, "invalid_request"),
        ({"text": "hi"}, "invalid_request"),
        ({"text": "hi", "anonymousId": ""}, "invalid_request"),
        ({"text": "hi", "anonymousId": "a\nb"}, "invalid_anonymous_id"),
        ({"text": "hi\x00", "anonymousId": VISITOR}, "invalid_request"),
        ({"text": 5, "anonymousId": VISITOR}, "invalid_request"),
        ({"text": "hi", "anonymousId": VISITOR, "conversationId": "x" * 33}, "invalid_request"),
    ],
)
def test_bad_input_is_a_4xx_json_error(client, source, body, code):
    res = client.post("/v1/assistant/messages", json=body, headers={"X-Write-Key": source.write_key})
    assert 400 <= res.status_code < 500 and res.json()["code"] == code, res.text


def test_a_write_key_is_needed(client, source):
    body = {"text": "hi", "anonymousId": VISITOR}
    assert client.post("/v1/assistant/messages", json=body).json()["code"] == "missing_write_key"
    res = client.post("/v1/assistant/messages", json=body, headers={"X-Write-Key": "nope"})
    assert res.status_code == 401 and res.json()["code"] == "invalid_write_key"
    res = client.post("/v1/assistant/messages", content=b"{not json", headers={"X-Write-Key": source.write_key})
    assert res.status_code == 400


def test_staff_classify(client, articles, agent_headers, make_token):
    res = client.post("/api/v1/assistant/classify", json={"text": "my card hasn't arrived yet"}, headers=agent_headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["intent"] == "card_arrival" and body["in_scope"] is True
    assert body["article_id"] == articles["card_arrival"]["id"] and 0 < body["confidence"] <= 1
    assert client.post("/api/v1/assistant/classify", json={"text": "hi"}).status_code == 401
    marketer = {"Authorization": f"Bearer {make_token('marketer')}"}
    assert client.post("/api/v1/assistant/classify", json={"text": "hi"}, headers=marketer).status_code == 403
    res = client.post("/api/v1/assistant/classify", json={"text": ""}, headers=agent_headers)
    assert res.status_code == 400 and res.json()["code"] == "empty_message"


def test_the_widget_is_served_and_on_the_help_center(client, source, database_url, db):
    res = client.get("/v1/assistant/widget.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert "aria-live" in res.text and "innerHTML" not in res.text
    assert client.get("/v1/assistant/widget.css").status_code == 200
    assert "widget.js" not in client.get("/portal/help").text  # no key configured: no widget

    from fastapi.testclient import TestClient

    from rapport.app import create_app

    with_chat = load_settings(
        database_url=database_url, processor="thread", help_chat_write_key=source.write_key, data_dir=trained_dir()
    )
    with TestClient(create_app(with_chat, db)) as site:
        page = site.get("/portal/help").text
        assert f'data-write-key="{source.write_key}"' in page and "/v1/assistant/widget.js" in page


def test_a_clarifying_question_when_two_intents_are_close(client, source, articles, monkeypatch):
    """The model's guess is set here (two PIN intents 0.46 / 0.41): what is tested is the dialogue."""
    from rapport.assistant import service
    from rapport.assistant.intents import Prediction

    class Torn:
        kind = "lexical"  # reads no embeddings

        def predict(self, text, _embedding=None):
            if text in ("2", "1"):
                return Prediction("exchange_rate", 0.3, "card_arrival", 0.2, False)
            return Prediction("change_pin", 0.46, "pin_blocked", 0.41, True)

    monkeypatch.setattr(service, "deployed", lambda _settings: Torn())
    reply = chat(client, source, "PIN")
    assert reply["action"] == "clarify" and reply["status"] == "clarifying"
    assert [o["intent"] for o in reply["options"]] == ["change_pin", "pin_blocked"]
    assert "Change your PIN" in reply["text"] and "My PIN is blocked" in reply["text"]
    picked = chat(client, source, "2", reply["conversation_id"])
    assert picked["action"] == "answer" and picked["article"]["slug"] == "pin_blocked"
    # after an answer, a new close call asks again (never twice in a row: see tests/unit/assistant)
    again = chat(client, source, "PIN", reply["conversation_id"])
    assert again["action"] == "clarify"
    chosen = chat(client, source, "whatever", again["conversation_id"], choice="change_pin")
    assert chosen["article"]["slug"] == "change_pin"


def test_her_conversations_are_in_her_export_and_gone_with_her_erasure(client, source, articles, admin_headers):
    from factories import eventually, profile_by, send_batch

    send_batch(client, source, [{"type": "page", "anonymousId": VISITOR, "name": "Help"}])
    other = chat(client, source, "When will my card arrive?", visitor="visitor-0002")
    mine = chat(client, source, "When will my card arrive?")
    chat(client, source, "I want to talk to a person", mine["conversation_id"])
    profile = eventually(lambda: profile_by(client, admin_headers, f"anonymous_id:{VISITOR}"))
    exported = client.post(f"/api/v1/profiles/{profile['id']}/export", headers=admin_headers).json()["stores"]
    assert len(exported["assistant_conversations"]["rows"]) == 1
    assert {r["text"] for r in exported["assistant_turns"]["rows"]} >= {"When will my card arrive?"}
    receipt = client.post(f"/api/v1/profiles/{profile['id']}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["assistant_conversations"]["rows"] == 1 and receipt["assistant_turns"]["rows"] == 4
    gone = client.get(
        f"/v1/assistant/conversations/{mine['conversation_id']}",
        params={"anonymousId": VISITOR},
        headers={"X-Write-Key": source.write_key},
    )
    assert gone.status_code == 404
    kept = client.get(
        f"/v1/assistant/conversations/{other['conversation_id']}",
        params={"anonymousId": "visitor-0002"},
        headers={"X-Write-Key": source.write_key},
    )
    assert kept.status_code == 200  # another visitor's stays
