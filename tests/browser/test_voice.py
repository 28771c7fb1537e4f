"""Voice of the customer in Debian's Chromium (issue 17's acceptance): a customer answers a survey
from the link in the mail the SMTP server caught, with no sign-in; the console's NPS chart and the
participation scorecard change.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import new_tab, screenshot
from browser.console_seed import bearer
from browser.portal_seed import seed_person
from factories import eventually

pytestmark = pytest.mark.browser

SURVEY = {
    "name": "How did we do?",
    "trigger": "case_solved",
    "questions": [
        {"key": "nps", "type": "nps", "text": "How likely are you to recommend us to a friend?", "required": True},
        {"key": "why", "type": "text", "text": "What is the main reason for your score?"},
    ],
}


@pytest.fixture
def tabs(browser: Any, live_server: Any) -> Any:
    opened: list[Any] = []

    def open_tab() -> Any:
        opened.append(new_tab(browser, live_server.url))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.context.close()


def score_of(tab: Any) -> int:
    text = tab.locator("#score").inner_text()
    return int(re.match(r"(\d+) out of 10", text).group(1))


def test_a_customer_answers_from_the_mail_and_the_console_shows_it(tabs, http, make_source, make_token, smtp):
    admin = bearer(make_token("admin"))
    ada = seed_person(http, make_source("store", "Shop"), admin, "u-ada", "ada@example.com", "Ada Lovelace")
    grant = {"purpose": "surveys", "channel": "email", "status": "granted", "source": "signup form"}
    assert http.post(f"/api/v1/profiles/{ada.id}/consents", json=grant, headers=admin).status_code == 201
    assert http.post("/api/v1/voice/surveys", json=SURVEY, headers=admin).status_code == 201
    goal = {"monthly_goal": 1, "values": {}}
    assert http.put("/api/v1/voice/settings/participation", json=goal, headers=admin).status_code == 200

    console = tabs()
    console.goto("/console/sign-in")
    console.get_by_label("Staff API token").fill(make_token("admin"))
    console.get_by_role("button", name="Sign in").click()
    console.wait_for_url(re.compile(r"/console$"))
    console.get_by_role("navigation", name="Console").get_by_role("link", name="Voice of the customer").click()
    nps_chart = console.get_by_role("img", name="NPS (-100 to 100) by month")
    expect(nps_chart).to_contain_text("No answers yet")
    console.goto("/console/voice/scorecard")
    expect(console.locator("#scorecard tbody tr")).to_have_count(10)
    before = score_of(console)
    expect(console.locator('tr[data-item="participation_goal"]')).to_contain_text("no")

    opened = http.post(
        "/api/v1/cases",
        json={"requester": {"profile_id": ada.id}, "subject": "Broken lamp", "text": "It broke.", "channel": "phone"},
        headers=admin,
    ).json()
    solved = http.post(
        f"/api/v1/cases/{opened['id']}/messages",
        json={"text": "A new one is on its way.", "status": "solved"},
        headers=admin,
    )
    assert solved.status_code == 201
    mail = eventually(lambda: [m for m in smtp.messages if m["Subject"] == "How did we do?"], timeout=20)[0]
    assert mail["To"] == "ada@example.com"
    link = re.search(r"https?://\S+(/s/\S+)", mail.get_body(preferencelist=("plain",)).get_content()).group(1)

    customer = tabs()
    customer.goto(link)  # the mail's link on the test server; no sign-in: the signed link is the invitation
    expect(customer.get_by_role("heading", level=1)).to_have_text("How did we do?")
    question = customer.get_by_role("group", name=re.compile("How likely are you to recommend us"))
    question.get_by_label("3", exact=True).check()
    customer.get_by_label("What is the main reason for your score?").fill("The lamp came broken and nobody called.")
    screenshot(customer, "voice-survey")
    customer.get_by_role("button", name="Send my answer").click()
    expect(customer.get_by_role("status")).to_contain_text("someone from our team will call you within 48 hours")
    expect(customer.get_by_role("button", name="Change my answer")).to_be_visible()

    console.goto("/console/voice")
    nps_chart = console.get_by_role("img", name="NPS (-100 to 100) by month")
    expect(nps_chart).not_to_contain_text("No answers yet")
    expect(nps_chart.locator("text", has_text=re.compile(r"^-100$"))).to_have_count(2)  # the axis and the point
    console.get_by_text("NPS (-100 to 100): the figures").click()
    expect(console.locator("#table-nps-touchpoints")).to_contain_text("case solved")
    screenshot(console, "voice-overview")
    console.goto("/console/voice/scorecard")
    expect(console.locator('tr[data-item="participation_goal"]')).to_contain_text("yes")
    assert score_of(console) == before + 1
    console.get_by_label("Item").select_option("design_process")
    console.get_by_label("Yes").check()
    console.get_by_label("Note: the evidence").fill("Five customers reviewed the new returns form in November.")
    console.get_by_role("button", name="Save assessment").click()
    expect(console.locator("#score")).to_contain_text(f"{before + 2} out of 10")
    expect(console.get_by_role("img", name=re.compile("Scorecard score over time"))).to_contain_text(str(before + 2))

    console.goto("/console/service")
    expect(console.get_by_role("row", name=re.compile("Call back: survey feedback"))).to_be_visible()
