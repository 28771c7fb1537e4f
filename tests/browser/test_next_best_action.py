"""Next best action in Debian's Chromium (issue 14): a marketer creates an action in the console's
catalogue, and it shows among a customer's next best actions on their Customer 360, with its factors.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import screenshot
from browser.console_seed import bearer
from browser.portal_seed import seed_person

pytestmark = pytest.mark.browser


def test_a_marketer_creates_an_action_and_it_shows_on_the_customer_360(page: Any, http, make_source, make_token):
    admin = bearer(make_token("admin"))
    ada = seed_person(http, make_source("store", "Shop"), admin, "u-ada", "ada@example.com", "Ada Lovelace")

    page.goto("/console/sign-in")
    page.get_by_label("Staff API token").fill(make_token("marketer"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console$"))
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Next best actions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Next best actions")
    form = page.get_by_role("form", name="New action")
    form.get_by_label("Id").fill("winter-care")
    form.get_by_label("Name (for staff)").fill("Winter care plan")
    form.get_by_label("Kind").select_option("service_action")
    form.get_by_label("Title the customer sees").fill("Protect your lamp this winter")
    form.get_by_label("Value").fill("40")
    form.get_by_label("Business lever").fill("1.5")
    form.get_by_role("button", name="Create action").click()
    expect(page.get_by_role("status")).to_contain_text("Action created")
    expect(page.get_by_role("row", name=re.compile("Winter care plan"))).to_contain_text("service_action")
    screenshot(page, "nba-catalogue")

    page.goto(f"/console/profiles/{ada.id}")
    panel = page.get_by_role("region", name="Next best actions")
    row = panel.get_by_role("row", name=re.compile("Protect your lamp this winter"))
    expect(row).to_contain_text("service action")
    expect(row).to_contain_text("0.1")  # propensity: a new action's prior
    expect(row).to_contain_text("40")  # value
    expect(row).to_contain_text("6.0")  # priority = 0.1 x 40 x 1.5 x 1
    expect(panel.get_by_role("row", name=re.compile("Nothing"))).to_be_visible()  # do nothing, always there
    screenshot(page, "nba-customer-360")
