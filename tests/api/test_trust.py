"""The trust model (docs/decisions/0010-claims-and-assertions.md), driven as a stranger would drive it:
with a website's public write key and nothing else. Each attack of docs/threat-model.md worked on
the code before sources had trust levels; here each must fail, while stitching still works and a
customer who confirms their own address gets what they asked for."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from factories import eventually, profile_by, send_batch, settled_history
from rapport.collect.service import set_source_trust

VICTIM, EVIL = "vic@example.com", "mallory@evil.example"


@pytest.fixture
def shop(make_source):
    return make_source("store", "shop")  # the shop's till: server trust, it knows its customers


@pytest.fixture
def victim(client, shop, admin_headers) -> str:
    send_batch(client, shop, [{"type": "identify", "userId": "vic", "traits": {"email": VICTIM, "plan": "gold"}}])
    return profile_by(client, admin_headers, "user_id:vic")["id"]


def claim_address(client, web, user_id: str = "vic", address: str = EVIL, message_id: str = "claim-1") -> None:
    """Attack 1's first step: the victim's user id and the attacker's address, through the public key."""
    identify = {
        "type": "identify",
        "messageId": message_id,
        "userId": user_id,
        "anonymousId": "mallory-browser",
        "traits": {"email": address},
    }
    assert send_batch(client, web, [identify]).status_code == 200


def link_in(mail, path: str) -> str:
    return urlsplit(next(w for w in mail.get_content().split() if path in w)).path


def identifiers_by_value(client, headers, profile_id) -> dict[str, dict]:
    profile = client.get(f"/api/v1/profiles/{profile_id}", params={"consistent": "true"}, headers=headers).json()
    return {i["value"]: i for i in profile["identifiers"]}


def test_a_claimed_address_does_not_open_the_portal(client, source, victim, admin_headers, smtp):
    claim_address(client, source)
    assert profile_by(client, admin_headers, f"email:{EVIL}")["id"] == victim  # stitched, for analytics
    known = identifiers_by_value(client, admin_headers, victim)
    assert (known[EVIL]["verification"], known[EVIL]["source"]) == ("claimed", source.name)
    assert (known[VICTIM]["verification"], known[VICTIM]["verified_by"]) == ("asserted", "source:shop")

    # The portal answers as for any address; what arrives is a link that only confirms the address.
    assert client.post("/portal/sign-in", data={"email": EVIL}).status_code == 200
    [mail] = eventually(lambda: smtp.messages)
    assert mail["To"] == EVIL and "/portal/auth/" not in mail.get_content()
    confirm = link_in(mail, "/portal/confirm/")
    assert client.get(confirm).status_code == 200  # opening it spends nothing
    done = client.post(confirm, follow_redirects=False)
    assert done.status_code == 200 and "Address confirmed" in done.text
    assert client.get("/portal", follow_redirects=False).headers["location"].startswith("/portal/sign-in")
    assert client.post(confirm).status_code == 410  # once
    # Proven, still not theirs: the victim's service mail does not follow it.
    assert identifiers_by_value(client, admin_headers, victim)[EVIL]["verification"] == "proven"

    # The victim's own address signs in, as before.
    assert client.post("/portal/sign-in", data={"email": VICTIM}).status_code == 200
    sign_in = eventually(lambda: [m for m in smtp.messages if m["To"] == VICTIM])
    res = client.post(link_in(sign_in[0], "/portal/auth/"), follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/portal"


def test_mail_goes_only_to_an_asserted_address(client, source, victim, admin_headers, smtp):
    claim_address(client, source)  # the newest address on the profile is now the attacker's
    body = {"profile_id": victim, "purpose": "service", "subject": "Your invoice", "text": "Paid"}
    assert client.post("/api/v1/messages", json=body, headers=admin_headers).json()["status"] == "queued"
    [mail] = eventually(lambda: smtp.messages)
    assert mail["To"] == VICTIM
    assert settled_history(client, admin_headers, victim)[0]["contact_point"] == VICTIM


def test_a_claim_never_joins_two_customers_a_server_knows(client, source, shop, victim, admin_headers, smtp):
    # Mallory is a customer too: the shop's till asserted her address (no account, so no user id to
    # keep the two apart). A browser naming the victim's user id with Mallory's verified address
    # would join them, and Mallory's sign-in would open the victim's data.
    till = {"type": "identify", "anonymousId": "till-receipt-42", "traits": {"email": EVIL}}
    send_batch(client, shop, [till])
    mallory = profile_by(client, admin_headers, f"email:{EVIL}")["id"]
    claim_address(client, source)
    assert profile_by(client, admin_headers, "user_id:vic")["id"] == victim
    assert profile_by(client, admin_headers, f"email:{EVIL}")["id"] == mallory != victim
    # A server source may join them: it knows what it says.
    send_batch(client, shop, [{"type": "identify", "userId": "vic", "traits": {"email": EVIL}}])
    assert profile_by(client, admin_headers, f"email:{EVIL}")["id"] == victim


def test_a_browser_cannot_opt_a_known_customer_in(client, source, victim, admin_headers, smtp):
    forged = {"purpose": "marketing", "channel": "email", "status": "granted"}
    event = {"type": "track", "userId": "vic", "event": "Consent Updated", "properties": forged}
    send_batch(client, source, [event])
    profile_by(client, admin_headers, "user_id:vic")
    consents = client.get(f"/api/v1/profiles/{victim}/consents", headers=admin_headers).json()
    assert [(r["purpose"], r["status"]) for r in consents["history"]] == [("marketing", "pending")]
    check = {"purpose": "marketing", "channel": "email", "contact_point": VICTIM}
    decision = client.get(f"/api/v1/profiles/{victim}/permission", params=check, headers=admin_headers).json()
    assert decision["allowed"] is False and "pending" in decision["reason"]
    body = {"profile_id": victim, "purpose": "marketing", "subject": "Sale", "text": "50% off"}
    assert client.post("/api/v1/messages", json=body, headers=admin_headers).json()["status"] == "suppressed"
    # Double opt-in: only the holder of the customer's own address can confirm, and they never asked.
    [mail] = eventually(lambda: smtp.messages)
    assert (mail["To"], mail["Subject"]) == (VICTIM, "Confirm your email address")


def test_a_browser_may_still_decide_for_its_own_channel_and_opt_out(client, source, victim, admin_headers):
    banner = {"consent": {"categoryPreferences": {"Analytics": True}}}
    withdraw = {"purpose": "sharing", "channel": "any", "status": "withdrawn"}
    send_batch(
        client,
        source,
        [
            {"type": "page", "userId": "vic", "context": banner},
            {"type": "track", "userId": "vic", "event": "Consent Updated", "properties": withdraw},
        ],
    )
    profile_by(client, admin_headers, "user_id:vic")
    history = client.get(f"/api/v1/profiles/{victim}/consents", headers=admin_headers).json()["history"]
    assert [(r["purpose"], r["channel"], r["status"]) for r in history] == [
        ("analytics", "web", "granted"),
        ("sharing", "any", "withdrawn"),
    ]


def test_a_newsletter_sign_up_from_a_browser_is_double_opt_in(client, source, admin_headers, smtp):
    new = "new.reader@example.com"
    # The form names the address as typed: the grant waits at it as the graph spells it.
    consent = {
        "purpose": "marketing",
        "channel": "email",
        "status": "granted",
        "contact_point": "New.Reader@Example.com",
    }
    send_batch(
        client,
        source,
        [
            {"type": "page", "anonymousId": "reader", "name": "Newsletter"},
            {"type": "identify", "anonymousId": "reader", "traits": {"email": new}},
            {"type": "track", "anonymousId": "reader", "event": "Consent Updated", "properties": consent},
        ],
    )
    reader = profile_by(client, admin_headers, f"email:{new}")["id"]
    body = {"profile_id": reader, "purpose": "marketing", "subject": "Issue 1", "text": "Hello"}
    assert client.post("/api/v1/messages", json=body, headers=admin_headers).json()["status"] == "suppressed"
    [mail] = eventually(lambda: smtp.messages)
    assert mail["To"] == new and mail["Subject"] == "Confirm your email address" and "List-Unsubscribe" not in mail
    done = client.post(link_in(mail, "/portal/confirm/"))
    assert done.status_code == 200 and "marketing" in done.text
    # Confirmed: the newsletter goes out, with its unsubscribe link; service mail still waits for
    # someone who knows the person (a proven mailbox is not proof of whose profile it is).
    assert client.post("/api/v1/messages", json=body, headers=admin_headers).json()["status"] == "queued"
    newsletter = eventually(lambda: [m for m in smtp.messages if m["Subject"] == "Issue 1"])
    assert newsletter[0]["To"] == new and "List-Unsubscribe" in newsletter[0]
    service = {**body, "purpose": "service", "subject": "Your account"}
    result = client.post("/api/v1/messages", json=service, headers=admin_headers).json()
    assert result["status"] == "suppressed" and "verified" in result["reason"]


def test_confirmations_to_one_address_are_limited_whoever_asks(client, source, admin_headers, smtp):
    # Anyone may claim any address on as many fresh profiles as they like: the limit is the address's.
    consent = {"purpose": "marketing", "channel": "email", "status": "granted"}
    for n in range(4):
        anon = f"spammer-{n}"
        send_batch(
            client,
            source,
            [
                {"type": "identify", "anonymousId": anon, "traits": {"email": f"victim{n % 1}@example.com"}},
                {"type": "track", "anonymousId": anon, "event": "Consent Updated", "properties": consent},
            ],
        )
    profile_by(client, admin_headers, "email:victim0@example.com")
    eventually(lambda: smtp.messages)
    assert len(smtp.messages) == 1


def test_staff_verify_a_claimed_address_and_it_opens_the_portal(client, source, make_token, admin_headers, smtp):
    claim_address(client, source, user_id="walk-in", address="walk.in@example.com")
    pid = profile_by(client, admin_headers, "user_id:walk-in")["id"]
    body = {"identifier": "email:Walk.In@example.com", "reason": "checked with the customer in the store"}
    path = f"/api/v1/profiles/{pid}/identifiers/verify"
    for role in ("agent", "marketer", "analyst"):  # as strong as a sign-in: only who may export and erase
        assert client.post(path, json=body, headers={"Authorization": f"Bearer {make_token(role)}"}).status_code == 403
    assert (
        client.post(path, json={**body, "identifier": "email:nobody@example.com"}, headers=admin_headers).status_code
        == 404
    )
    assert client.post(path, json={**body, "reason": " "}, headers=admin_headers).status_code == 400
    assert client.post(path, json={**body, "identifier": "nonsense"}, headers=admin_headers).status_code == 400
    res = client.post(path, json=body, headers=admin_headers)
    assert res.status_code == 200 and res.json()["verification"] == "asserted"
    assert client.post(path, json=body, headers=admin_headers).status_code == 409
    audit = client.get("/api/v1/audit", headers=admin_headers).json()["items"]
    verified = next(a for a in audit if a["action"] == "identifier.verified")
    assert verified["profile_id"] == pid and "walk.in@example.com" not in str(verified)
    client.post("/portal/sign-in", data={"email": "walk.in@example.com"})
    [mail] = eventually(lambda: smtp.messages)
    assert "/portal/auth/" in mail.get_content()


def test_a_source_made_server_trust_asserts_from_then_on(client, db, source, admin_headers):
    claim_address(client, source, user_id="app-user", address="app.user@example.com")
    pid = profile_by(client, admin_headers, "user_id:app-user")["id"]
    assert identifiers_by_value(client, admin_headers, pid)["app.user@example.com"]["verification"] == "claimed"
    set_source_trust(db, source.name, "server", actor="test")
    claim_address(client, source, user_id="app-user", address="app.user@example.com", message_id="claim-2")
    found = identifiers_by_value(client, admin_headers, pid)["app.user@example.com"]
    assert (found["verification"], found["verified_by"]) == ("asserted", f"source:{source.name}")


def test_stitching_still_joins_anonymous_browsing_to_the_known_customer(client, source, victim, admin_headers):
    send_batch(
        client,
        source,
        [
            {"type": "page", "anonymousId": "vic-laptop", "name": "Pricing"},
            {"type": "identify", "anonymousId": "vic-laptop", "userId": "vic"},
        ],
    )
    profile = profile_by(client, admin_headers, "anonymous_id:vic-laptop")
    assert profile["id"] == victim and profile["event_count"] == 3


def test_a_server_restating_a_settled_pair_of_claims_asserts_them(client, source, shop, admin_headers):
    """The processor places a known (anonymousId, userId) pair without resolving it again; a server's
    event with that pair must still turn the browser's claims into assertions."""
    pair = {"userId": "kim", "anonymousId": "kim-phone"}
    send_batch(client, source, [{"type": "identify", "messageId": "w1", **pair}])
    send_batch(client, source, [{"type": "track", "event": "Viewed", "messageId": "w2", **pair}])
    pid = profile_by(client, admin_headers, "user_id:kim")["id"]
    assert identifiers_by_value(client, admin_headers, pid)["kim"]["verification"] == "claimed"
    send_batch(client, shop, [{"type": "track", "event": "Order Completed", "messageId": "s1", **pair}])
    found = identifiers_by_value(client, admin_headers, pid)
    assert (found["kim"]["verification"], found["kim"]["verified_by"]) == ("asserted", "source:shop")
    assert found["kim-phone"]["verification"] == "asserted"
