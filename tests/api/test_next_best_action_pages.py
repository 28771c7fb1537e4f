"""The console's next-best-action pages: every role reads the catalogue and policies, marketers and
admins change them through forms (CSRF-checked, audited), and bad input is a page that says why."""

from __future__ import annotations

from typing import Any

from browser.portal_seed import csrf_of
from factories import eventually, profile_by, send_batch
from rapport.collect.consumer import consumer_offset


def console_sign_in(client: Any, token: str) -> None:
    client.cookies.clear()
    assert client.post("/console/sign-in", data={"token": token}, follow_redirects=False).status_code == 303


def is_page(res: Any, status: int) -> bool:
    return res.status_code == status and res.headers["content-type"].startswith("text/html")


ACTION = {
    "id": "care",
    "name": "Care plan",
    "kind": "service_action",
    "title": "Protect it",
    "value": "40",
    "lever": "2",
}


def test_a_marketer_manages_actions_and_policies_and_an_analyst_reads(client, make_token, admin_headers):
    console_sign_in(client, make_token("marketer"))
    page = client.get("/console/decide/actions")
    assert is_page(page, 200) and "New action" in page.text
    csrf = csrf_of(page.text)
    made = client.post("/console/decide/actions", data={**ACTION, "csrf": csrf}, follow_redirects=False)
    assert made.status_code == 303, made.text
    action = client.get("/api/v1/actions/care", headers=admin_headers).json()
    assert (action["kind"], action["value"], action["lever"]) == ("service_action", 40.0, 2.0)
    rules = '{"placements": ["cart"]}'
    body = {"csrf": csrf, "name": "Cart only", "stage": "applicability", "actions": "care", "rules": rules}
    assert client.post("/console/decide/policies", data=body, follow_redirects=False).status_code == 303
    assert "Cart only" in client.get("/console/decide/policies").text
    assert (
        client.post("/console/decide/actions/care/disable", data={"csrf": csrf}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/api/v1/actions/care", headers=admin_headers).json()["enabled"] is False

    bad = [
        ("/console/decide/actions", {**ACTION, "id": "care"}, 409),  # exists
        ("/console/decide/actions", {**ACTION, "id": "x", "value": "lots"}, 400),
        ("/console/decide/actions", {**ACTION, "id": "x", "kind": "bribe"}, 400),
        ("/console/decide/actions/care/explode", {}, 404),
        ("/console/decide/actions/ghost/delete", {}, 404),
        ("/console/decide/policies", {"name": "n", "stage": "eligibility", "rules": "{not json"}, 400),
        ("/console/decide/policies", {"name": "n", "stage": "eligibility", "rules": '{"all": []}'}, 400),
        ("/console/decide/policies/abc/delete", {}, 404),
    ]
    for path, data, status in bad:
        assert is_page(client.post(path, data={**data, "csrf": csrf}), status), path
    assert client.post("/console/decide/actions", data=ACTION).status_code == 403  # no CSRF token

    console_sign_in(client, make_token("analyst"))
    page = client.get("/console/decide/actions")
    assert is_page(page, 200) and "Care plan" in page.text and "New action" not in page.text
    assert "Create policy" not in client.get("/console/decide/policies").text
    denied = client.post("/console/decide/actions", data={**ACTION, "id": "y", "csrf": csrf_of(page.text)})
    assert is_page(denied, 403)


def test_the_customer_360_shows_next_best_actions_and_what_was_answered(client, source, make_token, admin_headers, db):
    def sent(messages: list[dict[str, Any]]) -> None:
        offset = send_batch(client, source, messages).json()["offset"]
        assert eventually(lambda: min(consumer_offset(db, n) for n in ("profiles", "decide_outcomes")) >= offset)

    sent([{"type": "identify", "userId": "ann", "traits": {"name": "Ann"}}])
    pid = profile_by(client, admin_headers, "user_id:ann")["id"]
    body = {"id": "care", "name": "Care", "kind": "service_action", "title": "Protect it", "value": 40}
    assert client.post("/api/v1/actions", json=body, headers=admin_headers).status_code == 201
    decision = client.post(f"/api/v1/profiles/{pid}/decisions", json={}, headers=admin_headers).json()
    props = {"decision_id": decision["decision_id"], "action_id": "care"}
    sent([{"type": "track", "event": "Offer Dismissed", "userId": "ann", "properties": props}])
    console_sign_in(client, make_token("analyst"))
    page = client.get(f"/console/profiles/{pid}")
    assert is_page(page, 200)
    panel = page.text[page.text.index('id="nba-heading"') :]
    assert "Presented lately" in panel and "dismissed" in panel
    assert "care: suppressed until" in panel  # her no keeps it away, and the panel says so
