"""Next best action through its public interfaces: the action catalogue and policies over the staff
API, actions inside decisions (staff and `/v1/decide`), eligibility, applicability, suitability read
from service and survey events, the contact policy across channels (presentations and outbox sends),
suppression after a "no", arbitration's factors, outcomes through the Tracking API, roles and bad
input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from factories import basic_auth, eventually, profile_by, send_batch
from rapport.collect.consumer import consumer_offset
from rapport.collect.internal import record_event
from rapport.decide import contact
from rapport.decide.actions_store import action_stats, outcomes, presentations
from rapport.kernel.audit import audit_log


def caught_up(client, source, db, messages, *consumers: str) -> int:
    res = send_batch(client, source, messages)
    assert res.status_code == 200, res.text
    offset = res.json()["offset"]
    for name in consumers or ("profiles", "decide", "decide_outcomes"):
        assert eventually(lambda name=name: consumer_offset(db, name) >= offset)
    return offset


def grant(client, headers, pid: str, *purposes: str) -> None:
    client.put(f"/api/v1/profiles/{pid}/preferences", json={"personalization_level": "personal"}, headers=headers)
    for purpose in purposes:
        body = {"purpose": purpose, "channel": "any", "status": "granted", "source": "form"}
        assert client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=headers).status_code == 201


def action(client, headers, **fields: Any) -> dict[str, Any]:
    body = {"kind": "offer", "name": fields.get("id", "x"), "title": f"Title of {fields.get('id')}", **fields}
    res = client.post("/api/v1/actions", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def policy(client, headers, **fields: Any) -> dict[str, Any]:
    res = client.post("/api/v1/policies", json={"name": "p", **fields}, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def decide(client, headers, pid: str, **body: Any) -> dict[str, Any]:
    res = client.post(f"/api/v1/profiles/{pid}/decisions", json=body, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def shown(decision: dict[str, Any]) -> list[str]:
    return [a["id"] for a in decision["actions"]]


def why(decision: dict[str, Any], action_id: str) -> str:
    return next(h["why"] for h in decision["actions_held"] if h["id"] == action_id)


@pytest.fixture
def people(client, source, admin_headers, db):
    messages = [
        {"type": "identify", "userId": u, "anonymousId": f"anon-{u}", "traits": {"plan": plan, "lifecycle_stage": st}}
        for u, plan, st in (("ann", "gold", "customer"), ("bob", "silver", "lead"))
    ]
    caught_up(client, source, db, messages)
    return {u: profile_by(client, admin_headers, f"user_id:{u}")["id"] for u in ("ann", "bob")}


def test_do_nothing_is_always_there_and_an_action_comes_with_every_factor(client, source, admin_headers, people):
    assert shown(decide(client, admin_headers, people["ann"])) == ["do_nothing"]
    action(client, admin_headers, id="upgrade", value=50, lever=2, weights={"home": 1.5}, url="/upgrade")
    action(client, admin_headers, id="survey", kind="survey", lever=0)  # a zero lever never outranks doing nothing
    staff = decide(client, admin_headers, people["ann"])
    assert shown(staff) == ["upgrade", "do_nothing"]
    factors = staff["actions"][0]["factors"]
    assert factors["propensity"] == pytest.approx(0.1)  # the Beta(1, 9) prior of a new action
    assert (factors["value"], factors["lever"], factors["context_weight"]) == (50, 2, 1.5)
    assert factors["priority"] == pytest.approx(0.1 * 50 * 2 * 1.5)
    assert factors["propensity_from"] == {"prior_alpha": 1.0, "prior_beta": 9.0, "shown": 0, "accepted": 0}
    assert why(staff, "survey") == "outranked"
    visitor = client.post("/v1/decide", json={"anonymousId": "anon-ann"}, headers=basic_auth(source)).json()
    assert visitor["actions"][0] == {
        "id": "upgrade",
        "kind": "offer",
        "title": "Title of upgrade",
        "text": "",
        "url": "/upgrade",
    }
    log = client.get(f"/api/v1/profiles/{people['ann']}/decisions", headers=admin_headers).json()["items"]
    assert log[0]["actions"] == log[1]["actions"] == [{"id": "upgrade", "outcomes": []}]


def test_value_starts_from_the_items_price(client, source, admin_headers, db, people):
    item = {"product_id": "tv", "name": "TV", "price": 400}
    caught_up(client, source, db, [{"type": "track", "event": "Product Viewed", "userId": "bob", "properties": item}])
    action(client, admin_headers, id="tv-offer", item_id="tv")
    factors = decide(client, admin_headers, people["ann"])["actions"][0]["factors"]
    assert (factors["value"], factors["value_from"]) == (400, "the price of tv")


def test_eligibility_reads_the_profile_only_at_level_personal_and_offers_need_profiling(client, admin_headers, people):
    action(client, admin_headers, id="gold-offer")
    action(client, admin_headers, id="gold-help", kind="help")
    rules = {"all": [{"trait": "plan", "op": "eq", "value": "gold"}, {"stage": ["customer"]}]}
    policy(client, admin_headers, stage="eligibility", actions=["gold-offer", "gold-help"], rules=rules)
    ann = decide(client, admin_headers, people["ann"])
    assert shown(ann) == ["do_nothing"] and "reads the profile" in why(ann, "gold-offer")
    grant(client, admin_headers, people["ann"], "personalization")
    ann = decide(client, admin_headers, people["ann"])
    assert shown(ann) == ["gold-help", "do_nothing"]
    assert why(ann, "gold-offer") == "an offer built on the profile needs profiling consent"
    grant(client, admin_headers, people["ann"], "profiling")
    assert set(shown(decide(client, admin_headers, people["ann"]))) == {"gold-offer", "gold-help", "do_nothing"}
    grant(client, admin_headers, people["bob"], "personalization", "profiling")
    bob = decide(client, admin_headers, people["bob"])
    assert shown(bob) == ["do_nothing"] and why(bob, "gold-offer") == "not eligible under 'p': trait plan eq 'gold'"


def test_applicability_by_placement_channel_and_time(client, admin_headers, people):
    action(client, admin_headers, id="cart-offer")
    action(client, admin_headers, id="ended")
    policy(client, admin_headers, stage="applicability", actions=["cart-offer"], rules={"placements": ["cart"]})
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    policy(client, admin_headers, stage="applicability", actions=["ended"], rules={"ends_at": past})
    home = decide(client, admin_headers, people["ann"], placement="home")
    assert shown(home) == ["do_nothing"] and why(home, "cart-offer") == "not for placement home ('p')"
    assert why(home, "ended").startswith("ended ")
    assert shown(decide(client, admin_headers, people["ann"], placement="cart")) == ["cart-offer", "do_nothing"]
    policy(client, admin_headers, stage="applicability", actions=["cart-offer"], rules={"channels": ["mobile"]})
    assert shown(decide(client, admin_headers, people["ann"], placement="cart")) == ["do_nothing"]


def _case(db, pid: str, event: str, status: str, topic: str | None = None) -> None:
    properties = {"case_id": 7, "reference": "C-7", "channel": "email", "status": status, "priority": "normal"}
    with db.write() as conn:
        offset = record_event(conn, "service", event=event, profile_id=pid, properties={**properties, "topic": topic})
    assert eventually(lambda: consumer_offset(db, "profiles") >= offset)


def test_no_upsell_during_an_open_case_or_after_a_detractors_answer(client, backend, admin_headers, db, people):
    action(client, admin_headers, id="upsell")
    action(client, admin_headers, id="care", kind="service_action")
    _case(db, people["ann"], "Case Opened", "new", "billing")
    ann = decide(client, admin_headers, people["ann"])
    assert shown(ann) == ["care", "do_nothing"] and why(ann, "upsell") == "no upsell while case 7 is unsolved"
    assert shown(decide(client, admin_headers, people["bob"]))[0] == "upsell"  # only her case holds it back
    client.put("/api/v1/decide/settings", json={"complaint_topics": ["complaint"]}, headers=admin_headers)
    assert "upsell" in shown(decide(client, admin_headers, people["ann"]))  # billing is not a complaint now
    client.put("/api/v1/decide/settings", json={"complaint_topics": []}, headers=admin_headers)
    _case(db, people["ann"], "Case Solved", "solved", "billing")
    assert "upsell" in shown(decide(client, admin_headers, people["ann"]))

    def answer(user: str, metric: str, score: int, days: int = 0) -> None:
        when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        props = {"metric": metric, "score": score}
        message = {"type": "track", "event": "Survey Answered", "userId": user, "properties": props, "timestamp": when}
        caught_up(client, backend, db, [message], "profiles")

    answer("ann", "nps", 3, days=40)  # outside the 30-day window
    answer("ann", "nps", 9)
    answer("ann", "csat", 4)
    assert "upsell" in shown(decide(client, admin_headers, people["ann"]))
    answer("ann", "csat", 2)
    ann = decide(client, admin_headers, people["ann"])
    assert "upsell" not in shown(ann) and why(ann, "upsell").startswith("no upsell after a detractor's answer (csat 2")
    answer("bob", "nps", 6)
    assert "upsell" not in shown(decide(client, admin_headers, people["bob"]))


def test_never_an_offer_for_what_they_own(client, source, admin_headers, db, people):
    order = {"order_id": "o1", "products": [{"product_id": "tv", "name": "TV", "price": 400}]}
    caught_up(client, source, db, [{"type": "track", "event": "Order Completed", "userId": "ann", "properties": order}])
    action(client, admin_headers, id="tv-offer", item_id="tv")
    grant(client, admin_headers, people["ann"], "personalization")
    ann = decide(client, admin_headers, people["ann"])
    assert shown(ann) == ["do_nothing"] and why(ann, "tv-offer") == "they own tv"
    assert shown(decide(client, admin_headers, people["bob"])) == ["tv-offer", "do_nothing"]


def test_contact_policy_counts_presentations_per_channel(client, admin_headers, db, people):
    action(client, admin_headers, id="offer")
    limits = {"web": {"max": 2, "per_days": 1}, "mobile": {"max": 1, "per_days": 1}}
    assert (
        client.put("/api/v1/decide/settings", json={"contact_limits": limits}, headers=admin_headers).status_code == 200
    )
    for _ in range(2):
        assert shown(decide(client, admin_headers, people["ann"])) == ["offer", "do_nothing"]
    third = decide(client, admin_headers, people["ann"])
    assert shown(third) == ["do_nothing"]
    assert third["contact_policy"] == "contact policy: 2 web contacts in 1 days (max 2)"
    assert shown(decide(client, admin_headers, people["ann"], channel="mobile")) == ["offer", "do_nothing"]
    assert shown(decide(client, admin_headers, people["ann"], channel="mobile")) == ["do_nothing"]
    assert shown(decide(client, admin_headers, people["bob"])) == ["offer", "do_nothing"]  # per person
    # a preview on the Customer 360 counts nothing
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(presentations)).scalar() == 4


def test_contact_policy_counts_outbox_sends_and_honours_the_customers_caps_and_quiet_hours(
    client, backend, admin_headers, db, smtp, people
):
    caught_up(client, backend, db, [{"type": "identify", "userId": "ann", "traits": {"email": "ann@example.com"}}])
    pid = people["ann"]
    body = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "form"}
    client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=admin_headers)
    client.put(
        "/api/v1/decide/settings", json={"contact_limits": {"email": {"max": 1, "per_days": 7}}}, headers=admin_headers
    )

    def may(channel: str, **query: Any) -> dict[str, Any]:
        res = client.get(f"/api/v1/profiles/{pid}/contact", params={"channel": channel, **query}, headers=admin_headers)
        assert res.status_code == 200, res.text
        return res.json()

    assert may("email")["allowed"] is True
    sent = {"profile_id": pid, "purpose": "marketing", "subject": "Hello", "text": "News"}
    assert client.post("/api/v1/messages", json=sent, headers=admin_headers).json()["status"] == "queued"
    assert may("email") == {
        "profile_id": pid,
        "channel": "email",
        "allowed": False,
        "reason": "contact policy: 1 email contacts in 7 days (max 1)",
    }
    # the customer's own cap on web counts decide's presentations
    action(client, admin_headers, id="offer")
    prefs = {"frequency_caps": {"web": {"max": 1, "per_days": 1}}}
    assert client.put(f"/api/v1/profiles/{pid}/preferences", json=prefs, headers=admin_headers).status_code == 200
    assert shown(decide(client, admin_headers, pid)) == ["offer", "do_nothing"]
    capped = decide(client, admin_headers, pid)
    assert shown(capped) == ["do_nothing"] and capped["contact_policy"].startswith("the customer's frequency cap")
    # quiet hours keep outbound contact away, not a page the customer is on
    now = datetime.now(UTC)
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    client.put(
        f"/api/v1/profiles/{pid}/preferences",
        json={"quiet_hours": {**quiet, "timezone": "UTC"}, "frequency_caps": {}},
        headers=admin_headers,
    )
    assert may("sms")["reason"].startswith("the customer's quiet hours")
    assert may("web", inbound="true")["allowed"] is True
    with db.read() as conn:
        assert contact.check(conn, pid, "sms", now).allowed is False
        assert contact.check(conn, "0" * 32, "sms", now).reason == "no such profile (erased or never known)"


def _outcome(event: str, user: str, decision_id: str, action_id: str = "offer") -> dict[str, Any]:
    props = {"decision_id": decision_id, "action_id": action_id}
    return {"type": "track", "event": event, "userId": user, "properties": props}


def _stats(db) -> dict[str, Any]:
    with db.read() as conn:
        return {r.action_id: dict(r._mapping) for r in conn.execute(sa.select(action_stats))}


def test_outcomes_teach_propensity_and_a_no_suppresses_until_it_expires(client, source, admin_headers, db, people):
    action(client, admin_headers, id="offer", value=10)
    first = decide(client, admin_headers, people["ann"])
    caught_up(client, source, db, [_outcome("Offer Accepted", "ann", first["decision_id"])])
    caught_up(client, source, db, [_outcome("Offer Accepted", "ann", first["decision_id"])])  # counted once
    assert _stats(db)["offer"] | {"action_id": "offer"} == {
        "action_id": "offer",
        "shown": 1,
        "accepted": 1,
        "dismissed": 0,
        "not_interested": 0,
    }
    second = decide(client, admin_headers, people["ann"])
    assert second["actions"][0]["factors"]["propensity"] == pytest.approx(2 / 11)
    caught_up(client, source, db, [_outcome("Offer Not Interested", "ann", second["decision_id"])])
    held = decide(client, admin_headers, people["ann"])
    assert shown(held) == ["do_nothing"] and why(held, "offer").startswith("suppressed until ")
    log = client.get(f"/api/v1/profiles/{people['ann']}/decisions", headers=admin_headers).json()["items"]
    answered = {row["id"]: row["actions"] for row in log}
    assert answered[first["decision_id"]] == [{"id": "offer", "outcomes": ["accepted"]}]
    assert answered[second["decision_id"]] == [{"id": "offer", "outcomes": ["not_interested"]}]
    assert shown(decide(client, admin_headers, people["bob"]))[0] == "offer"  # her no is hers
    # expiry: the suppression lasts as long as the setting says
    days = {"suppress_days": {"not_interested": 0}}
    assert client.put("/api/v1/decide/settings", json=days, headers=admin_headers).status_code == 200
    assert shown(decide(client, admin_headers, people["ann"]))[0] == "offer"
    timeline = client.get(f"/api/v1/profiles/{people['ann']}/timeline", headers=admin_headers)
    assert timeline.status_code == 200, timeline.text
    names = [e.get("event") for e in timeline.json()["items"]]
    assert "Offer Not Interested" in names and "Offer Accepted" in names


def test_a_decision_id_of_another_person_counts_for_nothing(client, source, admin_headers, db, people):
    action(client, admin_headers, id="offer")
    ann = decide(client, admin_headers, people["ann"])
    caught_up(client, source, db, [_outcome("Offer Dismissed", "bob", ann["decision_id"])])
    caught_up(client, source, db, [_outcome("Offer Accepted", "ann", "f" * 32)])  # made up
    caught_up(client, source, db, [_outcome("Offer Accepted", "ann", ann["decision_id"], "not-shown")])
    assert _stats(db)["offer"]["accepted"] == 0 and _stats(db)["offer"]["dismissed"] == 0
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar() == 0
    assert shown(decide(client, admin_headers, people["ann"]))[0] == "offer"


def test_roles_and_audit(client, make_token, admin_headers, db, people):
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    marketer = {"Authorization": f"Bearer {make_token('marketer')}"}
    body = {"id": "a", "name": "A", "kind": "help", "title": "T"}
    for headers in (analyst, agent, {}):
        res = client.post("/api/v1/actions", json=body, headers=headers)
        assert res.status_code in (401, 403) and res.json()["code"], res.text
        assert client.put("/api/v1/decide/settings", json={}, headers=headers).status_code in (401, 403)
    assert client.post("/api/v1/actions", json=body, headers=marketer).status_code == 201
    assert client.patch("/api/v1/actions/a", json={"lever": 3}, headers=marketer).json()["lever"] == 3
    assert client.get("/api/v1/actions", headers=analyst).json()["items"][0]["id"] == "do_nothing"
    assert client.get("/api/v1/actions/a", headers=analyst).json()["stats"]["propensity"] == pytest.approx(0.1)
    p = client.post(
        "/api/v1/policies",
        json={"name": "n", "stage": "applicability", "rules": {"channels": ["web"]}},
        headers=marketer,
    ).json()
    assert client.get("/api/v1/policies", headers=analyst).json()["items"][0]["id"] == p["id"]
    assert client.patch(f"/api/v1/policies/{p['id']}", json={"enabled": False}, headers=analyst).status_code == 403
    assert (
        client.patch(f"/api/v1/policies/{p['id']}", json={"enabled": False}, headers=marketer).json()["enabled"]
        is False
    )
    assert client.delete(f"/api/v1/policies/{p['id']}", headers=marketer).status_code == 204
    assert client.delete("/api/v1/actions/a", headers=marketer).status_code == 204
    with db.read() as conn:
        done = [r.action for r in conn.execute(sa.select(audit_log).where(audit_log.c.action.like("decide.%")))]
    assert done == [
        "decide.action.created",
        "decide.action.updated",
        "decide.policy.created",
        "decide.policy.updated",
        "decide.policy.deleted",
        "decide.action.deleted",
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/actions", {"id": "Bad Id", "name": "n", "kind": "offer", "title": "t"}, 400),
        ("post", "/api/v1/actions", {"id": "a", "name": "n", "kind": "coupon", "title": "t"}, 400),
        ("post", "/api/v1/actions", {"id": "a", "name": "", "kind": "offer", "title": "t"}, 400),
        ("post", "/api/v1/actions", {"id": "a", "name": "n", "kind": "offer", "title": "t", "value": -1}, 400),
        ("post", "/api/v1/actions", {"id": "a", "name": "n", "kind": "offer", "title": "t", "lever": "x"}, 400),
        (
            "post",
            "/api/v1/actions",
            {"id": "a", "name": "n", "kind": "offer", "title": "t", "url": "javascript:x"},
            400,
        ),
        ("post", "/api/v1/actions", {"id": "a", "name": "n", "kind": "offer", "title": "t", "weights": [1]}, 400),
        (
            "post",
            "/api/v1/actions",
            {"id": "a", "name": "n", "kind": "offer", "title": "t", "prior": {"alpha": 0}},
            400,
        ),
        ("post", "/api/v1/actions", {"id": "a", "name": "n", "kind": "offer", "title": "t", "extra": 1}, 400),
        ("post", "/api/v1/actions", {"id": "do_nothing", "name": "n", "kind": "offer", "title": "t"}, 400),
        ("post", "/api/v1/actions", [1, 2], 400),
        ("post", "/api/v1/actions", "not json", 400),
        ("patch", "/api/v1/actions/missing", {"lever": 1}, 404),
        ("patch", "/api/v1/actions/do_nothing", {"lever": 1}, 400),
        ("delete", "/api/v1/actions/do_nothing", None, 400),
        ("delete", "/api/v1/actions/missing", None, 404),
        ("get", "/api/v1/actions/missing", None, 404),
        ("post", "/api/v1/policies", {"name": "n", "stage": "suitability", "rules": {}}, 400),
        ("post", "/api/v1/policies", {"name": "n", "stage": "eligibility", "rules": {"all": []}}, 400),
        ("post", "/api/v1/policies", {"name": "n", "stage": "eligibility", "rules": {"all": [{"x": 1}]}}, 400),
        (
            "post",
            "/api/v1/policies",
            {"name": "n", "stage": "eligibility", "rules": {"all": [{"trait": "a", "op": "gt", "value": "x"}]}},
            400,
        ),
        ("post", "/api/v1/policies", {"name": "n", "stage": "applicability", "rules": {"placements": ["moon"]}}, 400),
        ("post", "/api/v1/policies", {"name": "n", "stage": "applicability", "rules": {"ends_at": "soon"}}, 400),
        (
            "post",
            "/api/v1/policies",
            {"name": "n", "stage": "applicability", "actions": ["ghost"], "rules": {"channels": ["web"]}},
            400,
        ),
        ("get", "/api/v1/policies/0", None, 404),
        ("get", "/api/v1/policies/99999999999999999999999", None, 404),
        ("get", "/api/v1/policies/abc", None, 404),
        ("patch", "/api/v1/policies/5", {"enabled": False}, 404),
        ("delete", "/api/v1/policies/5", None, 404),
        ("put", "/api/v1/decide/settings", {"contact_limits": {"web": {"max": -1, "per_days": 1}}}, 400),
        ("put", "/api/v1/decide/settings", {"contact_limits": {"moon": {"max": 1, "per_days": 1}}}, 400),
        ("put", "/api/v1/decide/settings", {"suppress_days": {"maybe": 3}}, 400),
        ("put", "/api/v1/decide/settings", {"detractor_days": True}, 400),
        ("put", "/api/v1/decide/settings", {"colour": "red"}, 400),
        ("get", "/api/v1/profiles/nobody/contact", None, 404),
    ],
)
def test_bad_input_is_a_4xx_json_error(client, admin_headers, method, path, body, status):
    kwargs: dict[str, Any] = {"headers": admin_headers}
    if isinstance(body, str):
        kwargs["content"] = body
        kwargs["headers"] = {**admin_headers, "Content-Type": "application/json"}
    elif body is not None:
        kwargs["json"] = body
    res = getattr(client, method)(path, **kwargs)
    assert res.status_code == status, res.text
    assert res.json()["code"] and res.json()["message"]


def test_contact_endpoint_refuses_an_unknown_channel(client, admin_headers, people):
    res = client.get(f"/api/v1/profiles/{people['ann']}/contact", params={"channel": "pigeon"}, headers=admin_headers)
    assert res.status_code == 400 and res.json()["code"] == "invalid_channel"


def test_the_public_key_cannot_reach_the_staff_api(client, source):
    assert client.get("/api/v1/actions", headers=basic_auth(source)).status_code == 401
    assert client.post("/api/v1/actions", json={}, headers=basic_auth(source)).status_code == 401


def test_presentations_and_answers_are_exported_and_erased(client, source, admin_headers, db, people):
    action(client, admin_headers, id="offer")
    ann = decide(client, admin_headers, people["ann"])
    decide(client, admin_headers, people["bob"])
    caught_up(client, source, db, [_outcome("Offer Dismissed", "ann", ann["decision_id"])])
    doc = client.post(f"/api/v1/profiles/{people['ann']}/export", headers=admin_headers).json()["stores"]
    assert [r["action_id"] for r in doc["decide_presentations"]["rows"]] == ["offer"]
    assert [r["outcome"] for r in doc["decide_outcomes"]["rows"]] == ["dismissed"]
    receipt = client.post(f"/api/v1/profiles/{people['ann']}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["decide_presentations"]["rows"] == 1 and receipt["decide_outcomes"]["rows"] == 1
    with db.read() as conn:
        left = conn.execute(sa.select(presentations.c.profile_id)).scalars().all()
        assert left == [people["bob"]] and conn.execute(sa.select(outcomes)).first() is None
    assert _stats(db)["offer"]["dismissed"] == 1  # the counts name nobody and stay
