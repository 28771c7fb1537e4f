"""The experience that adapts and asks first, in Debian's Chromium (issue 14's acceptance): a customer
answers a suggestion in the portal and the staff console shows it at once; the customer's
recommendations say why they are shown, from their own data only.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import new_tab, screenshot
from browser.console_seed import bearer, post_batch
from browser.portal_seed import link_path, seed_person
from factories import eventually
from rapport.decide.training import train_model

pytestmark = pytest.mark.browser

QUESTION = "We notice you use share prices often — move it to your home page?"
SHOPPERS = {"s1": "a1 a2", "s2": "a1 a2", "s3": "a1 a2 a3", "s4": "a2 a3"}
NAMES = {"a1": "Come On Over", "a2": "Spice", "a3": "OK Computer"}


@pytest.fixture
def tabs(browser: Any, live_server: Any) -> Any:
    opened: list[Any] = []

    def open_tab() -> Any:
        opened.append(new_tab(browser, live_server.url))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.context.close()


def _order(user: str, items: str) -> dict[str, Any]:
    products = [{"product_id": i, "name": NAMES[i], "category": "Music"} for i in items.split()]
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": user,
        "properties": {"order_id": user, "products": products},
    }


def _pending(http: Any, admin: dict[str, str], pid: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:  # the usage consumer may be a moment behind the profile processor
        found = http.get(f"/api/v1/profiles/{pid}/suggestions", headers=admin).json()["pending"]
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.1)


def test_a_customer_answers_a_suggestion_in_the_portal_and_the_console_shows_it_at_once(
    tabs, http, make_source, make_token, db
):
    admin = bearer(make_token("admin"))
    shop = make_source("store", "Shop")
    ada = seed_person(http, shop, admin, "u-ada", "ada@example.com", "Ada Lovelace")
    usage = [
        {"type": "track", "event": "Feature Used", "userId": "u-ada", "properties": {"feature": "share prices"}}
    ] * 8
    orders = [_order(user, items) for user, items in SHOPPERS.items()] + [_order("u-ada", "a1")]
    post_batch(http, shop, [*[{**m, "messageId": f"use-{n}"} for n, m in enumerate(usage)], *orders])
    http.put(f"/api/v1/profiles/{ada.id}/preferences", json={"personalization_level": "personal"}, headers=admin)
    consent = {"purpose": "personalization", "channel": "any", "status": "granted", "source": "form"}
    assert http.post(f"/api/v1/profiles/{ada.id}/consents", json=consent, headers=admin).status_code == 201
    assert [s["question"] for s in _pending(http, admin, ada.id)] == [QUESTION]
    assert eventually(lambda: train_model(db))  # once the orders are on profiles and item lines

    staff = tabs()
    staff.goto("/console/sign-in")
    staff.get_by_label("Staff API token").fill(make_token("agent"))
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url(re.compile(r"/console$"))
    staff.goto(f"/console/profiles/{ada.id}")
    panel = staff.get_by_role("region", name="Suggestions and answers")
    expect(panel.get_by_role("row", name=re.compile("share prices"))).to_contain_text("not answered yet")

    customer = tabs()
    customer.goto(link_path(http, admin, ada.id))
    customer.get_by_role("button", name="Continue to my account").click()
    customer.wait_for_url(re.compile(r"/portal$"))
    customer.get_by_role("link", name="Suggestions").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Suggestions")
    question = customer.get_by_role("listitem").filter(has_text=QUESTION)
    expect(question).to_be_visible()
    recommended = customer.get_by_role("region", name="Recommended for you")
    first = recommended.get_by_role("listitem").filter(has_text="Spice").first
    first.get_by_text("Why am I seeing this?").click()
    expect(first).to_contain_text("Because you bought Come On Over")
    expect(first).to_contain_text("You bought Come On Over on")
    expect(recommended).not_to_contain_text("OK Computer on")  # nobody else's purchases, only totals
    screenshot(customer, "portal-suggestions")
    question.get_by_role("button", name="Yes").click()
    expect(customer.get_by_role("status")).to_contain_text("Done: your layout is changed")
    answers = customer.get_by_role("region", name="Your answers")
    expect(answers).to_contain_text("On your home page: share prices")

    staff.reload()  # at once: the answer is in the console on the next page load
    row = staff.get_by_role("region", name="Suggestions and answers").get_by_role(
        "row", name=re.compile("share prices")
    )
    expect(row).to_contain_text("yes")
    expect(row).to_contain_text(f"customer:{ada.id}")
    expect(staff.get_by_role("region", name="Suggestions and answers")).to_contain_text("Home page: share prices")
    screenshot(staff, "console-suggestions")

    answers.get_by_role("button", name="Undo").click()
    expect(customer.get_by_role("status")).to_contain_text("Your answer is undone")
    expect(customer.get_by_role("listitem").filter(has_text=QUESTION).get_by_role("button", name="Yes")).to_be_visible()
    staff.reload()
    expect(
        staff.get_by_role("region", name="Suggestions and answers").get_by_role("row", name=re.compile("share prices"))
    ).to_contain_text("not answered yet")
