"""Social listening through the API and the portal: a mention that needs service becomes a case in
the one queue (its `case_id` in the answer); a handle joins a customer only through the code they
post from it (or staff who saw it), never by a name; followers never reach the queue."""

from __future__ import annotations

import re
from typing import Any

import pytest

from browser.portal_seed import csrf_of, link_path, seed_two
from factories import basic_auth

POSTED = "2026-12-01T10:00:00Z"


def portal_sign_in(client: Any, headers: dict[str, str], profile_id: str) -> None:
    client.cookies.clear()
    assert client.post(link_path(client, headers, profile_id), follow_redirects=False).status_code == 303


def is_page(res: Any, status: int) -> bool:
    return res.status_code == status and res.headers["content-type"].startswith("text/html")


@pytest.fixture
def people(client, make_source, admin_headers):
    return seed_two(client, make_source, admin_headers)


@pytest.fixture
def agent(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def mention(client, headers, handle: str, text: str, **fields: Any) -> dict[str, Any]:
    body = {"network": "x", "handle": handle, "text": text, "posted_at": POSTED, **fields}
    res = client.post("/api/v1/social/mentions", json=body, headers=headers)
    assert res.status_code in (200, 201), res.text
    return res.json()


def get_code(client, admin_headers, person, handle: str, network: str = "x") -> str:
    portal_sign_in(client, admin_headers, person.id)
    page = client.get("/portal/social")
    assert is_page(page, 200) and "Social accounts" in page.text
    done = client.post(
        "/portal/social/codes",
        data={"csrf": csrf_of(page.text), "network": network, "handle": handle},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    return re.findall(r"RAPPORT-[A-Z2-9]{8}", shown)[0]


def test_a_complaint_becomes_a_case_in_the_queue_and_its_answer_carries_the_case_id(client, agent):
    done = mention(client, agent, "@Someone", "My order never arrived, @shop", url="https://x.com/s/1", followers=12)
    assert done["needs_service"] and done["case_id"] and not done["duplicate"]
    assert "never arrived" in done["reason"]
    case = client.get(f"/api/v1/cases/{done['case_id']}", headers=agent).json()
    assert case["channel"] == "social" and case["status"] == "new" and "@someone" in case["subject"]
    assert "https://x.com/s/1" in case["messages"][0]["text"]
    queue = [c["id"] for c in client.get("/api/v1/queue", headers=agent).json()["items"]]
    assert done["case_id"] in queue
    again = client.post(
        "/api/v1/social/mentions",
        json={"network": "x", "handle": "someone", "text": "My order never arrived", "posted_at": POSTED,
              "url": "https://x.com/s/1"},
        headers=agent,
    )  # fmt: skip
    assert again.status_code == 200 and again.json()["duplicate"] and again.json()["case_id"] == done["case_id"]
    follow = mention(client, agent, "someone", "Any news on this?")
    assert follow["case_id"] == done["case_id"]  # the handle's case in progress continues
    praise = mention(client, agent, "fan", "Lovely shop, great lamps")
    assert praise["case_id"] is None and not praise["needs_service"]
    flagged = mention(client, agent, "fan", "Lovely shop", needs_service=True)
    assert flagged["case_id"] is not None and flagged["reason"] == "marked needs_service"
    # The agent's reply is recorded on the case (posted on the network by the agent: no mail goes out).
    reply = client.post(
        f"/api/v1/cases/{done['case_id']}/messages", json={"text": "Sorry! DM us your order number."}, headers=agent
    )
    assert reply.status_code == 201 and reply.json()["message"]["public"]
    assert reply.json()["message"]["delivery"] is None
    clocks = client.get(f"/api/v1/cases/{done['case_id']}", headers=agent).json()["sla"]["clocks"]
    assert clocks["first_response"]["state"] == "met"


@pytest.mark.parametrize("followers", [20, 500_000])
def test_two_identical_complaints_from_20_and_500000_followers_get_the_same_place(client, agent, followers):
    first = mention(client, agent, "early", "The lamp arrived broken", followers=3)["case_id"]
    big = mention(client, agent, "big", "The lamp arrived broken", followers=1_000_000)["case_id"]
    theirs = mention(client, agent, "them", "The lamp arrived broken", followers=followers)["case_id"]
    last = mention(client, agent, "late", "The lamp arrived broken", followers=0)["case_id"]
    items = client.get("/api/v1/queue", headers=agent).json()["items"]
    assert [c["id"] for c in items] == [first, big, theirs, last]
    assert "followers" not in str(items) and "followers" not in client.get("/api/v1/queue/next", headers=agent).text


def test_a_handle_joins_a_profile_only_through_the_code_posted_from_it(client, admin_headers, agent, people):
    ada, bob = people
    code = get_code(client, admin_headers, ada, "@Ada_L")
    # Someone else posts Ada's code from their own handle: nothing is linked.
    stolen = mention(client, agent, "mallory", f"verifying {code}")
    assert not stolen["handle_linked"] and "not issued for this handle" in stolen["proof"]
    proof = mention(client, agent, "ada_l", f"Linking my account {code}")
    assert proof["proof"].startswith("linked") and proof["case_id"] is None  # a code is no request
    held = client.get(f"/api/v1/profiles/{ada.id}", headers=admin_headers).json()
    social = [i for i in held["identifiers"] if i["type"] == "social"]
    assert [(i["value"], i["verification"]) for i in social] == [("x:ada_l", "proven")]
    again = mention(client, agent, "ada_l", f"again {code}")
    assert "spent" in again["proof"]  # one time only
    complaint = mention(client, agent, "ADA_L", "Where is my refund?")
    assert complaint["handle_linked"]
    case = client.get(f"/api/v1/cases/{complaint['case_id']}", headers=agent).json()
    assert case["requester"]["profile_id"] == ada.id
    # Bob's portal does not show Ada's handle, and cannot remove it.
    portal_sign_in(client, admin_headers, bob.id)
    page = client.get("/portal/social")
    assert "ada_l" not in page.text
    removed = client.post("/portal/social/remove", data={"csrf": csrf_of(page.text), "network": "x", "handle": "ada_l"})
    assert is_page(removed, 404)
    portal_sign_in(client, admin_headers, ada.id)
    page = client.get("/portal/social")
    assert "@ada_l on x" in page.text
    gone = client.post(
        "/portal/social/remove",
        data={"csrf": csrf_of(page.text), "network": "x", "handle": "ada_l"},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    later = mention(client, agent, "ada_l", "Still broken?")
    assert not later["handle_linked"]


def test_a_name_never_links_a_handle(client, admin_headers, agent, people):
    ada, _ = people  # "Ada Lovelace", ada@example.com
    for handle in ("adalovelace", "ada", "ada@example.com"):
        done = mention(client, agent, handle, "I am Ada Lovelace (ada@example.com) and my lamp is broken!")
        case = client.get(f"/api/v1/cases/{done['case_id']}", headers=agent).json()
        assert not done["handle_linked"]
        assert case["requester"]["profile_id"] != ada.id
    held = client.get(f"/api/v1/profiles/{ada.id}", headers=admin_headers).json()
    assert not [i for i in held["identifiers"] if i["type"] == "social"]


def test_staff_who_saw_the_code_confirm_it_with_the_right_role(client, admin_headers, agent, make_token, people):
    ada, _ = people
    code = get_code(client, admin_headers, ada, "ada_fb", network="facebook")
    body = {"code": code, "reason": "sent to our page by DM from ada_fb"}
    assert client.post("/api/v1/social/codes/confirm", json=body, headers=agent).status_code == 403
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    assert client.post("/api/v1/social/codes/confirm", json=body, headers=analyst).status_code == 403
    done = client.post("/api/v1/social/codes/confirm", json=body, headers=admin_headers)
    assert done.status_code == 200 and done.json()["outcome"].startswith("linked")
    assert client.post("/api/v1/social/codes/confirm", json=body, headers=admin_headers).status_code == 409
    for bad, status in (({"code": "nonsense", "reason": "x"}, 400), ({"code": "RAPPORT-ABCDEFGH", "reason": "x"}, 404),
                        ({"code": code, "reason": " "}, 400), ({"code": code}, 422)):  # fmt: skip
        res = client.post("/api/v1/social/codes/confirm", json=bad, headers=admin_headers)
        assert res.status_code in (status, 400, 422) and res.status_code < 500, (bad, res.text)
        assert res.json()["code"]
    audit = client.get("/api/v1/audit", params={"profile_id": ada.id}, headers=admin_headers)
    assert audit.status_code == 200 and "social.code_confirmed" in audit.text


BAD_MENTIONS = [
    {},
    {"network": "myspace", "handle": "a", "text": "help?", "posted_at": POSTED},
    {"network": "x", "handle": "", "text": "help?", "posted_at": POSTED},
    {"network": "x", "handle": "two words", "text": "help?", "posted_at": POSTED},
    {"network": "x", "handle": "a" * 300, "text": "help?", "posted_at": POSTED},
    {"network": "x", "handle": "a", "text": "", "posted_at": POSTED},
    {"network": "x", "handle": "a", "text": "   ", "posted_at": POSTED},
    {"network": "x", "handle": "a", "text": "x" * 10_001, "posted_at": POSTED},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": "yesterday"},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": "2026-12-01T10:00:00"},  # no offset
    {"network": "x", "handle": "a", "text": "help?", "posted_at": "2999-01-01T00:00:00Z"},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "url": "javascript:alert(1)"},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "url": "https://x.com/a b"},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "followers": -1},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "followers": "many"},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "followers": 10**11},
    {"network": "x", "handle": "a", "text": "help\u0000?", "posted_at": POSTED},
    {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED, "extra": 1},
]


@pytest.mark.parametrize("body", BAD_MENTIONS)
def test_bad_mentions_are_refused_with_a_clear_4xx(client, agent, body):
    res = client.post("/api/v1/social/mentions", json=body, headers=agent)
    assert 400 <= res.status_code < 500, res.text
    assert res.json()["code"]


def test_only_staff_who_work_cases_post_or_read_mentions(client, make_token, source):
    body = {"network": "x", "handle": "a", "text": "help?", "posted_at": POSTED}
    assert client.post("/api/v1/social/mentions", json=body, headers=basic_auth(source)).status_code == 401
    assert client.post("/api/v1/social/mentions", json=body).status_code == 401
    for role in ("marketer", "analyst", "privacy"):
        headers = {"Authorization": f"Bearer {make_token(role)}"}
        assert client.post("/api/v1/social/mentions", json=body, headers=headers).status_code == 403, role
        assert client.get("/api/v1/social/mentions", headers=headers).status_code == 403, role


def test_the_portal_social_page_needs_a_customer_and_refuses_bad_forms(client, admin_headers, people):
    ada, _ = people
    client.cookies.clear()
    assert client.get("/portal/social", follow_redirects=False).status_code in (303, 307)
    portal_sign_in(client, admin_headers, ada.id)
    page = client.get("/portal/social")
    forged = client.post("/portal/social/codes", data={"csrf": "nope", "network": "x", "handle": "ada"})
    assert is_page(forged, 403)
    for data in ({"network": "myspace", "handle": "ada"}, {"network": "x", "handle": "two words"}, {}):
        res = client.post("/portal/social/codes", data={"csrf": csrf_of(page.text), **data})
        assert is_page(res, 400), data
    for _ in range(5):
        client.post("/portal/social/codes", data={"csrf": csrf_of(page.text), "network": "x", "handle": "ada"})
    sixth = client.post("/portal/social/codes", data={"csrf": csrf_of(page.text), "network": "x", "handle": "ada"})
    assert is_page(sixth, 409)


def test_mentions_codes_and_a_proven_handle_are_exported_and_erased_with_the_person(
    client, admin_headers, agent, make_token, people, db
):
    import sqlalchemy as sa

    from rapport.identity.store import identifiers
    from rapport.service.social_store import social_link_codes, social_mentions

    ada, bob = people
    code = get_code(client, admin_headers, ada, "ada_l")
    mention(client, agent, "ada_l", f"me {code}")
    complaint = mention(client, agent, "ada_l", "My refund is late!", followers=77)
    get_code(client, admin_headers, ada, "ada_ig", network="instagram")  # still waiting
    bobs = mention(client, agent, "bobm", "Where is my order?")
    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    stores = client.post(f"/api/v1/profiles/{ada.id}/export", headers=privacy).json()["stores"]
    assert len(stores["social_mentions"]["rows"]) == 2 and len(stores["social_link_codes"]["rows"]) == 2
    assert "social:x:ada_l" in str(stores["identifiers"]["rows"])
    receipt = client.post(f"/api/v1/profiles/{ada.id}/erase", headers=privacy)
    assert receipt.status_code == 200, receipt.text
    with db.read() as conn:
        assert conn.execute(sa.select(identifiers).where(identifiers.c.type == "social")).first() is None
        assert conn.execute(sa.select(social_link_codes)).first() is None
        left = conn.execute(sa.select(social_mentions.c.handle)).scalars().all()
    assert left == ["bobm"]  # only the stranger's mention stays
    assert client.get(f"/api/v1/cases/{complaint['case_id']}", headers=agent).status_code == 404
    assert client.get(f"/api/v1/cases/{bobs['case_id']}", headers=agent).status_code == 200


def test_the_console_social_page_lists_mentions_and_only_verifiers_confirm(client, admin_headers, agent, make_token,
                                                                          people):  # fmt: skip
    ada, _ = people
    code = get_code(client, admin_headers, ada, "ada_l")
    done = mention(client, agent, "someone", "<script>alert(1)</script> broken?")
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": make_token("agent")}, follow_redirects=False)
    page = client.get("/console/service/social")
    assert is_page(page, 200) and f"/console/service/cases/{done['case_id']}" in page.text
    assert "<script>alert(1)</script>" not in page.text and "Confirm a proof code" not in page.text
    refused = client.post("/console/service/social/confirm", data={"csrf": csrf_of(page.text), "code": code,
                                                                   "reason": "saw it"})  # fmt: skip
    assert is_page(refused, 403)
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": make_token("admin")}, follow_redirects=False)
    page = client.get("/console/service/social")
    csrf = csrf_of(page.text)
    assert "Confirm a proof code" in page.text
    assert is_page(client.post("/console/service/social/confirm", data={"csrf": "x", "code": code, "reason": "r"}), 403)
    for bad in ({"code": "nope", "reason": "r"}, {"code": code, "reason": ""}, {}):
        assert is_page(client.post("/console/service/social/confirm", data={"csrf": csrf, **bad}), 400), bad
    ok = client.post("/console/service/social/confirm", data={"csrf": csrf, "code": code, "reason": "DM on x"},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and "x:ada_l" in ok.headers["location"]
    again = client.post("/console/service/social/confirm", data={"csrf": csrf, "code": code, "reason": "DM"})
    assert is_page(again, 409)


def test_the_public_directory_page_answers_without_entries(client):
    client.cookies.clear()
    page = client.get("/portal/channels")
    assert is_page(page, 200) and "No contact channels are listed yet." in page.text
    assert client.get("/v1/channels").json() == {"items": []}
