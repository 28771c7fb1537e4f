"""Decide through its public interfaces: e-commerce events in through the Tracking API, ownership, the
model trained from the log, decisions for visitors (write key + anonymousId) and for staff, and
what a stranger with the public key, another customer or a lesser role can do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from factories import basic_auth, eventually, profile_by, send_batch
from rapport.collect.consumer import consumer_offset
from rapport.decide.store import decisions, item_events
from rapport.decide.training import train_model

ALBUMS = {
    "a1": ("Come On Over", "Country"),
    "a2": ("Spice", "Pop"),
    "a3": ("OK Computer", "Rock"),
    "a4": ("Sevens", "Country"),
    "a5": ("Kind of Blue", "Jazz"),
}
# Five shoppers make every pair the model learns a pattern of at least three people.
SHOPPERS = {"s1": "a1 a2 a3", "s2": "a1 a2 a3", "s3": "a1 a2 a4", "s4": "a1 a3 a4", "s5": "a2 a3 a4 a5"}


def order(user: str, items: str, order_id: str, anonymous_id: str | None = None, **extra: Any) -> dict[str, Any]:
    products = [{"product_id": i, "name": ALBUMS[i][0], "category": ALBUMS[i][1], "price": 10} for i in items.split()]
    message = {
        "type": "track",
        "event": "Order Completed",
        "userId": user,
        "properties": {"order_id": order_id, "products": products},
        **extra,
    }
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def caught_up(client, source, db, messages) -> int:
    res = send_batch(client, source, messages)
    assert res.status_code == 200, res.text
    offset = res.json()["offset"]
    assert eventually(lambda: consumer_offset(db, "decide") >= offset)
    return offset


def personal(client, headers, pid: str) -> None:
    client.put(f"/api/v1/profiles/{pid}/preferences", json={"personalization_level": "personal"}, headers=headers)
    body = {"purpose": "personalization", "channel": "any", "status": "granted", "source": "form"}
    assert client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=headers).status_code == 201


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.fixture
def shop(client, source, admin_headers, db):
    """Purchases of two days ago: before the current visit."""
    when = days_ago(2)
    messages = [order(u, items, f"o-{u}", timestamp=when) for u, items in SHOPPERS.items()]
    messages += [
        order("ada", "a1", "o-ada", anonymous_id="anon-ada", timestamp=when),
        order("bob", "a4", "o-bob", timestamp=when),
    ]
    caught_up(client, source, db, messages)
    ada = profile_by(client, admin_headers, "user_id:ada")["id"]
    bob = profile_by(client, admin_headers, "user_id:bob")["id"]
    assert train_model(db) is not None
    return {"ada": ada, "bob": bob}


def staff_decide(client, headers, pid: str, **body: Any):
    return client.post(f"/api/v1/profiles/{pid}/decisions", json=body, headers=headers)


def test_what_was_bought_on_any_channel_is_owned_until_refunded(client, source, make_source, admin_headers, db):
    store = make_source("store")
    caught_up(client, source, db, [order("cy", "a1 a2", "o-web", anonymous_id="anon-cy")])
    caught_up(client, store, db, [order("cy", "a3", "o-store")])
    pid = profile_by(client, admin_headers, "user_id:cy")["id"]
    owned = client.get(f"/api/v1/profiles/{pid}/owned", headers=admin_headers).json()["items"]
    assert sorted(o["id"] for o in owned) == ["a1", "a2", "a3"]
    refund = {"type": "track", "event": "Order Refunded", "userId": "cy", "properties": {"order_id": "o-web"}}
    caught_up(client, source, db, [refund])
    profile_by(client, admin_headers, "user_id:cy")
    owned = client.get(f"/api/v1/profiles/{pid}/owned", headers=admin_headers).json()["items"]
    assert [(o["id"], o["name"]) for o in owned] == [("a3", "OK Computer")]


def test_personal_recommendations_never_push_what_they_own_and_say_why(client, admin_headers, shop):
    personal(client, admin_headers, shop["ada"])
    res = staff_decide(client, admin_headers, shop["ada"], placement="home", limit=5)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["level"] == "personal" and body["model_version"]
    ids = [i["id"] for i in body["items"]]
    assert "a1" not in ids  # a durable she owns
    first = body["items"][0]
    assert first["reason"] == "because you bought Come On Over"
    assert set(first["factors"]) == {"collaborative", "buy_again", "popularity"}
    log = client.get(f"/api/v1/profiles/{shop['ada']}/decisions", headers=admin_headers).json()["items"]
    assert log[0]["id"] == body["decision_id"] and log[0]["model_version"] == body["model_version"]


def test_explanations_name_only_the_customers_own_data(client, admin_headers, shop):
    personal(client, admin_headers, shop["ada"])
    personal(client, admin_headers, shop["bob"])
    names = {pid: name for pid, name in ((shop["ada"], "Come On Over"), (shop["bob"], "Sevens"))}
    for pid, own in names.items():
        other = next(n for p, n in names.items() if p != pid)
        items = staff_decide(client, admin_headers, pid, limit=10).json()["items"]
        assert items
        for item in items:
            reason = item["reason"]
            assert other not in reason, (pid, reason)
            assert reason in (f"because you bought {own}", "popular with our customers") or reason.startswith(
                "popular in "
            ), reason


def test_level_none_gets_exactly_what_an_unknown_visitor_gets(client, source, admin_headers, db, shop):
    client.put(
        f"/api/v1/profiles/{shop['ada']}/preferences", json={"personalization_level": "none"}, headers=admin_headers
    )
    known = client.post("/v1/decide", json={"anonymousId": "anon-ada", "placement": "home"}, headers=basic_auth(source))
    stranger = client.post(
        "/v1/decide", json={"anonymousId": "never-seen", "placement": "home"}, headers=basic_auth(source)
    )
    assert known.status_code == stranger.status_code == 200
    assert known.json()["items"] == stranger.json()["items"]
    assert known.json()["decision_id"] != stranger.json()["decision_id"]
    staff = staff_decide(client, admin_headers, shop["ada"]).json()
    assert staff["level"] == "none" and [i["id"] for i in staff["items"]] == [i["id"] for i in known.json()["items"]]


def test_personal_without_consent_falls_back_to_the_current_visit(client, source, admin_headers, db, shop):
    client.put(
        f"/api/v1/profiles/{shop['ada']}/preferences", json={"personalization_level": "personal"}, headers=admin_headers
    )
    body = staff_decide(client, admin_headers, shop["ada"]).json()
    assert body["level"] == "contextual"
    assert "no personalization consent" in body["level_reason"] and "current visit" in body["level_reason"]
    assert all("Come On Over" not in i["reason"] for i in body["items"])  # her history was not read


def test_a_visitor_gets_the_decision_and_nothing_of_the_profile(client, source, admin_headers, db, shop):
    personal(client, admin_headers, shop["ada"])
    res = client.post(
        "/v1/decide", json={"anonymousId": "anon-ada", "placement": "home", "limit": 3}, headers=basic_auth(source)
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == {"decision_id", "items", "actions", "experience"}  # experience: the layout they chose
    assert body["items"] and all(set(i) <= {"id", "kind", "title", "reason", "url", "price"} for i in body["items"])
    assert "a1" not in [i["id"] for i in body["items"]]
    assert shop["ada"] not in res.text


def test_an_anonymous_id_another_source_first_saw_is_a_stranger(client, source, make_source, admin_headers, db, shop):
    personal(client, admin_headers, shop["ada"])
    other_site = make_source("web")
    mine = client.post("/v1/decide", json={"anonymousId": "anon-ada"}, headers=basic_auth(other_site)).json()
    stranger = client.post("/v1/decide", json={"anonymousId": "nobody"}, headers=basic_auth(other_site)).json()
    assert mine["items"] == stranger["items"]
    assert all("Come On Over" not in i["reason"] for i in mine["items"])


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"anonymousId": "x", "placement": "moon"}, 400, "invalid_placement"),
        ({"anonymousId": "x", "limit": 10_000}, 400, "invalid_request"),
        ({"anonymousId": "x", "limit": "ten"}, 400, "invalid_request"),
        ({"anonymousId": ""}, 400, "invalid_request"),
        ({"anonymousId": "x" * 500}, 400, "invalid_request"),
        ({"userId": "ada"}, 400, "invalid_request"),
        ({"anonymousId": "x", "channel": "carrier-pigeon"}, 400, "invalid_channel"),
        ({"anonymousId": "x", "context": "product"}, 400, "invalid_request"),
        ({"anonymousId": "x\u0000"}, 400, "invalid_request"),
        ([1, 2], 400, "invalid_request"),
    ],
)
def test_bad_visitor_input_is_a_clear_4xx(client, source, body, status, code):
    res = client.post("/v1/decide", json=body, headers=basic_auth(source))
    assert (res.status_code, res.json()["code"]) == (status, code), res.text


def test_visitor_decisions_need_a_write_key(client, source):
    assert client.post("/v1/decide", json={"anonymousId": "x"}).status_code == 401
    res = client.post("/v1/decide", json={"anonymousId": "x"}, headers={"X-Write-Key": "wrong"})
    assert (res.status_code, res.json()["code"]) == (401, "invalid_write_key")
    res = client.post(
        "/v1/decide", content=b"{not json", headers={**basic_auth(source), "Content-Type": "application/json"}
    )
    assert res.status_code == 400 and res.json()["code"] == "invalid_request"


def test_staff_roles_and_bad_input(client, make_token, admin_headers, shop):
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    marketer = {"Authorization": f"Bearer {make_token('marketer')}"}
    res = staff_decide(client, analyst, shop["ada"])
    assert (res.status_code, res.json()["code"]) == (403, "forbidden")
    assert client.get(f"/api/v1/profiles/{shop['ada']}/decisions", headers=analyst).status_code == 200
    assert staff_decide(client, marketer, shop["ada"]).status_code == 200
    assert staff_decide(client, admin_headers, "no-such-profile").status_code == 404
    assert client.post(f"/api/v1/profiles/{shop['ada']}/decisions").status_code == 401
    for body in ({"placement": "moon"}, {"limit": 0}, {"limit": 51}, {"channel": "fax"}, {"surprise": 1}):
        res = staff_decide(client, admin_headers, shop["ada"], **body)
        assert res.status_code == 400 and set(res.json()) == {"code", "message"}, (body, res.text)
    assert client.get(f"/api/v1/profiles/{shop['ada']}/decisions?limit=0", headers=admin_headers).status_code == 400


def test_after_a_purchase_help_with_it_comes_first(client, source, admin_headers, db, shop, tmp_path):
    from rapport.decide.service import import_catalog

    import_catalog(
        db,
        [
            (
                2,
                {
                    "id": "a1",
                    "name": "Come On Over",
                    "category": "Country",
                    "help": "Play it loud|https://help.example/a1",
                },
            )
        ],
    )
    personal(client, admin_headers, shop["ada"])
    items = staff_decide(client, admin_headers, shop["ada"], placement="post_purchase").json()["items"]
    assert items[0] == {
        "id": "a1",
        "kind": "help",
        "title": "Play it loud",
        "url": "https://help.example/a1",
        "reason": "help for your Come On Over",
        "reason_code": "help",
    }
    assert all(i["id"] != "a1" or i["kind"] == "help" for i in items)


def test_dismissed_items_stay_away(client, source, admin_headers, db, shop):
    personal(client, admin_headers, shop["ada"])
    first = staff_decide(client, admin_headers, shop["ada"]).json()["items"][0]["id"]
    dismiss = {
        "type": "track",
        "event": "Recommendation Dismissed",
        "userId": "ada",
        "properties": {"product_id": first},
    }
    caught_up(client, source, db, [dismiss])
    profile_by(client, admin_headers, "user_id:ada")
    assert first not in [i["id"] for i in staff_decide(client, admin_headers, shop["ada"]).json()["items"]]


def test_export_and_erasure_cover_item_lines_and_decisions(client, source, admin_headers, db, shop):
    personal(client, admin_headers, shop["ada"])
    staff_decide(client, admin_headers, shop["ada"])
    export = client.post(f"/api/v1/profiles/{shop['ada']}/export", headers=admin_headers).json()
    assert [r["item_id"] for r in export["stores"]["decide_item_events"]["rows"]] == ["a1"]
    assert len(export["stores"]["decide_decisions"]["rows"]) == 1
    assert client.post(f"/api/v1/profiles/{shop['ada']}/erase", headers=admin_headers).status_code == 200
    with db.read() as conn:
        left = conn.execute(sa.select(item_events.c.item_id).where(item_events.c.anonymous_id == "anon-ada")).all()
        logged = conn.execute(
            sa.select(sa.func.count()).select_from(decisions).where(decisions.c.profile_id == shop["ada"])
        ).scalar()
    assert left == [] and logged == 0
    # A decision for the erased person answers as for a stranger.
    res = client.post("/v1/decide", json={"anonymousId": "anon-ada"}, headers=basic_auth(source))
    stranger = client.post("/v1/decide", json={"anonymousId": "nobody"}, headers=basic_auth(source))
    assert res.status_code == 200 and res.json()["items"] == stranger.json()["items"]
    assert staff_decide(client, admin_headers, shop["ada"]).status_code == 404


def test_contextual_uses_only_what_this_browser_did_in_this_visit(client, source, admin_headers, db, shop):
    # Ada's level is the default, contextual: her purchase of two days ago is not this visit.
    viewed = {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-ada",
        "properties": {"product_id": "a2", "name": "Spice"},
    }
    caught_up(client, source, db, [viewed])
    body = client.post("/v1/decide", json={"anonymousId": "anon-ada"}, headers=basic_auth(source)).json()
    reasons = {i["reason"] for i in body["items"]}
    assert "because you looked at Spice" in reasons
    assert not any("Come On Over" in r for r in reasons)


def test_the_360_and_my_data_show_what_they_own_and_why_we_recommend(
    client, source, admin_token, admin_headers, db, shop
):
    personal(client, admin_headers, shop["ada"])
    client.cookies.clear()
    assert client.post("/console/sign-in", data={"token": admin_token}, follow_redirects=False).status_code == 303
    page = client.get(f"/console/profiles/{shop['ada']}")
    assert page.status_code == 200
    assert "What they own" in page.text and "Come On Over" in page.text
    assert "because you bought Come On Over" in page.text and "A preview: not logged" in page.text

    caught_up(client, source, db, [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com"}}])
    profile_by(client, admin_headers, "user_id:ada")
    link = client.post(f"/api/v1/profiles/{shop['ada']}/portal-link", headers=admin_headers)
    assert link.status_code == 200, link.text
    client.cookies.clear()
    path = link.json()["url"].split("://", 1)[1].split("/", 1)[1]
    assert client.post(f"/{path}", follow_redirects=False).status_code == 303
    mine = client.get("/portal/data")
    assert mine.status_code == 200 and "What you own" in mine.text and "Come On Over" in mine.text
