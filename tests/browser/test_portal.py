"""The customer portal in Debian's Chromium, with the staff console open beside it in a second context.

Set RAPPORT_SCREENSHOT_DIR to keep screenshots of the pages visited.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import new_tab, screenshot
from browser.console_seed import bearer
from browser.portal_seed import link_path, seed_two, unsubscribe_path

pytestmark = pytest.mark.browser


@pytest.fixture
def tabs(browser: Any, live_server: Any) -> Any:
    opened: list[Any] = []

    def open_tab(**options: Any) -> Any:
        opened.append(new_tab(browser, live_server.url, **options))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.context.close()


def sign_in_customer(tab: Any, http: Any, admin: dict[str, str], profile_id: str) -> None:
    tab.goto(link_path(http, admin, profile_id))
    tab.get_by_role("button", name="Continue to my account").click()
    tab.wait_for_url(re.compile(r"/portal$"))
    expect(tab.get_by_role("heading", level=1)).to_have_text("My preferences")


def sign_in_staff(tab: Any, token: str) -> None:
    tab.goto("/console/sign-in")
    tab.get_by_label("Staff API token").fill(token)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(re.compile(r"/console$"))


def cell_status(tab: Any, purpose: str, channel: str) -> str:
    return tab.locator(f"#consent-{purpose}-{channel}-status").inner_text()


def test_customer_choices_show_at_once_on_the_console_360(tabs, http, db, make_source, admin_token):
    admin = bearer(admin_token)
    ada, _ = seed_two(http, make_source, admin)
    staff = tabs()
    sign_in_staff(staff, admin_token)
    staff.goto(f"/console/profiles/{ada.id}")
    consent = staff.get_by_role("region", name="Consent & preferences")
    assert "Contextual" in consent.inner_text() and "No consent on record" in consent.inner_text()

    customer = tabs()
    sign_in_customer(customer, http, admin, ada.id)
    boxes = customer.locator('input[name="consent"]')
    assert boxes.count() == 24 and all(not boxes.nth(i).is_checked() for i in range(24))  # 6 purposes x 4; none ticked
    customer.get_by_label("Personal", exact=True).check()
    customer.get_by_role("button", name="Save personalization level").click()
    assert "personalization level is saved" in customer.get_by_role("status").inner_text()
    assert customer.get_by_label("Personal", exact=True).is_checked()

    customer.get_by_label("Allow marketing by email").check()
    customer.get_by_label("Allow analytics by website").check()
    customer.get_by_role("button", name="Save consent choices").click()
    assert "consent choices are saved" in customer.get_by_role("status").inner_text()
    assert customer.get_by_label("Allow marketing by email").is_checked()
    assert cell_status(customer, "analytics", "web").startswith("Granted")
    customer.get_by_label("Allow analytics by website").uncheck()
    customer.get_by_role("button", name="Save consent choices").click()
    assert cell_status(customer, "analytics", "web").startswith("Withdrawn")
    screenshot(customer, "portal-preferences")

    customer.goto(unsubscribe_path(db, ada))
    expect(customer.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    assert ada.email in customer.locator("main").inner_text()
    screenshot(customer, "unsubscribe-confirm")
    customer.goto("/portal")
    assert customer.get_by_label("Allow marketing by email").is_checked()  # opening the link changed nothing
    customer.goto(unsubscribe_path(db, ada))
    customer.get_by_role("button", name="Confirm: unsubscribe").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")

    staff.reload()
    consent = staff.get_by_role("region", name="Consent & preferences")
    assert "Personal" in consent.locator(".level").inner_text()
    unsubscribed = consent.get_by_role("row", name=re.compile(r"^marketing email ada@example\.com"))
    assert "withdrawn" in unsubscribed.inner_text() and "unsubscribe-link" in unsubscribed.inner_text()
    withdrawn = consent.get_by_role("row", name=re.compile(r"^analytics web —"))
    assert "withdrawn" in withdrawn.inner_text() and "portal" in withdrawn.inner_text()
    screenshot(staff, "console-360-consent")

    customer.goto("/portal")
    assert not customer.get_by_label("Allow marketing by email").is_checked()
    assert cell_status(customer, "marketing", "email").startswith(f"Withdrawn for {ada.email}")


def test_display_settings_change_how_the_portal_renders(tabs, http, make_source, admin_token):
    admin = bearer(admin_token)
    ada, _ = seed_two(http, make_source, admin)
    customer = tabs(reduced_motion="no-preference")
    sign_in_customer(customer, http, admin, ada.id)

    def style(selector: str, prop: str) -> str:
        return customer.evaluate(f"getComputedStyle(document.querySelector('{selector}')).{prop}")

    assert style("body", "fontSize") == "16px"
    assert style(".button", "transitionDuration") != "0s"
    ink = style("body", "color")
    customer.get_by_label("Large text", exact=True).check()
    customer.get_by_role("button", name="Save display settings").click()
    customer.wait_for_url(re.compile(r"saved=display"))
    assert style("body", "fontSize") == "20px"
    assert float(style("h1", "fontSize").removesuffix("px")) > 28
    screenshot(customer, "portal-large-text")

    customer.get_by_label("High contrast", exact=True).check()
    customer.get_by_label("Reduced motion", exact=True).check()
    customer.get_by_role("button", name="Save display settings").click()
    assert customer.evaluate("document.documentElement.className") == "large-text high-contrast reduced-motion"
    assert style("body", "color") == "rgb(0, 0, 0)" != ink
    assert style(".masthead", "backgroundColor") == "rgb(0, 0, 0)"
    assert style(".button", "transitionDuration") == "0s"
    screenshot(customer, "portal-high-contrast")
    customer.goto("/portal/data")  # every portal page honours the settings
    assert style("body", "fontSize") == "20px"

    customer.get_by_role("link", name="My preferences").click()
    for label in ("Large text", "High contrast", "Reduced motion"):
        customer.get_by_label(label, exact=True).uncheck()
    customer.get_by_role("button", name="Save display settings").click()
    assert style("body", "fontSize") == "16px"


def test_sign_in_page_by_keyboard_and_global_privacy_control(tabs, http, make_source, admin_token):
    admin = bearer(admin_token)
    ada, _ = seed_two(http, make_source, admin)
    visitor = tabs()
    visitor.goto("/portal/data")
    assert visitor.url.endswith("/portal/sign-in")
    visitor.keyboard.press("Tab")
    assert visitor.get_by_role("link", name="Skip to main content").evaluate("el => el === document.activeElement")
    for _ in range(6):
        visitor.keyboard.press("Tab")
        if visitor.evaluate("document.activeElement.id") == "email":
            break
    assert visitor.evaluate("document.activeElement.id") == "email"
    visitor.keyboard.type("someone@example.com")
    visitor.keyboard.press("Enter")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Check your email")  # waits for the next page

    private = tabs(extra_http_headers={"Sec-GPC": "1"})
    sign_in_customer(private, http, admin, ada.id)
    assert "Global Privacy Control honoured" in private.get_by_role("status").first.inner_text()
    assert "sharing" not in [b.get_attribute("value") for b in private.locator('input[name="consent"]:checked').all()]
    screenshot(private, "portal-gpc")
    with private.expect_download() as download:
        private.goto("/portal/download")
        private.get_by_role("button", name="Download JSON").click()
    assert download.value.suggested_filename.startswith("my-data-")
