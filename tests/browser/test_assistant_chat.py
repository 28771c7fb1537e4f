"""The chat widget in Debian's Chromium (issue 16's acceptance): a visitor on the help center asks
the assistant, gets the answer with its article, asks for a person; the agent sees the conversation
and the Customer 360 in the console's case view and replies; the reply appears in the widget.
Driven by keyboard where a person would type.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from assistant_model import publish_articles, trained_dir
from browser.chromium import new_tab, screenshot
from browser.console_seed import bearer
from rapport.settings import load_settings

pytestmark = pytest.mark.browser
QUESTION = "I ordered my card two weeks ago and it still hasn't arrived"


@pytest.fixture
def settings(database_url: str) -> Any:
    return load_settings(
        database_url=database_url, processor="thread", sqlite_synchronous="NORMAL", data_dir=trained_dir()
    )


def test_a_visitor_chats_asks_for_a_person_and_the_agent_answers_in_the_widget(
    browser, live_server, settings, db, http, make_source, make_token
):
    publish_articles(db)
    site = make_source("web", "Website")
    settings.help_chat_write_key = site.write_key  # the help center embeds the widget with the site's key

    visitor = new_tab(browser, live_server.url)
    visitor.goto("/portal/help")
    toggle = visitor.get_by_role("button", name="Ask our assistant")
    toggle.focus()
    visitor.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    box = visitor.get_by_label("Your question")
    expect(box).to_be_focused()
    log = visitor.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    visitor.keyboard.type(QUESTION)
    visitor.keyboard.press("Enter")
    expect(log).to_contain_text("Cards arrive within 5 working days of ordering.")
    link = log.get_by_role("link", name="Read the article: When will my card arrive?")
    expect(link).to_have_attribute("href", re.compile(r"/portal/help/articles/card_arrival$"))
    box.fill("Can I talk to a person please?")
    visitor.keyboard.press("Enter")
    expect(log).to_contain_text("passed our conversation to a person")
    screenshot(visitor, "assistant-widget-handoff")
    reference = re.search(r"your request is ([A-Z0-9]{8})", log.inner_text()).group(1)  # type: ignore[union-attr]

    admin = bearer(make_token("admin"))
    found = [c for c in http.get("/api/v1/cases", headers=admin).json()["items"] if c["reference"] == reference]
    assert found and found[0]["channel"] == "chat"
    agent = new_tab(browser, live_server.url)
    agent.goto("/console/sign-in")
    agent.get_by_label("Staff API token").fill(make_token("agent"))
    agent.get_by_role("button", name="Sign in").click()
    agent.wait_for_url(re.compile(r"/console$"))
    agent.get_by_role("navigation", name="Console").get_by_role("link", name="Service queue").click()
    agent.get_by_role("link", name=re.compile(reference)).first.click()
    agent.wait_for_url(re.compile(rf"/console/service/cases/{found[0]['id']}$"))
    messages = agent.get_by_role("region", name="Messages")
    expect(messages).to_contain_text(QUESTION)
    expect(messages).to_contain_text("the assistant, before the handoff")
    expect(messages).to_contain_text("Cards arrive within 5 working days of ordering.")
    expect(messages).to_contain_text("Can I talk to a person please?")
    expect(agent.get_by_role("region", name="The customer")).to_be_visible()  # the Customer 360 beside it
    screenshot(agent, "assistant-case")

    reply = agent.get_by_role("region", name="Reply")
    reply.get_by_label("Your reply").fill("Hello, I am Sam. Your card was sent on Monday; it arrives tomorrow.")
    reply.get_by_role("button", name="Send").click()
    expect(agent.get_by_role("status")).to_have_text("Saved.")

    expect(log).to_contain_text("Agent: Hello, I am Sam.", timeout=15_000)  # the widget polls the case
    box.fill("Thank you!")
    visitor.keyboard.press("Enter")
    expect(visitor.get_by_role("button", name="Send")).to_be_enabled()  # disabled while it is being sent
    expect(visitor.get_by_role("status")).to_have_text("")  # and nothing went wrong
    agent.reload()
    expect(agent.get_by_role("region", name="Messages")).to_contain_text("Thank you!")
    visitor.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    visitor.context.close()
    agent.context.close()
