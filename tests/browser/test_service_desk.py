"""The service desk in Debian's Chromium (issue 15's acceptance): an agent takes the next case, sees
the customer's 360 beside it, replies; the customer sees the reply in My requests.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import new_tab, screenshot
from browser.console_seed import bearer
from browser.portal_seed import link_path, seed_person

pytestmark = pytest.mark.browser

REPLY = "A new lamp is on its way: it arrives on Thursday."


@pytest.fixture
def tabs(browser: Any, live_server: Any) -> Any:
    opened: list[Any] = []

    def open_tab() -> Any:
        opened.append(new_tab(browser, live_server.url))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.context.close()


def test_an_agent_takes_the_next_case_replies_and_the_customer_sees_it(tabs, http, make_source, make_token):
    admin = bearer(make_token("admin"))
    # The shop's backend (server trust) asserts her address, so it joins her profile (ADR 0010).
    ada = seed_person(http, make_source("store", "Shop"), admin, "u-ada", "ada@example.com", "Ada Lovelace")
    opened = http.post(
        "/api/v1/cases",
        json={
            "requester": {"profile_id": ada.id},
            "subject": "Broken lamp",
            "text": "The lamp I bought arrived broken.",
            "channel": "phone",
        },
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()

    agent = tabs()
    agent.goto("/console/sign-in")
    agent.get_by_label("Staff API token").fill(make_token("agent"))
    agent.get_by_role("button", name="Sign in").click()
    agent.wait_for_url(re.compile(r"/console$"))
    agent.get_by_role("navigation", name="Console").get_by_role("link", name="Service queue").click()
    expect(agent.get_by_role("heading", level=1)).to_have_text("Service queue")
    expect(agent.get_by_role("row", name=re.compile(f"{case['reference']}: Broken lamp"))).to_contain_text("nobody")
    agent.get_by_role("button", name="Take the next case").click()

    agent.wait_for_url(re.compile(rf"/console/service/cases/{case['id']}$"))
    expect(agent.get_by_role("heading", level=1)).to_have_text("Broken lamp")
    summary = agent.get_by_text(re.compile(rf"^Case {case['reference']} "))
    expect(summary).to_contain_text("assigned to")
    expect(summary).not_to_contain_text("assigned to nobody")  # taken: the agent's now
    messages = agent.get_by_role("region", name="Messages")
    expect(messages).to_contain_text("The lamp I bought arrived broken.")
    customer_360 = agent.get_by_role("region", name="The customer")  # the Customer 360's panels, beside the case
    expect(customer_360.get_by_role("link", name="Open the Customer 360")).to_have_attribute(
        "href", f"/console/profiles/{ada.id}"
    )
    identifiers = customer_360.get_by_role("region", name="Identifiers")
    expect(identifiers).to_contain_text("ada@example.com")
    expect(identifiers).to_contain_text("u-ada")
    expect(customer_360.get_by_role("region", name="Consent & preferences")).to_be_visible()
    expect(customer_360.get_by_role("region", name="Timeline")).to_contain_text("Viewed Ada Lovelace's basket")
    expect(customer_360.get_by_role("region", name="Service cases")).to_have_count(0)  # the case is the page
    screenshot(agent, "service-case")

    reply = agent.get_by_role("region", name="Reply")
    reply.get_by_label("Your reply").fill(REPLY)
    reply.get_by_label("Then the case is").select_option(label="pending")
    reply.get_by_role("button", name="Send").click()
    expect(agent.get_by_role("status")).to_have_text("Saved.")
    expect(messages).to_contain_text(REPLY)
    expect(summary).to_contain_text("· pending ·")

    customer = tabs()
    customer.goto(link_path(http, admin, ada.id))
    customer.get_by_role("button", name="Continue to my account").click()
    customer.wait_for_url(re.compile(r"/portal$"))
    customer.get_by_role("link", name="My requests").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("My requests")
    row = customer.get_by_role("row", name=re.compile("^Broken lamp"))
    expect(row).to_contain_text("pending")
    row.get_by_role("link", name="Broken lamp").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Broken lamp")
    expect(customer.get_by_role("article", name="Our reply")).to_contain_text(REPLY)
    expect(customer.get_by_role("article", name="You")).to_contain_text("The lamp I bought arrived broken.")
    screenshot(customer, "portal-my-request")
