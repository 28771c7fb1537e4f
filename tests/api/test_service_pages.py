"""The service desk's pages through TestClient: the console's queue and case view with the Customer
360 beside it, the reply form; the portal's "My requests", where a customer sees only their own
cases and public replies, whatever numbers they try."""

from __future__ import annotations

from typing import Any

import pytest

from browser.portal_seed import csrf_of, link_path, seed_two


@pytest.fixture
def people(client, make_source, admin_headers):
    return seed_two(client, make_source, admin_headers)


def console_sign_in(client: Any, token: str) -> None:
    client.cookies.clear()
    assert client.post("/console/sign-in", data={"token": token}, follow_redirects=False).status_code == 303


def portal_sign_in(client: Any, headers: dict[str, str], profile_id: str) -> None:
    client.cookies.clear()
    assert client.post(link_path(client, headers, profile_id), follow_redirects=False).status_code == 303


def is_page(res: Any, status: int) -> bool:
    return res.status_code == status and res.headers["content-type"].startswith("text/html")


def open_case(client, headers, pid: str, subject: str) -> int:
    body = {"requester": {"profile_id": pid}, "subject": subject, "text": "Please help", "channel": "phone"}
    res = client.post("/api/v1/cases", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


def test_an_agent_takes_the_next_case_sees_the_customer_beside_it_and_replies(
    client, make_token, admin_headers, people
):
    ada, _bob = people
    case_id = open_case(client, admin_headers, ada.id, "Broken lamp")
    console_sign_in(client, make_token("agent"))
    queue = client.get("/console/service")
    assert is_page(queue, 200) and "Broken lamp" in queue.text and "Service queue" in queue.text
    taken = client.post("/console/service/next", data={"csrf": csrf_of(queue.text)}, follow_redirects=False)
    assert taken.status_code == 303 and taken.headers["location"] == f"/console/service/cases/{case_id}"
    page = client.get(taken.headers["location"])
    assert is_page(page, 200) and "Broken lamp" in page.text
    assert "ada@example.com" in page.text and "Consent" in page.text  # the Customer 360's panels, beside it
    sent = client.post(
        f"/console/service/cases/{case_id}/reply",
        data={"csrf": csrf_of(page.text), "text": "A new one is on its way.", "status": "solved"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    after = client.get(sent.headers["location"])
    assert "A new one is on its way." in after.text and "solved" in after.text
    forged = client.post(f"/console/service/cases/{case_id}/reply", data={"csrf": "nope", "text": "x"})
    assert is_page(forged, 403)
    for bad in ("abc", "0", "99999999999999999999", "12345"):
        assert is_page(client.get(f"/console/service/cases/{bad}"), 404), bad
    profile = client.get(f"/console/profiles/{ada.id}")
    assert "Service cases" in profile.text and "Broken lamp" in profile.text


def test_roles_that_do_not_serve_customers_get_no_service_pages(client, make_token, admin_headers, people):
    ada, _ = people
    case_id = open_case(client, admin_headers, ada.id, "Broken lamp")
    console_sign_in(client, make_token("marketer"))
    assert is_page(client.get("/console/service"), 403)
    assert is_page(client.get(f"/console/service/cases/{case_id}"), 403)
    assert "Service cases" not in client.get(f"/console/profiles/{ada.id}").text


def test_a_customer_sees_only_their_own_requests_and_public_replies(client, make_token, admin_headers, people):
    ada, bob = people
    adas = open_case(client, admin_headers, ada.id, "Ada lamp")
    bobs = open_case(client, admin_headers, bob.id, "Bob guitar")
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    client.post(f"/api/v1/cases/{adas}/messages", json={"text": "Suspicious customer", "internal": True}, headers=agent)
    client.post(f"/api/v1/cases/{adas}/messages", json={"text": "We are on it", "status": "pending"}, headers=agent)

    portal_sign_in(client, admin_headers, ada.id)
    mine = client.get("/portal/requests")
    assert is_page(mine, 200) and "Ada lamp" in mine.text and "Bob guitar" not in mine.text
    page = client.get(f"/portal/requests/{adas}")
    assert is_page(page, 200) and "We are on it" in page.text and "Suspicious" not in page.text
    for other in (str(bobs), "0", "abc", "999999", str(2**70)):
        assert is_page(client.get(f"/portal/requests/{other}"), 404), other
    theirs = client.post(f"/portal/requests/{bobs}/reply", data={"csrf": csrf_of(page.text), "text": "hi"})
    assert is_page(theirs, 404)
    answered = client.post(
        f"/portal/requests/{adas}/reply", data={"csrf": csrf_of(page.text), "text": "Thanks!"}, follow_redirects=False
    )
    assert answered.status_code == 303
    assert "Thanks!" in client.get(f"/portal/requests/{adas}").text
    assert client.get(f"/api/v1/cases/{adas}", headers=agent).json()["status"] == "open"  # woken by the answer
    assert is_page(client.post(f"/portal/requests/{adas}/reply", data={"csrf": "forged", "text": "x"}), 403)
    client.cookies.clear()
    assert client.get("/portal/requests", follow_redirects=False).status_code == 303  # sign in first
