"""Export and erasure reach exactly the person's rejected messages: found by the identifiers in them,
emails in any case and phones in any format, never by a substring of a name ("Ada" in "Canada")."""

from __future__ import annotations

import pytest

from factories import profile_by, send_batch
from rapport.collect.subjects import person_keys, subject_keys

# A message every SDK would send but this server rejects: `properties` must be an object.
BAD = {"type": "track", "event": "Order Completed", "properties": "not an object"}


@pytest.fixture
def ada(client, make_source, admin_headers):
    web = make_source("web", name="site")
    traits = {"email": "ada@example.com", "phone": "+1 415 555 0100", "name": "Ada"}
    send_batch(client, web, [{"type": "identify", "userId": "ada", "traits": traits}])
    rejected = [
        {**BAD, "userId": "someone-else", "context": {"traits": {"city": "Canada", "name": "Adam Adams"}}},  # not hers
        {**BAD, "anonymousId": "x-1", "context": {"traits": {"email": "ADA@Example.COM"}}},  # hers, other case
        {**BAD, "anonymousId": "x-2", "context": {"traits": {"phone": "(415) 555-0100"}}},  # hers, other format
        {**BAD, "userId": "ada"},  # hers, by her user id
    ]
    send_batch(client, web, rejected)
    return profile_by(client, admin_headers, "user_id:ada")["id"]


def _letters(client, headers):
    return [d["payload"] for d in client.get("/api/v1/dead-letters", headers=headers).json()["items"]]


def test_export_holds_her_rejected_messages_and_no_one_elses(client, admin_headers, ada):
    res = client.post(f"/api/v1/profiles/{ada}/export", headers=admin_headers)
    payloads = [row["payload"] for row in res.json()["stores"]["dead_letters"]["rows"]]
    assert len(payloads) == 3, payloads
    assert not any("Canada" in p for p in payloads)


def test_erasure_deletes_hers_and_leaves_the_near_miss(client, admin_headers, ada):
    assert len(_letters(client, admin_headers)) == 4
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["dead_letters"]["rows"] == 3
    left = _letters(client, admin_headers)
    assert len(left) == 1 and "Canada" in left[0]


def test_identifiers_are_parsed_not_searched():
    keys = subject_keys('{"context": {"traits": {"email": " Ada@Example.com ", "phone": "+44 20 7946 0000"}}}')
    assert keys == {"email:ada@example.com", "phone_digits:442079460000"}
    assert subject_keys("not json at all, from ada@example.com") == {"email:ada@example.com"}
    assert subject_keys('{"userId": "u-1", "note": "ring 0207 946 0000 in Canada"}') == {"user_id:u-1"}
    spellings = person_keys(["phone:+442079460000"])
    assert {"phone_digits:442079460000", "phone_digits:2079460000", "phone_digits:02079460000"} <= set(spellings)


def test_the_audit_log_kept_after_erasure_holds_none_of_her_contact_data(client, admin_headers, make_source, ada):
    """Staff typed her address into a merge reason and a consent's source; the audit rows stay, the address goes."""
    web = make_source("web", name="shop")
    send_batch(client, web, [{"type": "identify", "anonymousId": "ada-tablet", "traits": {"name": "Ada L."}}])
    other = profile_by(client, admin_headers, "anonymous_id:ada-tablet")["id"]
    reason = "Ada rang from +14155550100 and confirmed ADA@example.com is hers"
    body = {"survivor_id": ada, "absorbed_id": other, "reason": reason}
    merged = client.post("/api/v1/merges", json=body, headers=admin_headers)
    assert merged.status_code in (200, 201), merged.text
    consent = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "call with ada@example.com"}
    assert client.post(f"/api/v1/profiles/{ada}/consents", json=consent, headers=admin_headers).status_code == 201
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=admin_headers).json()["receipt"]
    assert receipt["audit_log"]["action"] == "retained, contact data removed" and receipt["audit_log"]["rows"] >= 2
    audit = client.get("/api/v1/audit", headers=admin_headers).json()["items"]
    text = str(audit).lower()
    assert "ada@example.com" not in text and "+14155550100" not in text
    assert any(a["action"] == "merge.made" for a in audit), "what happened is kept"
