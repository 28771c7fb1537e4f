"""The public channel directory: hours from the calendar, the promise from the SLA policy, the actual
p90 first response over the last 30 days from real cases; admins keep it (audited); anyone reads it."""

from __future__ import annotations

import pytest

from browser.portal_seed import seed_two
from case_history import make_case
from factories import basic_auth

LONDON = {
    "timezone": "Europe/London",
    "hours": {d: [["09:00", "12:30"], ["13:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
PHONE = {
    "channel": "phone",
    "name": "Call us",
    "contact": "+44 20 7946 0000",
    "description": "Talk to a person.",
    "topics": ["billing", "orders"],
    "links": [
        {"label": "Track your order", "url": "/portal/help", "kind": "self-service"},
        {"label": "Citizens Advice", "url": "https://www.citizensadvice.org.uk/", "kind": "third-party"},
    ],
    "position": 1,
}


@pytest.fixture
def setup(client, admin_headers):
    assert client.put("/api/v1/sla/calendars/london", json=LONDON, headers=admin_headers).status_code == 200
    policy = {"position": 1, "channel": "phone", "calendar": "london", "first_response_minutes": 240}
    assert client.put("/api/v1/sla/policies/phone", json=policy, headers=admin_headers).status_code == 200
    res = client.put("/api/v1/service/channels/phone", json=PHONE, headers=admin_headers)
    assert res.status_code == 200, res.text
    email = {"channel": "email", "name": "Email us", "contact": "help@example.com", "position": 2}
    assert client.put("/api/v1/service/channels/email", json=email, headers=admin_headers).status_code == 200
    hidden = {"channel": "store", "name": "Visit", "contact": "1 High St", "published": False}
    assert client.put("/api/v1/service/channels/store", json=hidden, headers=admin_headers).status_code == 200


def test_the_directory_lists_hours_promise_topics_links_and_the_actual_p90(
    client, db, admin_headers, make_source, setup
):
    ada, _ = seed_two(client, make_source, admin_headers)
    # email under the default policy (always open): first answers after 10, 20, ... 100 minutes: p90 is 90.
    for minutes in range(10, 101, 10):
        make_case(db, ada.id, "email", days_ago=2, reply_after_min=minutes)
    make_case(db, ada.id, "email", days_ago=45, reply_after_min=5000)  # older than 30 days: not counted
    make_case(db, ada.id, "email", days_ago=0.01, reply_after_min=None)  # not answered yet: not counted
    res = client.get("/v1/channels")  # public: no key
    assert res.status_code == 200
    items = {i["key"]: i for i in res.json()["items"]}
    assert list(items) == ["phone", "email"]  # by position; the unpublished entry is not listed
    phone, email = items["phone"], items["email"]
    assert phone["promised_first_response"] == {"minutes": 240, "business_hours": True}
    assert phone["hours"]["timezone"] == "Europe/London" and not phone["hours"]["always_open"]
    monday, sunday = phone["hours"]["days"][0], phone["hours"]["days"][6]
    assert monday == {"day": "Monday", "key": "mon", "open": [["09:00", "12:30"], ["13:30", "17:30"]]}
    assert sunday["open"] == [] and "GB-ENG" in phone["hours"]["holidays"]
    assert phone["topics"] == ["billing", "orders"] and phone["links"][1]["kind"] == "third-party"
    assert phone["actual_first_response"] == {"p90_minutes": None, "cases": 0, "days": 30}
    assert email["promised_first_response"] == {"minutes": 1440, "business_hours": False}  # the default policy
    assert email["hours"]["always_open"]
    assert email["actual_first_response"] == {"p90_minutes": 90.0, "cases": 10, "days": 30}
    page = client.get("/portal/channels")
    assert page.status_code == 200 and "How to reach us" in page.text
    assert "4 hours of opening hours" in page.text and "1 hour 30 minutes" not in page.text
    assert "2 hours" in page.text or "90 minutes" in page.text or "1 hour" in page.text
    assert "Visit" not in page.text and 'href="tel:+442079460000"' in page.text
    assert "09:00–12:30, 13:30–17:30" in page.text


def test_admins_keep_the_directory_audited_and_others_cannot(client, admin_headers, make_token, source, setup):
    for role in ("agent", "analyst", "marketer", "privacy"):
        headers = {"Authorization": f"Bearer {make_token(role)}"}
        assert client.put("/api/v1/service/channels/x", json=PHONE, headers=headers).status_code == 403, role
        assert client.delete("/api/v1/service/channels/phone", headers=headers).status_code == 403, role
    assert client.put("/api/v1/service/channels/x", json=PHONE, headers=basic_auth(source)).status_code == 401
    audit = client.get("/api/v1/audit", headers=admin_headers).text
    assert "service.channel_set" in audit
    assert client.delete("/api/v1/service/channels/phone", headers=admin_headers).status_code == 204
    assert client.delete("/api/v1/service/channels/phone", headers=admin_headers).status_code == 404
    assert "service.channel_deleted" in client.get("/api/v1/audit", headers=admin_headers).text


BAD_ENTRIES = [
    {**PHONE, "channel": "pigeon"},
    {**PHONE, "name": ""},
    {**PHONE, "name": "   "},
    {**PHONE, "contact": ""},
    {**PHONE, "calendar": "nowhere"},
    {**PHONE, "calendar": "Bad Name"},
    {**PHONE, "policy": "nonexistent"},
    {**PHONE, "topics": ["Billing!"]},
    {**PHONE, "topics": "billing"},
    {**PHONE, "links": [{"label": "x", "url": "javascript:alert(1)"}]},
    {**PHONE, "links": [{"label": "x", "url": "//evil.example"}]},
    {**PHONE, "links": [{"label": "x", "url": "https://a.example", "kind": "sponsored"}]},
    {**PHONE, "links": [{"label": "", "url": "https://a.example"}]},
    {**PHONE, "position": -1},
    {**PHONE, "published": "yes please"},
    {"name": "only"},
]


@pytest.mark.parametrize("body", BAD_ENTRIES)
def test_bad_entries_are_refused_with_a_4xx(client, admin_headers, body):
    res = client.put("/api/v1/service/channels/phone", json=body, headers=admin_headers)
    assert 400 <= res.status_code < 500, res.text
    assert res.json()["code"]


def test_a_bad_key_is_refused(client, admin_headers):
    for key in ("Bad Key", "a" * 65, "ü"):
        res = client.put(f"/api/v1/service/channels/{key}", json=PHONE, headers=admin_headers)
        assert 400 <= res.status_code < 500, key


LINKS = "Returns | /portal/help\nOmbudsman | https://ombudsman.example | third-party"


def test_the_console_directory_page_saves_and_refuses_bad_forms(client, make_token, setup):
    from browser.portal_seed import csrf_of

    client.cookies.clear()
    client.post("/console/sign-in", data={"token": make_token("admin")}, follow_redirects=False)
    page = client.get("/console/service/channels")
    assert page.status_code == 200 and "Call us" in page.text
    form = {"csrf": csrf_of(page.text), "key": "chat", "channel": "chat", "name": "Chat with us",
            "contact": "/portal/help", "topics": "orders, returns", "links": LINKS,
            "position": "3", "published": "on"}  # fmt: skip
    done = client.post("/console/service/channels", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    chat = {i["key"]: i for i in client.get("/v1/channels").json()["items"]}["chat"]
    assert chat["topics"] == ["orders", "returns"] and chat["links"][1]["kind"] == "third-party"
    for bad in ({"position": "x"}, {"links": "no separator here"}, {"channel": "pigeon"}, {"key": "Bad Key"}):
        res = client.post("/console/service/channels", data={**form, **bad})
        assert res.status_code == 400 and res.headers["content-type"].startswith("text/html"), bad
    assert client.post("/console/service/channels", data={**form, "csrf": "x"}).status_code == 403
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": make_token("agent")}, follow_redirects=False)
    assert client.get("/console/service/channels").status_code == 403
