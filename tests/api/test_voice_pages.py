"""Voice's console pages (charts with their figures as text, topics, surveys, the scorecard, the
Customer 360 panel with each ask-or-skip reason) and the portal's "My surveys"; lesser roles and bad
forms get pages with the error, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from browser.portal_seed import csrf_of, link_path
from factories import profile_by, send_batch

ADA = "ada@example.com"


def console_sign_in(client: Any, token: str) -> None:
    client.cookies.clear()
    assert client.post("/console/sign-in", data={"token": token}, follow_redirects=False).status_code == 303


def portal_sign_in(client: Any, headers: dict[str, str], profile_id: str) -> None:
    client.cookies.clear()
    assert client.post(link_path(client, headers, profile_id), follow_redirects=False).status_code == 303


def customer(client, backend, admin_headers, user: str) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com"}}])
    send_batch(client, backend, [{"type": "track", "userId": user, "event": "Order Completed"}])
    client.get("/api/v1/profiles/x", params={"consistent": "true"}, headers=admin_headers)
    return profile_by(client, admin_headers, f"user_id:{user}")["id"]


@pytest.fixture
def answered(client, backend, admin_headers) -> tuple[str, str, dict]:
    """Ada answered a detractor's NPS about delivery; Bob has a survey waiting in the portal."""
    body = {
        "name": "Delivery",
        "trigger": "manual",
        "delivery": "portal",
        "questions": [
            {"key": "nps", "type": "nps", "text": "Recommend?"},
            {"key": "why", "type": "text", "text": "Why?"},
        ],
    }
    survey = client.post("/api/v1/voice/surveys", json=body, headers=admin_headers).json()
    ada, bob = customer(client, backend, admin_headers, "ada"), customer(client, backend, admin_headers, "bob")
    invited = {}
    for pid in (ada, bob):
        invited[pid] = client.post(
            "/api/v1/voice/invitations",
            json={"survey_id": survey["id"], "profile_id": pid, "touchpoint": "delivery"},
            headers=admin_headers,
        ).json()
    client.post(f"/v1/voice/answers/{invited[ada]['token']}", json={"answers": {"nps": 4, "why": "Terrible courier"}})
    return ada, bob, invited


def test_the_overview_draws_each_metric_with_its_figures_as_text(client, make_token, answered):
    console_sign_in(client, make_token("analyst"))
    page = client.get("/console/voice")
    assert page.status_code == 200
    assert (
        page.text.count("<svg") >= 7 and 'role="img"' in page.text
    )  # NPS, CSAT, CES over time and by touchpoint, participation
    assert '<title id="nps-over-time-t">NPS (-100 to 100) by month</title>' in page.text
    assert ">-100</text>" in page.text  # the value written on the point
    assert 'id="table-nps-touchpoints"' in page.text and '<th scope="row">delivery</th>' in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing from elsewhere


def test_topics_surveys_and_the_scorecard_pages(client, make_token, answered):
    console_sign_in(client, make_token("admin"))
    topics = client.get("/console/voice/topics")
    assert topics.status_code == 200 and "courier" in topics.text
    assert client.get("/console/voice/topics?days=7").status_code == 400
    surveys = client.get("/console/voice/surveys")
    assert surveys.status_code == 200 and "Delivery" in surveys.text
    form = {
        "csrf": csrf_of(surveys.text),
        "name": "After a call",
        "trigger": "case_solved",
        "delivery": "email",
        "questions": "csat | csat* | How satisfied were you?\nces | ces | It was easy to get help.",
    }
    made = client.post("/console/voice/surveys", data=form, follow_redirects=False)
    assert made.status_code == 303
    assert "After a call" in client.get("/console/voice/surveys").text
    bad = client.post("/console/voice/surveys", data=form | {"questions": "just words"})
    assert bad.status_code == 400 and "key | type" in bad.text
    bad = client.post("/console/voice/surveys", data=form | {"trigger": "never"})
    assert bad.status_code == 400
    card = client.get("/console/voice/scorecard")
    assert card.status_code == 200 and card.text.count("<tr data-item=") == 10
    assessed = client.post(
        "/console/voice/scorecard/assess",
        data={"csrf": csrf_of(card.text), "item": "design_process", "met": "yes", "note": "Customer panel in May"},
        follow_redirects=False,
    )
    assert assessed.status_code == 303
    after = client.get("/console/voice/scorecard").text
    assert "Customer panel in May" in after and 'id="score-over-time"' in after
    nothing = client.post(
        "/console/voice/scorecard/assess", data={"csrf": csrf_of(card.text), "item": "x", "met": "yes"}
    )
    assert nothing.status_code == 400
    forged = client.post("/console/voice/scorecard/snapshot", data={"csrf": "forged"})
    assert 400 <= forged.status_code < 500


def test_the_customer_360_shows_each_ask_or_skip_with_its_reason(client, make_token, admin_headers, answered):
    ada, _bob, _ = answered
    again = client.post(
        "/api/v1/voice/invitations", json={"survey_id": 1, "profile_id": ada}, headers=admin_headers
    ).json()
    assert again["rule"] == "gap"
    console_sign_in(client, make_token("agent"))
    page = client.get(f"/console/profiles/{ada}")
    assert page.status_code == 200 and 'id="ask-decisions"' in page.text
    assert "Skipped" in page.text and "the minimum gap is 14 days" in page.text and "Asked" in page.text


def test_lesser_roles_get_a_refusal_page(client, make_token, answered):
    console_sign_in(client, make_token("marketer"))
    for url in ("/console/voice", "/console/voice/topics", "/console/voice/surveys", "/console/voice/scorecard"):
        assert client.get(url).status_code == 403, url
    console_sign_in(client, make_token("analyst"))
    page = client.get("/console/voice/surveys")
    assert page.status_code == 200 and "New survey" not in page.text
    res = client.post(
        "/console/voice/surveys",
        data={
            "csrf": csrf_of(client.get("/console/voice").text) if "csrf" in client.get("/console/voice").text else "",
            "name": "x",
        },
    )
    assert res.status_code == 403


def test_my_surveys_in_the_portal_lists_only_mine(client, admin_headers, answered):
    ada, bob, invited = answered
    portal_sign_in(client, admin_headers, bob)
    page = client.get("/portal/surveys")
    assert page.status_code == 200 and "Waiting for you" in page.text and "/s/" in page.text
    portal_sign_in(client, admin_headers, ada)
    page = client.get("/portal/surveys")
    assert "Answered" in page.text and "Waiting for you" not in page.text
    assert invited[bob]["token"] not in page.text
    # The survey page honours the customer's display settings.
    client.put(f"/api/v1/profiles/{bob}/preferences", json={"large_text": True}, headers=admin_headers)
    client.cookies.clear()
    hosted = client.get(f"/s/{invited[bob]['token']}")
    assert '<html lang="en" class="large-text">' in hosted.text
    embedded = client.get(f"/s/{invited[bob]['token']}?embed=1")
    assert (
        "frame-ancestors *" in embedded.headers["content-security-policy"] and "x-frame-options" not in embedded.headers
    )
    assert "masthead" not in embedded.text
    assert "frame-ancestors 'none'" in hosted.headers["content-security-policy"]
