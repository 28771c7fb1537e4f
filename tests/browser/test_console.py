"""The staff console in Debian's Chromium, driven by Playwright, against the app under uvicorn.

Set RAPPORT_SCREENSHOT_DIR to keep a screenshot of the Customer 360 page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser.chromium import screenshot
from browser.console_seed import EMAIL, PHONE, bearer, post_batch, profile_of, reject_one, seed_customer

pytestmark = pytest.mark.browser


def sign_in(page: Any, token: str) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Staff API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console$"))


def test_sign_in_with_the_keyboard_and_a_wrong_token_first(page, admin_token):
    page.goto("/console")
    assert page.url.endswith("/console/sign-in")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    expect(skip).to_be_in_viewport()  # the skip link shows itself when focused (once the style has applied)
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "token":
            break
    assert page.evaluate("document.activeElement.id") == "token"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("rpt_wrong-token")
    with page.expect_response(lambda r: r.url.endswith("/console/sign-in") and r.request.method == "POST") as wrong:
        page.keyboard.press("Enter")
    assert wrong.value.status == 401
    assert "Could not sign you in" in page.get_by_role("alert").inner_text()
    assert page.evaluate("document.activeElement.id") == "token"  # focus returns to the field to retry
    page.keyboard.press("Control+A")
    page.keyboard.type(admin_token)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a customer")
    assert "Signed in as" in page.locator(".whoami").inner_text()


def test_search_by_email_and_phone_then_customer_360(page, http, make_source, admin_token):
    seed_customer(http, make_source, bearer(admin_token))
    sign_in(page, admin_token)
    search = page.get_by_label("Email, phone, name or any id")
    search.fill("ADA@example.com")
    search.press("Enter")
    results = page.get_by_role("table").get_by_role("link")
    assert results.count() == 1 and results.first.inner_text() == "Ada Lovelace"
    page.get_by_label("Email, phone, name or any id").fill("(415) 555-0100")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=%28415%29"))
    page.get_by_role("link", name="Ada Lovelace").click()

    page.wait_for_url(re.compile(r"/console/profiles/\w+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    identifiers = page.get_by_role("region", name="Identifiers").inner_text()
    for value in (EMAIL, PHONE, "u-ada", "pos-77", "call-5"):
        assert value in identifiers
    traits = page.get_by_role("region", name="Traits")
    assert "Website (web)" in traits.get_by_role("row", name=re.compile("^plan")).inner_text()
    assert "Store POS (store)" in traits.get_by_role("row", name=re.compile("^city")).inner_text()
    rows = page.get_by_role("region", name="Timeline").locator("tbody tr")
    assert rows.count() == 7
    channels = {rows.nth(i).locator(".chip").inner_text() for i in range(rows.count())}
    assert {"web", "store", "call center"} <= channels
    assert "Support Call Ended" in rows.first.inner_text()  # newest first
    screenshot(page, "customer-360")


def test_undo_a_merge_from_the_360_page(page, http, make_source, admin_token):
    seed_customer(http, make_source, bearer(admin_token))
    merged = profile_of(http, bearer(admin_token), f"email:{EMAIL}")
    assert profile_of(http, bearer(admin_token), f"phone:{PHONE}")["id"] == merged["id"]
    sign_in(page, admin_token)
    page.goto(f"/console/profiles/{merged['id']}")
    history = page.get_by_role("region", name="Merge history")
    history.get_by_role("button", name=re.compile(r"^Undo merge \d+$")).click()
    assert re.search(r"Merge \d+ undone", page.get_by_role("status").inner_text())
    assert "Undone" in history.inner_text() and "by staff:" in history.inner_text()
    assert history.get_by_role("button", name=re.compile("^Undo")).count() == 0

    by_email = profile_of(http, bearer(admin_token), f"email:{EMAIL}")
    by_phone = profile_of(http, bearer(admin_token), f"phone:{PHONE}")
    assert by_email["id"] != by_phone["id"]
    page.get_by_role("status").get_by_role("link").click()  # the restored profile, on its own again
    identifiers = page.get_by_role("region", name="Identifiers").inner_text()
    assert ("pos-77" in identifiers) != ("u-ada" in identifiers)

    # The undo was a mistake: merge the other profile back in, by its email, from this page.
    page.get_by_label("The other profile").fill(EMAIL)
    page.get_by_label("Why they are the same person").fill("Ada confirmed both on the phone")
    page.get_by_role("button", name="Merge into this customer").click()
    assert re.search(r"Merge \d+ made", page.get_by_role("status").inner_text())
    history = page.get_by_role("region", name="Merge history")
    assert "Ada confirmed both on the phone" in history.inner_text()
    assert profile_of(http, bearer(admin_token), f"email:{EMAIL}")["id"] == by_phone["id"]


def test_dead_letters_page_lists_a_rejected_message(page, http, make_source, make_token):
    reject_one(http, make_source("mobile", "Mobile app"))
    sign_in(page, make_token("analyst"))
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Dead letters").click()
    page.wait_for_url(re.compile(r"/console/dead-letters$"))
    row = page.get_by_role("table").locator("tbody tr").first
    text = row.inner_text()
    assert "Mobile app" in text and "missing_id" in text and "Lost Cart" in text


def test_admin_rotates_a_write_key_and_revokes_a_token(page, http, make_source, make_token, admin_token):
    source = make_source("web", "Website")
    analyst = make_token("analyst")
    sign_in(page, admin_token)
    nav = page.get_by_role("navigation", name="Console")
    nav.get_by_role("link", name="Sources").click()
    page.get_by_text("Change Website").click()  # the disclosure opens
    form = page.get_by_role("form", name="Rotate key: Website")
    form.get_by_role("button", name="Rotate key").click()
    assert page.url.endswith("/console/sources")  # not confirmed: the browser keeps the form
    form.get_by_label(re.compile("get 401 from now on")).check()
    form.get_by_role("button", name="Rotate key").click()
    expect(page.get_by_role("status")).to_contain_text("Website has a new write key")
    assert source.write_key not in page.content()
    assert http.post("/v1/batch", json={"batch": []}, auth=(source.write_key, "")).status_code == 401

    nav.get_by_role("link", name="Staff tokens").click()
    row = page.get_by_role("row").filter(has_text="analyst")
    row.get_by_role("button", name=re.compile(r"^Revoke token \d+$")).click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert "Revoked" in page.get_by_role("row").filter(has_text="analyst").inner_text()
    assert http.get("/api/v1/dead-letters", headers=bearer(analyst)).status_code == 401


@pytest.mark.parametrize("role", ["analyst", "agent"])
def test_roles_without_the_permission_get_403_on_sources(page, make_token, role):
    sign_in(page, make_token(role))
    assert page.get_by_role("navigation", name="Console").get_by_role("link", name="Sources").count() == 0
    response = page.goto("/console/sources")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_the_customer_360_says_how_each_identifier_is_known_and_staff_verify_one(
    page, http, make_source, make_token, admin_token
):
    seeded = seed_customer(http, make_source, bearer(admin_token))
    work = "ada.work@example.com"  # an address only the website ever stated: a claim
    post_batch(http, seeded.web, [{"type": "identify", "userId": "u-ada", "traits": {"email": work}}])
    pid = profile_of(http, bearer(admin_token), f"email:{work}")["id"]
    sign_in(page, make_token("agent"))  # an agent sees how each is known, but may not vouch for one
    page.goto(f"/console/profiles/{pid}")
    identifiers = page.get_by_role("region", name="Identifiers")
    work_row = identifiers.get_by_role("row").filter(has_text=work)
    expect(work_row).to_contain_text("Claimed by Website; not verified")
    expect(identifiers.get_by_role("row").filter(has_text="pos-77")).to_contain_text("Stated by Store POS")
    expect(identifiers.get_by_role("row").filter(has_text=EMAIL)).to_contain_text("Stated by Call center")
    assert work_row.get_by_role("button", name="Verify").count() == 0

    sign_in(page, admin_token)
    page.goto(f"/console/profiles/{pid}")
    work_row = page.get_by_role("region", name="Identifiers").get_by_role("row").filter(has_text=work)
    work_row.get_by_label(f"How you know {work} is theirs").fill("read back to her on the phone")
    work_row.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(rf"/console/profiles/{pid}$"))
    identifiers = page.get_by_role("region", name="Identifiers")
    expect(identifiers.get_by_role("row").filter(has_text=work)).to_contain_text("Verified by staff")
    audit = http.get("/api/v1/audit", headers=bearer(admin_token)).json()["items"]
    assert any(a["action"] == "identifier.verified" and a["profile_id"] == pid for a in audit)


def test_admin_sees_and_changes_a_sources_trust(page, http, make_source, admin_token):
    make_source("web", "Website")
    make_source("store", "Store POS")
    sign_in(page, admin_token)
    page.goto("/console/sources")
    expect(page.get_by_role("row").filter(has_text="Website")).to_contain_text("client")
    expect(page.get_by_role("row").filter(has_text="Store POS")).to_contain_text("server")
    page.get_by_text("Change Website").click()
    form = page.get_by_role("form", name="Make it server trust: Website")
    form.get_by_label(re.compile("will be believed")).check()
    form.get_by_role("button", name="Make it server trust").click()
    expect(page.get_by_role("status")).to_contain_text("Website is server trust from its next event on")
    expect(page.get_by_role("row").filter(has_text="Website")).to_contain_text("server")
    audit = http.get("/api/v1/audit", headers=bearer(admin_token)).json()["items"]
    assert any(a["action"] == "source.trust_changed" for a in audit)
