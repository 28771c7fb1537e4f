"""What a client source's consent may do, and how the check treats an address by how it is known
(docs/decisions/0010-claims-and-assertions.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rapport.consent.model import (
    CONFIRMATION,
    PENDING,
    ConsentRecord,
    Preferences,
    Subject,
    as_claim,
    check_permission,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
ADDRESS = "ada@example.com"


def record(status: str = "granted", channel: str = "email", contact: str | None = None) -> ConsentRecord:
    return ConsentRecord("marketing", channel, contact, status, NOW, "tracking:site")


@pytest.mark.parametrize("status", ["denied", "withdrawn"])
def test_an_opt_out_from_a_browser_applies_at_once(status):
    assert as_claim(record(status), ADDRESS) == record(status)


@pytest.mark.parametrize("channel", ["web", "mobile"])
def test_a_browser_decides_its_own_channel(channel):
    assert as_claim(record(channel=channel), ADDRESS).status == "granted"


@pytest.mark.parametrize("channel", ["email", "sms", "phone", "any"])
def test_a_browser_grant_that_reaches_the_person_waits_for_confirmation(channel):
    claimed = as_claim(record(channel=channel), ADDRESS)
    assert (claimed.status, claimed.contact_point) == (PENDING, ADDRESS)
    assert as_claim(record(channel=channel, contact="other@example.com"), ADDRESS).contact_point == "other@example.com"


def decide(purpose: str, reach: str | None, *records: ConsentRecord):
    subject = Subject(records=records, preferences=Preferences(), reach=reach)
    return check_permission(subject, purpose, "email", NOW, ADDRESS, outreach=False)


def test_a_pending_grant_allows_nothing():
    decision = decide("marketing", "asserted", record(PENDING, contact=ADDRESS))
    assert not decision and "pending" in decision.reason


def test_a_claimed_address_gets_only_a_confirmation_request():
    assert not decide("service", "claimed")
    assert not decide("marketing", "claimed", record())
    assert decide(CONFIRMATION, "claimed")


def test_a_proven_address_gets_only_what_was_agreed_at_it():
    assert not decide("service", "proven")
    assert not decide("marketing", "proven", record())  # agreed for email in general, not at this address
    assert decide("marketing", "proven", record(contact=ADDRESS))
    assert decide("marketing", "asserted", record())  # an asserted address: any grant that covers it


def test_confirmation_is_refused_for_a_suppressed_address():
    subject = Subject(records=(), preferences=Preferences(), suppressed=True, reach="claimed")
    assert not check_permission(subject, CONFIRMATION, "email", NOW, ADDRESS, outreach=False)
