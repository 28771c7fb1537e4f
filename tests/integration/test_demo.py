"""`rapport demo`: the CDNOW import and the multi-channel stories, sent with the official Segment
client to a live server, end in stitched profiles.

The import here takes the first rows of CDNOW only, so the test stays quick; the full file's
size is checked separately.
"""

from __future__ import annotations

import html
import io
import socket
from pathlib import Path

import httpx
import phonenumbers
import pytest
import sqlalchemy as sa
from rich.console import Console

from conftest import LiveServer
from factories import identifiers_of
from rapport.collect.store import events
from rapport.db.engine import Database
from rapport.demo import DemoError, DemoSummary, build_demo_data, print_summary, run_demo
from rapport.demo.cdnow import CUSTOMERS, PURCHASES, cdnow_path, read_purchases
from rapport.demo.people import MAX_PEOPLE, fictional_phone
from rapport.demo.stories import plan_stories

ROWS = 3000  # the first 3,000 purchases: about 1,000 customers
CUSTOMERS_WITH_STORIES = 40

pytest.importorskip("segment.analytics", reason="the demo extra (segment-analytics-python) is not installed")


def test_cdnow_file_holds_every_purchase() -> None:
    lines = [line for line in cdnow_path().read_text().splitlines() if line.strip()]
    assert len(lines) == PURCHASES + 1  # and one header line
    purchases = read_purchases()
    assert len(purchases) == PURCHASES == 69_659
    assert len({p.customer for p in purchases}) == CUSTOMERS == 23_570
    assert purchases[0].user_id == "cdnow-00001"
    assert {p.day.year for p in purchases} == {1997, 1998}


def test_fictional_phones_are_valid_and_distinct() -> None:
    sample = [*range(0, MAX_PEOPLE, 97), MAX_PEOPLE - 1]
    phones = [fictional_phone(i) for i in sample]
    assert len(set(phones)) == len(phones)
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)[6:11] == "555-0"
    assert MAX_PEOPLE >= CUSTOMERS  # every CDNOW customer can have a number of their own
    with pytest.raises(ValueError):
        fictional_phone(MAX_PEOPLE)


def test_stories_are_deterministic() -> None:
    purchases = read_purchases(limit=ROWS)
    first, second = plan_stories(purchases, 60), plan_stories(purchases, 60)
    assert first.calls == second.calls
    assert [p.email for p in first.people] == [p.email for p in second.people]
    assert plan_stories(purchases, 60, seed=7).calls != first.calls


@pytest.fixture
def demo(live_server: LiveServer, db: Database) -> tuple[DemoSummary, str]:
    out = Console(file=io.StringIO(), width=200)
    summary = build_demo_data(db, live_server.url, CUSTOMERS_WITH_STORIES, out, cdnow_limit=ROWS)
    return summary, live_server.url


def _profile(client: httpx.Client, identifier: str) -> dict:
    res = client.get("/api/v1/profiles", params={"identifier": identifier, "consistent": "true"})
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    assert len(items) == 1, f"{identifier}: {items}"
    return items[0]


def test_demo_builds_stitched_profiles(demo: tuple[DemoSummary, str], db: Database) -> None:
    summary, url = demo
    assert summary.purchases.accepted == ROWS
    assert summary.purchases.rejected == summary.purchases.duplicates == 0
    with db.read() as conn:
        store = summary.sources["store-pos"].id
        stored = conn.execute(sa.select(sa.func.count()).where(events.c.source_id == store)).scalar_one()
    assert stored == ROWS
    assert summary.sent.failed == summary.sent.dropped == 0
    usage = summary.shop["usage_sent"] if summary.shop else 0  # the decide customer's app usage
    assert summary.counts["events"] == ROWS + sum(summary.sent.sent.values()) + usage - 3  # three dead letters
    assert summary.counts["dead_letters"] == 3
    assert summary.counts["merges"] > 0

    headers = {"Authorization": f"Bearer {summary.admin_token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        hero = summary.heroes[0]
        person = hero["person"]
        profile = _profile(client, f"user_id:{person.user_id}")
        assert profile["id"] == hero["profile_id"]
        assert {"store", "web", "mobile", "email", "call_center"} <= set(profile["channels"])
        ids = identifiers_of(profile)
        assert f"email:{person.email}" in ids
        e164 = phonenumbers.format_number(phonenumbers.parse(person.phone), phonenumbers.PhoneNumberFormat.E164)
        assert f"phone:{e164}" in ids
        anonymous = [i.split(":", 1)[1] for i in ids if i.startswith("anonymous_id:")]
        assert any(a.startswith("esp-") for a in anonymous)  # the email platform, joined by address
        assert any(a.startswith("call-") for a in anonymous)  # a call, joined by the caller's number
        assert len([a for a in anonymous if a.count("-") == 4]) >= 2  # browsers that signed in later
        assert any(i.startswith("device_id:") for i in ids)
        assert profile["traits"]["name"] == person.name
        assert profile["merged_profiles"]  # the anonymous visitor was merged in
        # The servers (email platform, call center, store) asserted the address and number the demo
        # offers for the portal; the browsers' ids stay claims.
        known = {f"{i['type']}:{i['value']}": i["verification"] for i in profile["identifiers"]}
        assert (
            known[f"email:{person.email}"] == known[f"phone:{e164}"] == known[f"user_id:{person.user_id}"] == "asserted"
        )
        assert {known[f"anonymous_id:{a}"] for a in anonymous if a.count("-") == 4} == {"claimed"}
        # every way in finds the same customer
        for way in (f"email:{person.email}", f"phone:{person.phone}", f"anonymous_id:{anonymous[0]}"):
            assert _profile(client, way)["id"] == profile["id"]

        shared = summary.shared_email
        assert shared is not None
        first = _profile(client, f"user_id:{shared['first']['person'].user_id}")
        second = _profile(client, f"user_id:{shared['second']['person'].user_id}")
        assert first["id"] != second["id"]  # one user_id per profile: the address does not merge them
        assert _profile(client, f"email:{shared['email']}")["id"] == first["id"]
        assert f"email:{shared['email']}" not in identifiers_of(second)
        assert "web" in second["channels"]

        dead = client.get("/api/v1/dead-letters").json()["items"]
        assert [d["code"] for d in dead] == ["missing_event"] * 3

        _check_service_desk(client, summary)

    out = Console(file=io.StringIO(), width=200)
    print_summary(out, summary, url)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert f"{url}/console/sign-in" in text and summary.admin_token in text
    assert summary.heroes[0]["person"].email in text


def _check_service_desk(client: httpx.Client, summary: DemoSummary) -> None:
    """Cases across channels: breached, paused, answered late and in time, two social complaints from a
    large and a small following, a handle proven by its code; the queue, clocks and parity show them."""
    made = summary.service["cases"]
    cases = {c: client.get(f"/api/v1/cases/{c}").json() for c in made}
    assert {c["channel"] for c in cases.values()} >= {"email", "phone", "chat", "store", "portal"}
    clocks = {c["subject"]: c["sla"]["clocks"]["first_response"]["state"] for c in cases.values()}
    assert clocks["Where is my parcel?"] == "breached"
    assert clocks["Order arrived damaged"] == "met" and clocks["Change my delivery address"] == "missed"
    paused = next(c for c in cases.values() if c["subject"] == "Return without a receipt")
    assert paused["status"] == "pending" and paused["sla"]["paused"]
    queue = [c["id"] for c in client.get("/api/v1/queue").json()["items"]]
    breached = next(c["id"] for c in cases.values() if c["subject"] == "Where is my parcel?")
    assert queue[0] == breached and paused["id"] not in queue
    loud, quiet = summary.service["social"]
    assert loud and quiet and queue.index(loud) < queue.index(quiet)  # the earlier complaint, whatever the following
    proven = client.get(f"/api/v1/cases/{summary.service['proven_handle_case']}").json()
    assert proven["requester"]["profile_id"] == summary.heroes[0]["profile_id"]
    parity = client.get("/api/v1/service/parity").json()
    assert {"100k and over", "under 1k"} <= set(parity["groups"]["influence"])
    assert parity["groups"]["channel"]["email"]["first_response_p50_s"] is not None
    assert parity["alerts"]  # late answers on some channels show up
    directory = {c["key"]: c for c in client.get("/v1/channels").json()["items"]}
    assert {"email", "phone", "chat", "social", "store"} <= set(directory)
    assert directory["phone"]["hours"]["timezone"] == "America/New_York"
    assert directory["phone"]["promised_first_response"]["minutes"] == 60


def test_demo_shop_recommends_from_cdnow_orders_and_asks_first(demo: tuple[DemoSummary, str], db: Database) -> None:
    """The CDNOW orders name albums of the catalogue, the recommender is trained on them, and the
    customer the summary names for decide owns albums, gets recommendations with reasons and has a
    suggestion waiting, all on their Customer 360."""
    summary, url = demo
    shop = summary.shop
    assert shop is not None and shop["model"] is not None
    assert shop["model"].people > 100 and shop["model"].interactions > ROWS
    assert shop["questions"] == ["We notice you use New releases often — move it to your home page?"]
    pid = shop["profile_id"]
    headers = {"Authorization": f"Bearer {summary.admin_token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        owned = client.get(f"/api/v1/profiles/{pid}/owned").json()["items"]
        assert len(owned) == shop["owned"] >= 3 and all(o["name"] and " - " in o["name"] for o in owned)
        decided = client.post(f"/api/v1/profiles/{pid}/decisions", json={"limit": 5}).json()
        assert decided["level"] == "personal" and decided["model_version"] == shop["model"].version
        items = decided["items"]
        assert items and not {i["id"] for i in items} & {o["id"] for o in owned}  # never what they own
        assert any(i["reason"].startswith("because you bought ") for i in items), items
        asked = client.get(f"/api/v1/profiles/{pid}/suggestions").json()
        assert [s["target"]["name"] for s in asked["pending"]] == ["New releases"]
        assert client.post("/console/sign-in", data={"token": summary.admin_token}).status_code == 303
        page = html.unescape(client.get(f"/console/profiles/{pid}").text)  # names such as "Backstreet's Back"
    for seen in ("What they own", owned[0]["name"], "because you bought", shop["questions"][0], "not answered yet"):
        assert seen in page, seen
    out = Console(file=io.StringIO(), width=400)
    print_summary(out, summary, url)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert f"{url}/console/profiles/{pid}" in text and shop["questions"][0] in text


def test_demo_customers_answered_surveys(demo: tuple[DemoSummary, str]) -> None:
    """The CDNOW customers bought in 1997-98; the fatigue rules ask only people who used the shop
    lately, so the demo's answers follow a review each writes first: without it nobody is asked."""
    summary, _url = demo
    assert summary.voice["survey_answers"] >= 50, summary.voice
    assert summary.voice["follow_up_cases"] >= 1


def test_demo_refuses_a_busy_port(tmp_path: Path) -> None:
    out = Console(file=io.StringIO(), width=200)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            run_demo(database=tmp_path / "demo.db", port=port, customers=10, console=out)
    assert exit_info.value.code == 2
    assert f"port {port}" in out.file.getvalue()  # type: ignore[attr-defined]
    assert not (tmp_path / "demo.db").exists()
    assert issubclass(DemoError, RuntimeError)
