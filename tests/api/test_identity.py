"""Identity resolution through the public interfaces: Tracking API, `rapport import`, staff API."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from factories import identifiers_of, profile_by, says, send_batch
from rapport.cli import app as cli

EMAIL = "ada@example.com"
PHONE = "+14155550123"


def _import_store_purchase(tmp_path, monkeypatch, database_url, rows: str) -> str:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    path = tmp_path / "pos.csv"
    path.write_text("receipt,phone,amount,date\n" + rows)
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(path),
            "--source",
            "store",
            "--type",
            "track",
            "--event",
            "Order Completed",
            "--map",
            "anonymousId=receipt",
            "--map",
            "context.traits.phone=phone",
            "--map",
            "properties.revenue=amount:number",
            "--map",
            "timestamp=date",
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def channels(make_source):
    return {
        c: make_source(c, name=n)
        for c, n in [("web", "website"), ("store", "store"), ("call_center", "calls"), ("mobile", "app")]
    }


def test_web_store_and_call_center_stitch_into_one_profile_and_undo_restores(
    client, channels, admin_headers, tmp_path, monkeypatch, database_url
):
    send_batch(
        client,
        channels["web"],
        [
            {"type": "page", "anonymousId": "anon-1", "name": "Pricing", "timestamp": "2026-01-01T10:00:00Z"},
            {
                "type": "identify",
                "anonymousId": "anon-1",
                "userId": "user-1",
                "traits": {"email": " Ada@Example.COM ", "name": "Ada Lovelace"},
                "timestamp": "2026-01-01T10:05:00Z",
            },
        ],
    )
    web_profile = profile_by(client, admin_headers, f"email:{EMAIL}")
    assert identifiers_of(web_profile) == {"user_id:user-1", "anonymous_id:anon-1", f"email:{EMAIL}"}

    output = _import_store_purchase(
        tmp_path,
        monkeypatch,
        client.app.state.db.settings.database_url,
        "r-1001,(415) 555-0123,19.99,2026-01-02T15:00:00Z\n",
    )
    assert says(output, "accepted: 1"), output
    store_profile = profile_by(client, admin_headers, f"phone:{PHONE}")
    assert store_profile["id"] != web_profile["id"]
    assert store_profile["channels"] == ["store"]

    send_batch(
        client,
        channels["call_center"],
        [
            {
                "type": "track",
                "anonymousId": "call-77",
                "event": "Call Center Contact",
                "context": {"traits": {"email": EMAIL, "phone": "415-555-0123"}},
                "timestamp": "2026-01-03T09:00:00Z",
            },
        ],
    )
    merged = profile_by(client, admin_headers, f"phone:{PHONE}")
    assert merged == profile_by(client, admin_headers, "user_id:user-1")
    assert identifiers_of(merged) == {
        "user_id:user-1",
        "anonymous_id:anon-1",
        f"email:{EMAIL}",
        f"phone:{PHONE}",
        "anonymous_id:r-1001",
        "anonymous_id:call-77",
    }
    assert merged["channels"] == ["call_center", "store", "web"]
    assert merged["event_count"] == 4
    assert merged["traits"]["name"] == "Ada Lovelace"
    assert merged["first_seen"].startswith("2026-01-01T10:00:00")

    history = client.get(f"/api/v1/profiles/{merged['id']}/merges", headers=admin_headers).json()["items"]
    assert len(history) == 1
    merge = history[0]
    assert {merge["survivor_id"], merge["absorbed_id"]} == {web_profile["id"], store_profile["id"]}
    assert f"phone:{PHONE}" in merge["identifiers"] and merge["message_id"]

    # Asking for the absorbed id answers the survivor.
    absorbed = client.get(f"/api/v1/profiles/{merge['absorbed_id']}", headers=admin_headers).json()
    assert absorbed["id"] == merge["survivor_id"]

    res = client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers)
    assert res.status_code == 200, res.text
    web_after = profile_by(client, admin_headers, f"email:{EMAIL}")
    store_after = profile_by(client, admin_headers, f"phone:{PHONE}")
    assert web_after["id"] != store_after["id"]
    assert identifiers_of(store_after) == {f"phone:{PHONE}", "anonymous_id:r-1001"}
    assert store_after["event_count"] == 1 and store_after["channels"] == ["store"]
    assert web_after["event_count"] == 3
    assert client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers).status_code == 409

    # The processor sees the undo: a new store event by phone joins the restored store profile.
    _import_store_purchase(
        tmp_path,
        monkeypatch,
        client.app.state.db.settings.database_url,
        "r-1002,4155550123,5.00,2026-01-05T12:00:00Z\n",
    )
    assert profile_by(client, admin_headers, f"phone:{PHONE}")["event_count"] == 2
    assert profile_by(client, admin_headers, f"email:{EMAIL}")["event_count"] == 3


@pytest.mark.parametrize("junk", ["null", "undefined", "0", "anonymous", "00000000-0000-0000-0000-000000000000", "  "])
def test_blocked_values_never_merge(client, source, admin_headers, junk):
    send_batch(
        client,
        source,
        [
            {"type": "identify", "userId": "alice", "anonymousId": junk, "traits": {"email": "alice@example.com"}},
            {"type": "identify", "userId": "bob", "anonymousId": junk, "traits": {"email": "bob@example.com"}},
        ],
    )
    alice = profile_by(client, admin_headers, "user_id:alice")
    bob = profile_by(client, admin_headers, "user_id:bob")
    assert alice["id"] != bob["id"]
    assert not any(i["type"] == "anonymous_id" for i in alice["identifiers"] + bob["identifiers"])


def test_message_with_only_blocked_ids_gets_a_profile_of_its_own(client, source, admin_headers, db):
    res = send_batch(
        client,
        source,
        [
            {"type": "track", "userId": "undefined", "event": "A"},
            {"type": "track", "userId": "undefined", "event": "B"},
        ],
    )
    assert res.json()["accepted"] == 2
    profile_by(client, admin_headers, "user_id:nobody")  # waits for processing
    import sqlalchemy as sa

    from rapport.collect.store import events
    from rapport.profiles.store import profile_events

    with db.read() as conn:
        owners = (
            conn.execute(sa.select(profile_events.c.profile_id).join(events, events.c.id == profile_events.c.event_id))
            .scalars()
            .all()
        )
    assert len(owners) == 2 and len(set(owners)) == 2


def test_a_second_user_id_never_merges(client, source, admin_headers):
    send_batch(
        client,
        source,
        [
            {"type": "identify", "userId": "u-1", "traits": {"email": "shared@example.com"}},
            {"type": "identify", "userId": "u-2", "traits": {"email": "shared@example.com"}},
            {"type": "track", "userId": "u-2", "event": "Second"},
        ],
    )
    first = profile_by(client, admin_headers, "user_id:u-1")
    second = profile_by(client, admin_headers, "user_id:u-2")
    assert first["id"] != second["id"]
    assert identifiers_of(first) == {"user_id:u-1", "email:shared@example.com"}
    assert identifiers_of(second) == {"user_id:u-2"}
    assert second["event_count"] == 2
    assert client.get(f"/api/v1/profiles/{first['id']}/merges", headers=admin_headers).json()["items"] == []


def test_anonymous_profiles_bridged_by_a_user_id_merge(client, make_source, admin_headers):
    web, mobile = make_source("web"), make_source("mobile")
    send_batch(
        client,
        web,
        [
            {"type": "page", "anonymousId": "browser-1"},
            {"type": "identify", "anonymousId": "browser-1", "userId": "u-9"},
        ],
    )
    send_batch(client, mobile, [{"type": "screen", "anonymousId": "phone-1", "context": {"device": {"id": "dev-1"}}}])
    assert (
        profile_by(client, admin_headers, "device_id:dev-1")["id"]
        != profile_by(client, admin_headers, "user_id:u-9")["id"]
    )
    send_batch(client, mobile, [{"type": "identify", "anonymousId": "phone-1", "userId": "u-9"}])
    one = profile_by(client, admin_headers, "device_id:dev-1")
    assert one == profile_by(client, admin_headers, "anonymous_id:browser-1")
    assert one["channels"] == ["mobile", "web"] and one["event_count"] == 4


def test_alias_joins_previous_id(client, source, admin_headers):
    send_batch(
        client,
        source,
        [{"type": "page", "anonymousId": "old-anon"}, {"type": "track", "userId": "new-user", "event": "X"}],
    )
    assert (
        profile_by(client, admin_headers, "anonymous_id:old-anon")["id"]
        != profile_by(client, admin_headers, "user_id:new-user")["id"]
    )
    send_batch(client, source, [{"type": "alias", "userId": "new-user", "previousId": "old-anon"}])
    assert (
        profile_by(client, admin_headers, "anonymous_id:old-anon")["id"]
        == profile_by(client, admin_headers, "user_id:new-user")["id"]
    )


def test_external_ids_and_phone_normalization(client, source, admin_headers):
    send_batch(
        client,
        source,
        [
            {
                "type": "identify",
                "userId": "u-ext",
                "traits": {"phone": "+44 20 7946 0958"},
                "context": {
                    "externalIds": [{"id": "C-123", "type": "crm_id", "collection": "users", "encoding": "none"}]
                },
            }
        ],
    )
    by_ext = profile_by(client, admin_headers, "external:crm_id=C-123")
    assert by_ext is not None
    assert by_ext == profile_by(client, admin_headers, "phone:+442079460958")


def test_latest_trait_wins_by_event_time_with_its_source(client, make_source, admin_headers):
    web, store = make_source("web", name="site"), make_source("store", name="shop")
    for source, at, traits in (
        (web, "2026-05-01T00:00:00Z", {"plan": "gold", "nickname": "T"}),
        (store, "2026-04-01T00:00:00Z", {"plan": "silver", "city": "Oslo"}),
        (web, "2026-03-01T00:00:00Z", {"nickname": "Old"}),
    ):
        send_batch(client, source, [{"type": "identify", "userId": "t-1", "traits": traits, "timestamp": at}])
    profile = profile_by(client, admin_headers, "user_id:t-1")
    # Between claims the newest wins; the store asserted its plan, so a website's claim, newer or
    # not, never replaces it.
    assert profile["traits"] == {"plan": "silver", "city": "Oslo", "nickname": "T"}
    assert profile["trait_sources"]["plan"]["source"] == "shop"
    assert profile["trait_sources"]["city"]["channel"] == "store"
    send_batch(client, web, [{"type": "identify", "userId": "t-1", "traits": {"plan": "platinum"}}])
    send_batch(client, store, [{"type": "identify", "userId": "t-1", "traits": {"plan": "bronze"}}])
    assert profile_by(client, admin_headers, "user_id:t-1")["traits"]["plan"] == "bronze"


def _merge_app_into_kim(client, source, admin_headers) -> dict:
    """kim signs in on a phone app used anonymously so far: the app's profile merges into kim's."""
    send_batch(
        client,
        source,
        [
            {"type": "identify", "userId": "kim", "anonymousId": "web-1", "traits": {"email": "kim@example.com"}},
            {"type": "track", "anonymousId": "app-1", "event": "Application Opened"},
        ],
    )
    assert (
        profile_by(client, admin_headers, "anonymous_id:app-1")["id"]
        != profile_by(client, admin_headers, "user_id:kim")["id"]
    )
    send_batch(client, source, [SIGNED_IN])  # joins the app profile to kim's
    send_batch(client, source, [{**SIGNED_IN, "event": "Viewed"}])  # the pair is settled now
    kim = profile_by(client, admin_headers, "user_id:kim")
    assert "anonymous_id:app-1" in identifiers_of(kim) and kim["event_count"] == 4
    [merge] = client.get(f"/api/v1/profiles/{kim['id']}/merges", headers=admin_headers).json()["items"]
    return merge


SIGNED_IN = {"type": "track", "userId": "kim", "anonymousId": "app-1", "event": "Signed In"}


def test_an_undone_merge_is_not_made_again(client, source, admin_headers):
    """Staff split two profiles on purpose: the message that joined them must not join them again."""
    merge = _merge_app_into_kim(client, source, admin_headers)
    assert client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers).status_code == 200
    app = profile_by(client, admin_headers, "anonymous_id:app-1")
    assert app["id"] == merge["absorbed_id"] and app["event_count"] == 1

    send_batch(client, source, [{**SIGNED_IN, "event": "Viewed Again"}, {**SIGNED_IN, "event": "Viewed Once More"}])
    kim = profile_by(client, admin_headers, "user_id:kim")
    assert "anonymous_id:app-1" not in identifiers_of(kim)
    assert kim["event_count"] == 5, "the events go to the profile of their strongest identifier"
    assert profile_by(client, admin_headers, "anonymous_id:app-1") == app
    history = client.get(f"/api/v1/profiles/{kim['id']}/merges", headers=admin_headers).json()["items"]
    assert [m["id"] for m in history] == [merge["id"]] and history[0]["undone_at"]

    # Either side may still merge with a third profile.
    send_batch(client, source, [{"type": "page", "anonymousId": "tablet-1", "name": "Home"}])
    send_batch(client, source, [{"type": "track", "userId": "kim", "anonymousId": "tablet-1", "event": "Viewed"}])
    kim = profile_by(client, admin_headers, "user_id:kim")
    assert "anonymous_id:tablet-1" in identifiers_of(kim)
    history = client.get(f"/api/v1/profiles/{kim['id']}/merges", headers=admin_headers).json()["items"]
    assert len(history) == 2 and history[0]["undone_at"] is None and history[0]["id"] != merge["id"]


def test_the_processor_forgets_what_it_cached_before_an_undo(client, source, admin_headers):
    merge = _merge_app_into_kim(client, source, admin_headers)
    assert client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers).status_code == 200
    # A cache from before the undo would still show the app profile as kim's and give it the email.
    send_batch(client, source, [{"type": "identify", "anonymousId": "app-1", "traits": {"email": "k2@example.com"}}])
    assert profile_by(client, admin_headers, "email:k2@example.com")["id"] == merge["absorbed_id"]
    assert "email:k2@example.com" not in identifiers_of(profile_by(client, admin_headers, "user_id:kim"))


def test_a_pair_settled_before_an_erasure_starts_a_new_profile_after_it(client, source, admin_headers):
    event = {"type": "track", "userId": "lee", "anonymousId": "w-9", "event": "Viewed"}
    send_batch(client, source, [event, event | {"event": "Viewed Twice"}])
    send_batch(client, source, [event | {"event": "Viewed Thrice"}])  # placed through the settled pair
    erased = profile_by(client, admin_headers, "user_id:lee")
    assert erased["event_count"] == 3
    assert client.post(f"/api/v1/profiles/{erased['id']}/erase", headers=admin_headers).status_code == 200

    send_batch(client, source, [event | {"event": "Came Back"}])
    fresh = profile_by(client, admin_headers, "user_id:lee")
    assert fresh is not None and fresh["id"] != erased["id"] and fresh["event_count"] == 1
    timeline = client.get(f"/api/v1/profiles/{fresh['id']}/timeline", headers=admin_headers).json()["items"]
    assert [e["event"] for e in timeline] == ["Came Back"]


def _staff_merge(client, headers, survivor, absorbed, reason="same person: confirmed on the phone"):
    body = {"survivor_id": survivor, "absorbed_id": absorbed, "reason": reason}
    return client.post("/api/v1/merges", json=body, headers=headers)


def test_staff_join_profiles_kept_apart_on_purpose_and_can_split_them_again(client, source, admin_headers):
    """An undo keeps two profiles apart; a staff merge is how they become one again, audited and undoable."""
    undone = _merge_app_into_kim(client, source, admin_headers)
    assert client.post(f"/api/v1/merges/{undone['id']}/undo", headers=admin_headers).status_code == 200
    kim_id, app_id = undone["survivor_id"], undone["absorbed_id"]
    send_batch(client, source, [{"type": "track", "anonymousId": "app-1", "event": "Application Opened"}])
    assert profile_by(client, admin_headers, "anonymous_id:app-1")["id"] == app_id  # the processor has cached that

    res = _staff_merge(client, admin_headers, kim_id, app_id)
    assert res.status_code == 201, res.text
    merge = res.json()
    assert (merge["survivor_id"], merge["absorbed_id"]) == (kim_id, app_id)
    assert merge["made_by"].startswith("staff:") and merge["identifiers"] == [] and merge["event_id"] is None
    app = profile_by(client, admin_headers, "anonymous_id:app-1")
    assert app["id"] == kim_id and "user_id:kim" in identifiers_of(app) and app["event_count"] == 5

    # The processor sees the merge at once: the group holds kim's user id, so a second one stays out.
    send_batch(client, source, [{"type": "identify", "anonymousId": "app-1", "userId": "kim-2"}])
    assert profile_by(client, admin_headers, "user_id:kim-2")["id"] != kim_id
    # The message that linked them is now at home there; it makes no merge of its own.
    send_batch(client, source, [{**SIGNED_IN, "event": "Viewed Again"}])
    kim = profile_by(client, admin_headers, "user_id:kim")
    assert kim["event_count"] == 6 and app_id in kim["merged_profiles"]
    history = client.get(f"/api/v1/profiles/{kim_id}/merges", headers=admin_headers).json()["items"]
    assert [(m["id"], m["made_by"], m["undone_at"] is None) for m in history] == [
        (merge["id"], merge["made_by"], True),
        (undone["id"], None, False),
    ]
    audit = client.get("/api/v1/audit", params={"profile_id": kim_id}, headers=admin_headers).json()["items"]
    made = [a for a in audit if a["action"] == "merge.made"]
    assert {a["profile_id"] for a in made} == {kim_id, app_id}
    assert made[0]["details"]["reason"] == "same person: confirmed on the phone"

    assert client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin_headers).status_code == 200
    assert profile_by(client, admin_headers, "anonymous_id:app-1")["id"] == app_id
    send_batch(client, source, [{**SIGNED_IN, "event": "Viewed Once More"}])
    assert profile_by(client, admin_headers, "anonymous_id:app-1")["id"] == app_id, "apart again after the undo"


def test_staff_merge_takes_any_member_and_refuses_what_the_rules_forbid(client, source, admin_headers, make_token):
    send_batch(
        client,
        source,
        [
            {"type": "identify", "userId": "u-1", "anonymousId": "w-1"},
            {"type": "identify", "userId": "u-2"},
            {"type": "page", "anonymousId": "w-2"},
            {"type": "page", "anonymousId": "w-3"},
        ],
    )
    one, two = (profile_by(client, admin_headers, f"user_id:{u}")["id"] for u in ("u-1", "u-2"))
    w2, w3 = (profile_by(client, admin_headers, f"anonymous_id:{a}")["id"] for a in ("w-2", "w-3"))

    res = _staff_merge(client, admin_headers, one, two)
    assert res.status_code == 409 and res.json()["code"] == "identifier_limit", res.text
    assert "user_id" in res.json()["message"]

    assert _staff_merge(client, admin_headers, w2, w3).status_code == 201
    # w-3's profile now shows as w-2's: merging it (or w-2) into u-1 moves the whole group.
    res = _staff_merge(client, admin_headers, one, w3)
    assert res.status_code == 201 and res.json()["absorbed_id"] == w2, res.text
    assert profile_by(client, admin_headers, "anonymous_id:w-3")["id"] == one
    assert profile_by(client, admin_headers, "anonymous_id:w-2")["id"] == one

    res = _staff_merge(client, admin_headers, w3, one)
    assert res.status_code == 409 and res.json()["code"] == "already_merged"
    assert _staff_merge(client, admin_headers, one, "no-such-profile").status_code == 404
    for reason in ("", "   ", "x" * 501):
        res = _staff_merge(client, admin_headers, one, two, reason=reason)
        assert res.status_code == 400 and res.json()["code"] in ("invalid_request", "invalid_reason"), res.text
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    assert _staff_merge(client, agent, one, two).status_code == 403
    for body in ({"survivor_id": one, "reason": "r"}, {"survivor_id": one, "absorbed_id": ["x"], "reason": "r"}, []):
        res = client.post("/api/v1/merges", json=body, headers=admin_headers)
        assert res.status_code == 400 and res.json()["code"] == "invalid_request", res.text
    res = client.post("/api/v1/merges", content=b"{", headers={**admin_headers, "Content-Type": "application/json"})
    assert res.status_code == 400, res.text
