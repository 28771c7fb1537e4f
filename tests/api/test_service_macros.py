"""Macros: admins keep saved replies; agents fill one in for a case (the customer's first name, the
case's reference, their own name), read it, and send it, with the status and tags it sets; in the
console the reply form starts from it. And what lesser roles, strangers and bad input get."""

from __future__ import annotations

from typing import Any

import pytest

from browser.portal_seed import csrf_of
from factories import profile_by, send_batch

SHIPPED = {
    "name": "Shipped today",
    "text": "Hello {first_name},\n\nyour order ships today (case {reference}).\n\n{agent}",
    "status": "pending",
    "tags": ["Shipping"],
}


@pytest.fixture
def agent_token(make_token) -> str:
    return make_token("agent")


@pytest.fixture
def agent_headers(agent_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {agent_token}"}


@pytest.fixture
def ada(client, backend, admin_headers) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"name": "Ada Lovelace"}}])
    return profile_by(client, admin_headers, "user_id:ada")["id"]


@pytest.fixture
def case(client, agent_headers, ada) -> dict[str, Any]:
    body = {"requester": {"profile_id": ada}, "subject": "Late order", "text": "Where is it?", "channel": "phone"}
    res = client.post("/api/v1/cases", json=body, headers=agent_headers)
    assert res.status_code == 201, res.text
    return res.json()


@pytest.fixture
def macro(client, admin_headers) -> dict[str, Any]:
    res = client.post("/api/v1/macros", json=SHIPPED, headers=admin_headers)
    assert res.status_code == 201, res.text
    return res.json()


def test_an_agent_fills_in_and_sends_a_macro_with_its_status_and_tags(client, agent_headers, case, macro):
    assert [m["name"] for m in client.get("/api/v1/macros", headers=agent_headers).json()["items"]] == ["Shipped today"]
    filled = client.get(f"/api/v1/cases/{case['id']}/macros/{macro['id']}", headers=agent_headers).json()
    assert filled["text"].startswith(f"Hello Ada,\n\nyour order ships today (case {case['reference']}).")
    assert filled["status"] == "pending" and filled["tags"] == ["shipping"]
    res = client.post(
        f"/api/v1/cases/{case['id']}/macros/{macro['id']}", json={"note": "Tracking: 1Z999"}, headers=agent_headers
    )
    assert res.status_code == 201, res.text
    sent = res.json()
    assert sent["message"]["text"].endswith("Tracking: 1Z999") and "Hello Ada," in sent["message"]["text"]
    assert sent["message"]["public"] and sent["case"]["status"] == "pending"
    after = client.get(f"/api/v1/cases/{case['id']}", headers=agent_headers).json()
    assert after["tags"] == ["shipping"]
    assert client.get("/api/v1/macros", headers=agent_headers).json()["items"][0]["uses"] == 1


def test_a_name_is_filled_in_as_written_and_never_evaluated(client, backend, admin_headers, agent_headers):
    odd = "{agent} {0.__class__} Smith"
    send_batch(client, backend, [{"type": "identify", "userId": "odd", "traits": {"name": odd}}])
    pid = profile_by(client, admin_headers, "user_id:odd")["id"]
    body = {"requester": {"profile_id": pid}, "subject": "Hi", "text": "Hello", "channel": "phone"}
    case = client.post("/api/v1/cases", json=body, headers=agent_headers).json()
    made = client.post("/api/v1/macros", json={"name": "Hi", "text": "Dear {name}, thanks"}, headers=admin_headers)
    filled = client.get(f"/api/v1/cases/{case['id']}/macros/{made.json()['id']}", headers=agent_headers).json()
    assert filled["text"] == f"Dear {odd}, thanks"


def test_an_internal_macro_is_a_note_and_a_changed_macro_fills_in_anew(
    client, admin_headers, agent_headers, case, macro
):
    res = client.patch(f"/api/v1/macros/{macro['id']}", json={"internal": True, "status": None}, headers=admin_headers)
    assert res.status_code == 200 and res.json()["internal"] and res.json()["status"] is None
    sent = client.post(f"/api/v1/cases/{case['id']}/macros/{macro['id']}", json={}, headers=agent_headers).json()
    assert not sent["message"]["public"] and sent["case"]["status"] == case["status"]


def test_only_admins_keep_macros_and_only_case_workers_use_them(client, make_token, case, macro):
    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(role)}"}

    assert client.post("/api/v1/macros", json={**SHIPPED, "name": "x"}, headers=headers("agent")).status_code == 403
    assert client.delete(f"/api/v1/macros/{macro['id']}", headers=headers("marketer")).status_code == 403
    assert client.get("/api/v1/macros", headers=headers("analyst")).status_code == 403
    assert client.get("/api/v1/macros").status_code == 401
    use = f"/api/v1/cases/{case['id']}/macros/{macro['id']}"
    assert client.post(use, json={}, headers=headers("privacy")).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**SHIPPED, "text": "Hello {firstname}"}, 400, "unknown_placeholder"),
        ({**SHIPPED, "text": "Hello {first_name.__class__}"}, 400, "unknown_placeholder"),
        ({**SHIPPED, "text": "   "}, 400, "invalid_text"),
        ({**SHIPPED, "name": " "}, 400, "invalid_name"),
        ({**SHIPPED, "tags": ["no spaces please"]}, 400, "invalid_tags"),
        ({**SHIPPED, "status": "done"}, 400, "invalid_request"),
        ({**SHIPPED, "text": "x" * 20_001}, 400, "invalid_request"),
        ({**SHIPPED, "name": "Other", "tags": "shipping"}, 400, "invalid_request"),
        ({"name": "SHIPPED TODAY", "text": "again"}, 409, "macro_exists"),
    ],
)
def test_bad_macros_are_refused_with_a_reason(client, admin_headers, macro, body, status, code):
    res = client.post("/api/v1/macros", json=body, headers=admin_headers)
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json")
    if code:
        assert res.json()["code"] == code


def test_unknown_macros_and_cases_are_404(client, admin_headers, agent_headers, case, macro):
    assert client.get(f"/api/v1/cases/{case['id']}/macros/999", headers=agent_headers).status_code == 404
    assert client.post(f"/api/v1/cases/999/macros/{macro['id']}", json={}, headers=agent_headers).status_code == 404
    assert client.patch("/api/v1/macros/999", json={"name": "x"}, headers=admin_headers).status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}/macros/0", headers=agent_headers).status_code == 400
    assert client.delete(f"/api/v1/macros/{macro['id']}", headers=admin_headers).status_code == 204
    assert (
        client.post(f"/api/v1/cases/{case['id']}/macros/{macro['id']}", json={}, headers=agent_headers).status_code
        == 404
    )


def test_the_console_reply_form_starts_from_a_macro_and_sending_it_tags_the_case(
    client, agent_token, agent_headers, case, macro
):
    client.cookies.clear()
    assert client.post("/console/sign-in", data={"token": agent_token}, follow_redirects=False).status_code == 303
    page = client.get(f"/console/service/cases/{case['id']}", params={"macro": macro["id"]})
    assert page.status_code == 200 and "Hello Ada," in page.text and 'name="macro"' in page.text
    assert '<option value="pending" selected>' in page.text
    res = client.post(
        f"/console/service/cases/{case['id']}/reply",
        data={
            "csrf": csrf_of(page.text),
            "text": "Hello Ada, it ships today.",
            "status": "pending",
            "macro": macro["id"],
        },
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent_headers).json()["tags"] == ["shipping"]
    assert client.get(f"/console/service/cases/{case['id']}", params={"macro": "abc"}).status_code == 404
