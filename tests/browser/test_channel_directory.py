"""The public channel directory in Debian's Chromium: a visitor reads every way to reach us, its
hours, the promised and the actual first response, what it handles and where to help themselves,
by keyboard; a signed-in customer's display settings (large text, high contrast) apply to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import new_tab
from browser.console_seed import bearer
from browser.portal_seed import link_path, seed_two
from case_history import make_case

pytestmark = pytest.mark.browser

OFFICE = {
    "timezone": "Europe/London",
    "hours": {d: [["09:00", "12:30"], ["13:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


def test_a_visitor_reads_the_directory_and_a_customer_sees_it_in_their_display_settings(
    browser: Any, live_server: Any, http: Any, db: Any, make_source: Any, admin_token: str
) -> None:
    admin = bearer(admin_token)
    ada, _ = seed_two(http, make_source, admin)
    assert http.put("/api/v1/sla/calendars/office", json=OFFICE, headers=admin).is_success
    policy = {"position": 1, "channel": "phone", "calendar": "office", "first_response_minutes": 120}
    assert http.put("/api/v1/sla/policies/phone", json=policy, headers=admin).is_success
    phone = {"channel": "phone", "name": "Call us", "contact": "+44 20 7946 0000", "topics": ["billing", "outage"],
             "links": [{"label": "Service status", "url": "https://status.example.com", "kind": "third-party"}],
             "position": 1}  # fmt: skip
    email = {"channel": "email", "name": "Email us", "contact": "help@example.com", "position": 2,
             "links": [{"label": "Help center", "url": "/portal/help"}]}  # fmt: skip
    for key, body in (("phone", phone), ("email", email)):
        assert http.put(f"/api/v1/service/channels/{key}", json=body, headers=admin).is_success
    for minutes in (15, 30, 45, 60, 240):  # p90 of five (nearest rank): the 5th, 4 hours
        make_case(db, ada.id, "email", days_ago=3, reply_after_min=minutes)

    visitor = new_tab(browser, live_server.url)
    try:
        visitor.goto("/portal/channels")
        expect(visitor.get_by_role("heading", level=1)).to_have_text("How to reach us")
        call = visitor.get_by_role("region", name="Call us")
        expect(call.get_by_role("heading", level=2)).to_have_text("Call us")
        expect(call.locator(".promise")).to_have_text("2 hours of opening hours")
        expect(call.locator(".actual")).to_have_text("no answered requests yet")
        hours = call.get_by_role("table", name=re.compile("Opening hours"))
        expect(hours.get_by_role("row", name=re.compile("Monday"))).to_contain_text("09:00–12:30, 13:30–17:30")
        expect(hours.get_by_role("row", name=re.compile("Sunday"))).to_contain_text("Closed")
        expect(call.get_by_role("listitem").filter(has_text="billing")).to_have_count(1)
        expect(call.get_by_role("link", name="+44 20 7946 0000")).to_have_attribute("href", "tel:+442079460000")
        expect(call.get_by_role("link", name="Service status")).to_have_attribute("rel", "noopener noreferrer")
        mail = visitor.get_by_role("region", name="Email us")
        expect(mail.locator(".promise")).to_have_text("1 day")
        expect(mail.locator(".actual")).to_have_text("4 hours (5 requests)")
        expect(mail.get_by_text("Open all day, every day.")).to_be_visible()
        # Keyboard: the skip link first, then the page's own list of channels takes you to one.
        visitor.keyboard.press("Tab")
        expect(visitor.get_by_role("link", name="Skip to main content")).to_be_focused()
        visitor.get_by_role("navigation", name="Channels on this page").get_by_role("link", name="Email us").focus()
        visitor.keyboard.press("Enter")
        expect(visitor).to_have_url(re.compile(r"#channel-email$"))  # the fragment arrives after Enter
        untitled = visitor.evaluate("document.querySelectorAll('table:not(:has(caption)), th:not([scope])').length")
        assert untitled == 0
        assert visitor.evaluate("document.documentElement.className") == ""
    finally:
        visitor.context.close()

    customer = new_tab(browser, live_server.url)
    try:
        customer.goto(link_path(http, admin, ada.id))
        customer.get_by_role("button", name="Continue to my account").click()
        customer.wait_for_url(re.compile(r"/portal$"))
        customer.get_by_label("Large text", exact=True).check()
        customer.get_by_label("High contrast", exact=True).check()
        customer.get_by_role("button", name="Save display settings").click()
        customer.wait_for_url(re.compile(r"saved=display"))
        customer.get_by_role("link", name="How to reach us").click()
        expect(customer.get_by_role("heading", level=1)).to_have_text("How to reach us")
        assert customer.evaluate("document.documentElement.className") == "large-text high-contrast"
        size = customer.evaluate("getComputedStyle(document.body).fontSize")
        ink = customer.evaluate("getComputedStyle(document.body).color")
        assert size == "20px" and ink == "rgb(0, 0, 0)"
    finally:
        customer.context.close()
