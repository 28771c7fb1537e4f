"""Cases through the staff API: opened for a customer's profile, replied to by email through the one
permission check and the outbox, on the customer's timeline, in their export and gone with their
erasure; and what strangers, lesser roles and bad input get."""

from __future__ import annotations

import pytest

from factories import eventually, profile_by, send_batch, settled_history
from rapport.service.store import cases

ADA = "ada@example.com"


@pytest.fixture
def ada(client, backend, admin_headers) -> str:
    """A customer whose address the shop's backend asserted."""
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": ADA, "name": "Ada L"}}])
    return profile_by(client, admin_headers, "user_id:ada")["id"]


@pytest.fixture
def agent_headers(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def open_case(client, headers, requester: dict, **fields) -> dict:
    body = {"requester": requester, "subject": "My order is late", "text": "Order 1001 has not come.", **fields}
    res = client.post("/api/v1/cases", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def timeline_events(client, headers, pid: str) -> list[str]:
    res = client.get(f"/api/v1/profiles/{pid}/timeline", params={"consistent": "true"}, headers=headers)
    return [e["event"] for e in res.json()["items"] if e["event"]]


def test_a_case_for_a_known_customer_is_on_their_timeline_with_its_clocks(client, agent_headers, admin_headers, ada):
    case = open_case(client, agent_headers, {"profile_id": ada}, channel="phone", priority="high", tags=["Late"])
    assert case["status"] == "new" and case["requester"]["profile_id"] == ada and case["tags"] == ["late"]
    assert case["policy"] == "default" and case["sla"]["clocks"]["first_response"]["state"] == "running"
    assert case["next_due_at"] is not None and len(case["reference"]) == 8
    assert [h["kind"] for h in case["history"]] == ["opened", "policy", "message"]
    assert "Case Opened" in timeline_events(client, admin_headers, ada)


def test_a_reply_on_an_email_case_is_mailed_to_the_asserted_address_as_a_service_message(
    client, agent_headers, admin_headers, ada, smtp
):
    case = open_case(client, agent_headers, {"email": "ADA@example.com"}, channel="email")
    assert case["requester"]["profile_id"] == ada  # an asserted address joins its profile
    res = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"text": "It ships today.", "status": "pending"},
        headers=agent_headers,
    )
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["case"]["status"] == "pending" and body["message"]["delivery"] == "queued"
    [sent] = [h for h in settled_history(client, admin_headers, ada) if h["purpose"] == "service"]
    assert sent["status"] == "sent" and sent["contact_point"] == ADA
    mail = eventually(lambda: smtp.messages)[0]
    assert mail["To"] == ADA and f"[#{case['reference']}]" in mail["Subject"]
    assert mail["Message-ID"] == body["message"]["mail_message_id"]  # the customer's reply threads by it
    assert "List-Unsubscribe" not in mail  # a service message: nothing to unsubscribe from
    assert "In-Reply-To" not in mail and "References" not in mail  # staff opened it: no mail of theirs to answer
    view = client.get(f"/api/v1/cases/{case['id']}", headers=agent_headers).json()
    assert view["sla"]["clocks"]["first_response"]["state"] == "met" and view["sla"]["paused"]
    assert {"Case Opened", "Case Replied"} <= set(timeline_events(client, admin_headers, ada))


def test_internal_notes_status_changes_assignment_and_merge(client, agent_headers, ada, db):
    first = open_case(client, agent_headers, {"profile_id": ada})
    second = open_case(client, agent_headers, {"profile_id": ada}, subject="Still late")
    note = client.post(
        f"/api/v1/cases/{first['id']}/messages",
        json={"text": "Courier says Friday", "internal": True},
        headers=agent_headers,
    ).json()["message"]
    assert note["public"] is False and note["delivery"] is None
    res = client.patch(
        f"/api/v1/cases/{first['id']}",
        json={"assignee": "grace", "reason": "knows the courier", "topic": "delivery", "priority": "urgent"},
        headers=agent_headers,
    )
    assert res.status_code == 200, res.text
    assigned = [h for h in res.json()["history"] if h["kind"] == "assigned"]
    assert assigned[-1]["data"] == {"assignee": "grace", "previous": None, "reason": "knows the courier"}
    merged = client.post(f"/api/v1/cases/{second['id']}/merge", json={"into": first["id"]}, headers=agent_headers)
    assert merged.status_code == 200, merged.text
    assert len(merged.json()["messages"]) == 3  # both requests and the note
    gone = client.get(f"/api/v1/cases/{second['id']}", headers=agent_headers).json()
    assert (gone["status"], gone["merged_into"]) == ("closed", first["id"])
    again = client.post(f"/api/v1/cases/{second['id']}/messages", json={"text": "hello"}, headers=agent_headers)
    assert again.status_code == 409 and again.json()["code"] == "case_merged"
    solved = client.patch(f"/api/v1/cases/{first['id']}", json={"status": "solved"}, headers=agent_headers).json()
    assert solved["status"] == "solved"
    closed = client.patch(f"/api/v1/cases/{first['id']}", json={"status": "closed"}, headers=agent_headers)
    assert closed.json()["status"] == "closed"
    assert (
        client.patch(f"/api/v1/cases/{first['id']}", json={"status": "open"}, headers=agent_headers).status_code == 409
    )


def test_a_case_is_exported_and_erased_with_the_person(client, agent_headers, make_token, ada, db):
    case = open_case(
        client, agent_headers, {"profile_id": ada}, channel="social", social={"network": "x", "followers": 9}
    )
    client.post(f"/api/v1/cases/{case['id']}/messages", json={"text": "On it"}, headers=agent_headers)
    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    exported = client.post(f"/api/v1/profiles/{ada}/export", headers=privacy).json()["stores"]
    assert len(exported["cases"]["rows"]) == 1 and len(exported["case_messages"]["rows"]) == 2
    assert len(exported["case_influence"]["rows"]) == 1 and exported["case_events"]["rows"]
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=privacy).json()["receipt"]
    assert receipt["cases"]["rows"] == 1 and receipt["case_messages"]["rows"] == 2
    assert receipt["case_influence"]["rows"] == 1
    with db.read() as conn:
        assert conn.execute(cases.select()).first() is None
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent_headers).status_code == 404


@pytest.mark.parametrize("role", ["marketer", "privacy", "analyst"])
def test_roles_that_do_not_serve_customers_cannot_read_or_work_cases(client, make_token, agent_headers, ada, role):
    case = open_case(client, agent_headers, {"profile_id": ada})
    headers = {"Authorization": f"Bearer {make_token(role)}"}
    for method, url, body in (
        ("GET", "/api/v1/cases", None),
        ("GET", f"/api/v1/cases/{case['id']}", None),
        ("POST", "/api/v1/cases", {"requester": {"profile_id": ada}, "subject": "x", "text": "y"}),
        ("PATCH", f"/api/v1/cases/{case['id']}", {"status": "solved"}),
        ("POST", f"/api/v1/cases/{case['id']}/messages", {"text": "hi"}),
        ("GET", "/api/v1/queue/next", None),
        ("POST", "/api/v1/queue/next", None),
    ):
        res = client.request(method, url, json=body, headers=headers)
        assert res.status_code == 403 and res.json()["code"] == "forbidden", (method, url)


def test_only_admins_set_policies_and_analysts_read_reports(client, make_token, agent_headers, admin_headers):
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    assert client.get("/api/v1/sla/policies", headers=analyst).status_code == 200
    assert client.get("/api/v1/service/report", headers=analyst).status_code == 200
    assert client.get("/api/v1/service/report", headers=agent_headers).status_code == 403
    policy = {"calendar": "always", "first_response_minutes": 60}
    for headers in (analyst, agent_headers):
        assert client.put("/api/v1/sla/policies/fast", json=policy, headers=headers).status_code == 403
        assert client.put("/api/v1/sla/calendars/office", json={}, headers=headers).status_code == 403
        assert client.put("/api/v1/service/agents/grace", json={"capacity": 1}, headers=headers).status_code == 403
    assert client.put("/api/v1/sla/policies/fast", json=policy, headers=admin_headers).status_code == 200


def test_strangers_and_write_keys_get_nothing(client, source, ada):
    from factories import basic_auth

    for headers in ({}, {"Authorization": f"Bearer {source.write_key}"}, basic_auth(source)):
        assert client.get("/api/v1/cases", headers=headers).status_code == 401
        assert client.post("/api/v1/cases", json={}, headers=headers).status_code == 401
        assert client.get("/api/v1/queue/next", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"requester": {}, "subject": "s", "text": "t"},
        {"requester": {"profile_id": "p", "email": "a@b.co"}, "subject": "s", "text": "t"},
        {"requester": {"email": "not an address"}, "subject": "s", "text": "t"},
        {"requester": {"profile_id": "nobody"}, "subject": "s", "text": "t"},
        {"requester": {"email": "a@b.co"}, "subject": "", "text": "t"},
        {"requester": {"email": "a@b.co"}, "subject": "a\nBcc: x@y.z", "text": "t"},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t\x00"},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "channel": "pigeon"},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "priority": "meh"},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "tags": ["no spaces please"]},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "tags": ["x"] * 21},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "topic": "!!"},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t", "social": {"network": "x", "followers": -1}},
        {"requester": {"email": "a@b.co"}, "subject": "s", "text": "t" * 200_001},
        [],
        "text",
    ],
)
def test_bad_case_bodies_are_4xx_json(client, agent_headers, body):
    res = client.post("/api/v1/cases", json=body, headers=agent_headers)
    assert 400 <= res.status_code < 500, res.text
    assert set(res.json()) == {"code", "message"}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/v1/cases/abc", None),
        ("GET", "/api/v1/cases/0", None),
        ("GET", f"/api/v1/cases/{2**70}", None),
        ("GET", "/api/v1/cases/999", None),
        ("GET", "/api/v1/cases?status=lost", None),
        ("GET", "/api/v1/cases?limit=100000", None),
        ("GET", "/api/v1/cases?profile_id=nobody", None),
        ("PATCH", "/api/v1/cases/1", {"status": "lost"}),
        ("PATCH", "/api/v1/cases/1", {"assignee": ""}),
        ("PATCH", "/api/v1/cases/1", {"tags": "late"}),
        ("PATCH", "/api/v1/cases/1", {"status": "closed"}),
        ("POST", "/api/v1/cases/1/messages", {"text": ""}),
        ("POST", "/api/v1/cases/1/messages", {"text": "x", "status": "closed"}),
        ("POST", "/api/v1/cases/1/messages", {"text": "x", "author": "customer", "internal": True}),
        ("POST", "/api/v1/cases/1/merge", {"into": 1}),
        ("POST", "/api/v1/cases/1/merge", {"into": 999}),
        ("GET", "/api/v1/cases/1/attachments/5", None),
        ("GET", "/api/v1/cases/1%00", None),
    ],
)
def test_bad_input_on_a_case_is_4xx_json(client, agent_headers, ada, method, url, body):
    open_case(client, agent_headers, {"profile_id": ada})
    res = client.request(method, url, json=body, headers=agent_headers)
    assert 400 <= res.status_code < 500, (res.status_code, res.text)
    assert set(res.json()) == {"code", "message"}


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/sla/policies/Bad Name", {}),
        ("/api/v1/sla/policies/p", {"calendar": "nope"}),
        ("/api/v1/sla/policies/p", {"first_response_minutes": -1}),
        ("/api/v1/sla/policies/p", {"first_response_minutes": 10**9}),
        ("/api/v1/sla/policies/p", {"channel": "pigeon"}),
        ("/api/v1/sla/calendars/c", {"timezone": "Mars/Base"}),
        ("/api/v1/sla/calendars/c", {"hours": {"mon": [["17:00", "09:00"]]}}),
        ("/api/v1/sla/calendars/c", {"hours": {"mon": "nine to five"}}),
        ("/api/v1/sla/calendars/c", {"holidays": {"country": "ZZ"}}),
        ("/api/v1/sla/calendars/c", {"ical": "BEGIN:VCALENDAR\r\nnonsense"}),
        ("/api/v1/service/agents/grace", {"capacity": -1}),
    ],
)
def test_bad_policies_and_calendars_are_4xx_json(client, admin_headers, url, body):
    res = client.put(url, json=body, headers=admin_headers)
    assert 400 <= res.status_code < 500, (res.status_code, res.text)
    assert set(res.json()) == {"code", "message"}


def test_a_policy_for_a_priority_and_a_calendar_with_office_hours(client, admin_headers, agent_headers, ada):
    office = {
        "timezone": "Europe/London",
        "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
    assert client.put("/api/v1/sla/calendars/office", json=office, headers=admin_headers).status_code == 200
    policy = {"position": 1, "priority": "urgent", "calendar": "office", "first_response_minutes": 30}
    res = client.put("/api/v1/sla/policies/urgent", json=policy, headers=admin_headers)
    assert res.status_code == 200, res.text
    normal = open_case(client, agent_headers, {"profile_id": ada})
    urgent = open_case(client, agent_headers, {"profile_id": ada}, priority="urgent")
    assert (normal["policy"], urgent["policy"]) == ("default", "urgent")
    raised = client.patch(f"/api/v1/cases/{normal['id']}", json={"priority": "urgent"}, headers=agent_headers).json()
    assert raised["policy"] == "urgent" and raised["sla"]["clocks"]["first_response"]["target_s"] == 1800
    names = [p["name"] for p in client.get("/api/v1/sla/policies", headers=agent_headers).json()["items"]]
    assert names == ["urgent", "default"]
