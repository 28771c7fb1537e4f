"""The experience that adapts to usage and asks first, through its public interfaces: usage events in
through the Tracking API, suggestions asked within the personalization level, answered and undone by
staff and by the customer in the portal, the layout returned to apps, export and erasure, and what a
stranger, another customer or a lesser role can do."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from factories import basic_auth, eventually, profile_by, send_batch
from rapport.collect.consumer import consumer_offset
from rapport.decide.suggest_service import answer_suggestion, suggestions_for
from rapport.decide.suggest_store import forget_population, suggestions, usage
from rapport.kernel.audit import audit_log
from rapport.kernel.clock import utcnow


def feature(user: str, name: str, anonymous_id: str | None = None) -> dict[str, Any]:
    message = {"type": "track", "event": "Feature Used", "userId": user, "properties": {"feature": name}}
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def withdrawal(user: str, amount: int) -> dict[str, Any]:
    return {"type": "track", "event": "Cash Withdrawn", "userId": user, "properties": {"amount": amount}}


def caught_up(client, source, db, messages) -> None:
    res = send_batch(client, source, messages)
    assert res.status_code == 200, res.text
    offset = res.json()["offset"]
    assert eventually(lambda: consumer_offset(db, "decide_usage") >= offset)
    assert eventually(lambda: consumer_offset(db, "profiles") >= offset)
    forget_population()


def personal(client, headers, pid: str) -> None:
    res = client.put(f"/api/v1/profiles/{pid}/preferences", json={"personalization_level": "personal"}, headers=headers)
    assert res.status_code == 200, res.text
    body = {"purpose": "personalization", "channel": "any", "status": "granted", "source": "form"}
    assert client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=headers).status_code == 201


def level(client, headers, pid: str, value: str) -> None:
    res = client.put(f"/api/v1/profiles/{pid}/preferences", json={"personalization_level": value}, headers=headers)
    assert res.status_code == 200, res.text


@pytest.fixture
def bank(client, source, admin_headers, db):
    """Ada uses share prices all the time, transfers now and then, never gift cards, and withdraws
    100 nearly every time; Bob uses gift cards, and withdraws other amounts."""
    messages = [feature("ada", "share prices", "anon-ada") for _ in range(18)]
    messages += [feature("ada", "transfers") for _ in range(4)]
    messages += [withdrawal("ada", 100) for _ in range(6)] + [withdrawal("ada", 50)]
    messages += [feature("bob", "gift cards") for _ in range(5)] + [feature("bob", "share prices")]
    messages += [withdrawal("bob", 20), withdrawal("bob", 40)]
    caught_up(client, source, db, messages)
    ada = profile_by(client, admin_headers, "user_id:ada")["id"]
    bob = profile_by(client, admin_headers, "user_id:bob")["id"]
    return {"ada": ada, "bob": bob}


def asked(client, headers, pid: str) -> dict[str, Any]:
    res = client.get(f"/api/v1/profiles/{pid}/suggestions", headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def by_kind(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in body["pending"]}


def answer(client, headers, sid: str, value: Any):
    return client.post(f"/api/v1/suggestions/{sid}/answer", json={"answer": value}, headers=headers)


def test_usage_gives_three_questions_in_plain_words_only_when_personal(client, admin_headers, bank, db):
    body = asked(client, admin_headers, bank["ada"])  # the default level, contextual: nothing is asked
    assert body["level"] == "contextual" and body["pending"] == [] and body["answered"] == []
    personal(client, admin_headers, bank["ada"])
    pending = by_kind(asked(client, admin_headers, bank["ada"]))
    assert set(pending) == {"pin", "hide", "default"}
    assert pending["pin"]["question"] == "We notice you use share prices often — move it to your home page?"
    assert pending["pin"]["evidence"]["uses"] == 18
    assert pending["hide"]["target"] == {"surface": "feature", "name": "gift cards"}
    assert (
        pending["default"]["question"]
        == "You usually choose 100 as the amount for Cash Withdrawn — make it your default?"
    )
    assert {s["status"] for s in pending.values()} == {"pending"}
    # Asking again asks the same questions, not new copies of them.
    again = by_kind(asked(client, admin_headers, bank["ada"]))
    assert {k: s["id"] for k, s in again.items()} == {k: s["id"] for k, s in pending.items()}
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(suggestions)).scalar() == 3


def test_only_a_yes_changes_the_layout_and_undo_takes_it_back(client, source, admin_headers, bank):
    personal(client, admin_headers, bank["ada"])
    pending = by_kind(asked(client, admin_headers, bank["ada"]))
    visitor = {"anonymousId": "anon-ada"}
    empty = {"home": [], "hidden": [], "defaults": []}
    assert client.post("/v1/decide", json=visitor, headers=basic_auth(source)).json()["experience"] == empty

    res = answer(client, admin_headers, pending["pin"]["id"], "yes")
    assert res.status_code == 200 and res.json()["status"] == "accepted", res.text
    assert answer(client, admin_headers, pending["hide"]["id"], "no").json()["status"] == "declined"
    layout = {"home": [{"surface": "feature", "name": "share prices"}], "hidden": [], "defaults": []}
    assert client.post("/v1/decide", json=visitor, headers=basic_auth(source)).json()["experience"] == layout
    staff = client.post(f"/api/v1/profiles/{bank['ada']}/decisions", json={}, headers=admin_headers).json()
    assert staff["experience"] == layout
    body = asked(client, admin_headers, bank["ada"])
    assert body["experience"] == layout
    assert [s["kind"] for s in body["pending"]] == ["default"]
    assert sorted(s["kind"] for s in body["answered"]) == ["hide", "pin"]

    undone = client.post(f"/api/v1/suggestions/{pending['pin']['id']}/undo", headers=admin_headers)
    assert undone.status_code == 200 and undone.json()["status"] == "pending"
    assert client.post("/v1/decide", json=visitor, headers=basic_auth(source)).json()["experience"] == empty
    undone = client.post(f"/api/v1/suggestions/{pending['hide']['id']}/undo", headers=admin_headers)
    assert undone.json()["status"] == "pending"
    assert set(by_kind(asked(client, admin_headers, bank["ada"]))) == {"pin", "hide", "default"}
    with client.app.state.db.read() as conn:  # type: ignore[attr-defined]
        actions = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.actor)
            .where(audit_log.c.action.like("suggestion.%"), audit_log.c.profile_id == bank["ada"])
            .order_by(audit_log.c.id)
        ).all()
    assert [a for a, _ in actions] == [
        "suggestion.accepted",
        "suggestion.declined",
        "suggestion.undone",
        "suggestion.undone",
    ]
    assert all(actor.startswith("staff:") for _, actor in actions)


def test_a_no_is_not_asked_again_within_the_configured_time(client, admin_headers, bank, db):
    personal(client, admin_headers, bank["ada"])
    pin = by_kind(asked(client, admin_headers, bank["ada"]))["pin"]
    quiet = dataclasses.replace(db, settings=db.settings.model_copy(update={"suggestion_ask_again_days": 7}))
    now = utcnow()
    said = answer_suggestion(quiet, pin["id"], "no", actor="test", now=now)
    assert said["ask_again_after"] == now + timedelta(days=7)
    for later in (now + timedelta(days=1), now + timedelta(days=6, hours=23)):
        body = suggestions_for(db, bank["ada"], now=later)
        assert "pin" not in {s["kind"] for s in body["pending"]}
        assert [s["status"] for s in body["answered"]] == ["declined"]
    body = suggestions_for(db, bank["ada"], now=now + timedelta(days=7, minutes=1))
    reopened = next(s for s in body["pending"] if s["kind"] == "pin")
    assert reopened["id"] == pin["id"] and reopened["answered_at"] is None
    # The API's own answer uses the server's setting (90 days by default).
    res = answer(client, admin_headers, pin["id"], "no").json()
    assert res["ask_again_after"] is not None and "2" in res["ask_again_after"]
    assert "pin" not in {s["kind"] for s in asked(client, admin_headers, bank["ada"])["pending"]}


def test_level_none_gets_no_suggestions_and_everyones_layout(client, source, admin_headers, bank):
    personal(client, admin_headers, bank["ada"])
    pin = by_kind(asked(client, admin_headers, bank["ada"]))["pin"]
    assert answer(client, admin_headers, pin["id"], "yes").status_code == 200
    level(client, admin_headers, bank["ada"], "none")
    body = asked(client, admin_headers, bank["ada"])
    assert body["level"] == "none" and body["pending"] == []
    assert body["experience"] == {"home": [], "hidden": [], "defaults": []}
    known = client.post("/v1/decide", json={"anonymousId": "anon-ada"}, headers=basic_auth(source)).json()
    stranger = client.post("/v1/decide", json={"anonymousId": "nobody"}, headers=basic_auth(source)).json()
    assert known["experience"] == stranger["experience"] and known["items"] == stranger["items"]
    # Contextual: no new questions from history, but the layout she chose applies.
    level(client, admin_headers, bank["ada"], "contextual")
    body = asked(client, admin_headers, bank["ada"])
    assert body["pending"] == [] and body["experience"]["home"] == [{"surface": "feature", "name": "share prices"}]


def test_export_and_erasure_cover_usage_answers_and_layout(client, admin_headers, bank, db):
    personal(client, admin_headers, bank["ada"])
    pending = by_kind(asked(client, admin_headers, bank["ada"]))
    answer(client, admin_headers, pending["pin"]["id"], "yes")
    export = client.post(f"/api/v1/profiles/{bank['ada']}/export", headers=admin_headers).json()
    used = export["stores"]["decide_usage"]["rows"]
    assert len(used) == 18 + 4 + 7 and {r["name"] for r in used} == {"share prices", "transfers", "Cash Withdrawn"}
    rows = {r["kind"]: r for r in export["stores"]["decide_suggestions"]["rows"]}
    assert rows["pin"]["status"] == "accepted" and rows["pin"]["target"]["name"] == "share prices"
    assert rows["hide"]["status"] == "pending"
    assert client.post(f"/api/v1/profiles/{bank['ada']}/erase", headers=admin_headers).status_code == 200
    with db.read() as conn:
        left = conn.execute(sa.select(suggestions.c.id).where(suggestions.c.profile_id == bank["ada"])).all()
        names = conn.execute(sa.select(usage.c.name).distinct()).scalars().all()
    assert left == [] and "transfers" not in names and "gift cards" in names  # Bob's stay
    assert client.get(f"/api/v1/profiles/{bank['ada']}/suggestions", headers=admin_headers).status_code == 404
    assert answer(client, admin_headers, pending["default"]["id"], "yes").status_code == 404


def test_roles_and_bad_input_are_clear_4xx(client, source, make_token, admin_headers, bank):
    personal(client, admin_headers, bank["ada"])
    pin = by_kind(asked(client, admin_headers, bank["ada"]))["pin"]
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    marketer = {"Authorization": f"Bearer {make_token('marketer')}"}
    assert client.get(f"/api/v1/profiles/{bank['ada']}/suggestions", headers=analyst).status_code == 200
    for lesser in (analyst, marketer):
        res = answer(client, lesser, pin["id"], "yes")
        assert (res.status_code, res.json()["code"]) == (403, "forbidden")
        assert client.post(f"/api/v1/suggestions/{pin['id']}/undo", headers=lesser).status_code == 403
    assert answer(client, {}, pin["id"], "yes").status_code == 401
    assert answer(client, basic_auth(source), pin["id"], "yes").status_code == 401  # a write key is no token
    for bad in ("maybe", "", None, 1, ["yes"]):
        res = answer(client, admin_headers, pin["id"], bad)
        assert res.status_code == 400 and set(res.json()) == {"code", "message"}, (bad, res.text)
    res = client.post(
        f"/api/v1/suggestions/{pin['id']}/answer", json={"answer": "yes", "extra": 1}, headers=admin_headers
    )
    assert res.status_code == 400
    res = client.post(
        f"/api/v1/suggestions/{pin['id']}/answer",
        content=b"{not json",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert res.status_code == 400 and res.json()["code"]
    for unknown in (uuid.uuid4().hex, "x" * 500, "../../etc", "0"):
        res = answer(client, admin_headers, unknown, "yes")
        assert (res.status_code, res.json()["code"]) == (404, "not_found"), unknown
    assert client.post(f"/api/v1/suggestions/{pin['id']}/undo", headers=admin_headers).status_code == 409
    assert answer(client, admin_headers, pin["id"], "yes").status_code == 200
    res = answer(client, admin_headers, pin["id"], "no")
    assert (res.status_code, res.json()["code"]) == (409, "already_answered")
    assert client.get("/api/v1/profiles/nobody/suggestions", headers=admin_headers).status_code == 404
    res = client.get(f"/api/v1/profiles/{bank['ada']}/suggestions?channel=fax", headers=admin_headers)
    assert res.status_code == 400 and res.json()["code"] == "invalid_channel"


def _portal(client, backend, admin_headers, user: str, pid: str) -> None:
    """Sign `user` in to the portal (their address asserted by a server source)."""
    res = send_batch(
        client, backend, [{"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com"}}]
    )
    offset = res.json()["offset"]
    assert eventually(lambda: consumer_offset(client.app.state.db, "profiles") >= offset)  # type: ignore[attr-defined]
    link = client.post(f"/api/v1/profiles/{pid}/portal-link", headers=admin_headers)
    assert link.status_code == 200, link.text
    client.cookies.clear()
    path = link.json()["url"].split("://", 1)[1].split("/", 1)[1]
    assert client.post(f"/{path}", follow_redirects=False).status_code == 303


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_the_portal_answers_only_the_customers_own(client, backend, admin_headers, bank, db):
    personal(client, admin_headers, bank["ada"])
    personal(client, admin_headers, bank["bob"])
    mine = by_kind(asked(client, admin_headers, bank["ada"]))
    bobs = asked(client, admin_headers, bank["bob"])["pending"]
    assert bobs, "Bob has a question of his own"
    _portal(client, backend, admin_headers, "ada", bank["ada"])
    page = client.get("/portal/suggestions")
    assert page.status_code == 200
    assert "We notice you use share prices often — move it to your home page?" in page.text
    assert "Why am I seeing this?" in page.text or "Nothing to recommend" in page.text
    assert not any(
        s["question"] in page.text for s in bobs if s["question"] not in {m["question"] for m in mine.values()}
    )
    csrf = _csrf(page.text)
    headers = {"Origin": str(client.base_url)}
    for other in [*(s["id"] for s in bobs), uuid.uuid4().hex, "nope", "%2e%2e"]:
        for action, data in (("answer", {"csrf": csrf, "answer": "yes"}), ("undo", {"csrf": csrf})):
            res = client.post(
                f"/portal/suggestions/{other}/{action}", data=data, headers=headers, follow_redirects=False
            )
            assert res.status_code == 404, (other, action, res.status_code)
    with db.read() as conn:
        statuses = conn.execute(
            sa.select(suggestions.c.status).where(suggestions.c.profile_id == bank["bob"])
        ).scalars()
        assert set(statuses) == {"pending"}
    # No CSRF token, or no answer: refused, nothing changes.
    res = client.post(f"/portal/suggestions/{mine['pin']['id']}/answer", data={"answer": "yes"}, headers=headers)
    assert 400 <= res.status_code < 500
    res = client.post(f"/portal/suggestions/{mine['pin']['id']}/answer", data={"csrf": csrf, "answer": "perhaps"})
    assert res.status_code == 400
    res = client.post(
        f"/portal/suggestions/{mine['pin']['id']}/answer",
        data={"csrf": csrf, "answer": "yes"},
        headers=headers,
        follow_redirects=False,
    )
    assert res.status_code == 303
    page = client.get("/portal/suggestions?done=yes")
    assert "On your home page: share prices" in page.text and "Undo" in page.text
    res = client.post(f"/portal/suggestions/{mine['pin']['id']}/undo", data={"csrf": csrf}, headers=headers)
    assert res.status_code == 200 and "Your answer is undone" in res.text
    with db.read() as conn:
        actor = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.channel).where(audit_log.c.action == "suggestion.accepted")
        ).one()
    assert tuple(actor) == (f"customer:{bank['ada']}", "portal")
    client.cookies.clear()
    assert client.get("/portal/suggestions", follow_redirects=False).status_code in (302, 303)
