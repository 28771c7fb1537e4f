"""The queue: the next case for an agent by SLA due time, then priority, then waiting since, and
nothing else: two identical complaints from 20 and 500,000 followers get the same place. Every
assignment is logged with its reason; agents' capacity is respected."""

from __future__ import annotations

import pytest

from factories import profile_by, send_batch


@pytest.fixture
def agent(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def customer(client, backend, admin_headers, name: str) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": name, "traits": {"email": f"{name}@example.com"}}])
    return profile_by(client, admin_headers, f"user_id:{name}")["id"]


def complaint(client, headers, pid: str, followers: int | None = None, **fields) -> int:
    body = {
        "requester": {"profile_id": pid},
        "subject": "Broken on arrival",
        "text": "The lamp arrived broken.",
        "channel": "social",
        **fields,
    }
    if followers is not None:
        body["social"] = {"network": "x", "handle": f"@{pid[:6]}", "followers": followers}
    res = client.post("/api/v1/cases", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


def queue_ids(client, headers) -> list[int]:
    return [c["id"] for c in client.get("/api/v1/queue", headers=headers).json()["items"]]


@pytest.mark.parametrize("followers", [20, 500_000])
def test_two_identical_complaints_get_the_same_place_whatever_the_following(
    client, backend, admin_headers, agent, followers
):
    people = [customer(client, backend, admin_headers, n) for n in ("ann", "bob", "cat", "dan")]
    before = [complaint(client, agent, people[0], 3), complaint(client, agent, people[1], 1_000_000)]
    theirs = complaint(client, agent, people[2], followers)
    after = [complaint(client, agent, people[3], 0)]
    order = queue_ids(client, agent)
    assert order == [*before, theirs, *after]  # by when they asked: their following changes nothing
    assert order.index(theirs) == 2


def test_the_order_is_due_time_then_priority_then_waiting_since(client, backend, admin_headers, agent):
    pid = customer(client, backend, admin_headers, "ann")
    fast = {"position": 1, "topic": "outage", "calendar": "always", "first_response_minutes": 10}
    assert client.put("/api/v1/sla/policies/outage", json=fast, headers=admin_headers).status_code == 200
    low_old = complaint(client, agent, pid, priority="low")
    high_new = complaint(client, agent, pid, priority="high")
    outage = complaint(client, agent, pid, priority="low", topic="outage")  # due in 10 minutes
    # same default policy (due in 24h from their own start): the older is due first
    assert queue_ids(client, agent) == [outage, low_old, high_new]
    unpromised = {"position": 0, "priority": "urgent", "calendar": "always"}
    client.put("/api/v1/sla/policies/no-promise", json=unpromised, headers=admin_headers)
    urgent = complaint(client, agent, pid, priority="urgent")
    assert queue_ids(client, agent)[-1] == urgent  # without a promise running, after every promised case
    pending = client.patch(f"/api/v1/cases/{outage}", json={"status": "pending"}, headers=agent)
    assert pending.status_code == 200 and outage not in queue_ids(client, agent)  # waiting on the customer


def test_taking_the_next_case_assigns_it_with_the_reason_within_capacity(client, backend, admin_headers, agent):
    pid = customer(client, backend, admin_headers, "ann")
    first, second = complaint(client, agent, pid), complaint(client, agent, pid)
    peek = client.get("/api/v1/queue/next", headers=agent).json()["case"]
    assert peek["id"] == first and peek["assignee"] is None  # looking takes nothing
    taken = client.post("/api/v1/queue/next", headers=agent).json()["case"]
    assert taken["id"] == first and taken["assignee"]
    history = client.get(f"/api/v1/cases/{first}", headers=agent).json()["history"]
    [assigned] = [h for h in history if h["kind"] == "assigned"]
    assert assigned["data"]["reason"].startswith("next in the queue: due ")
    assert "priority normal" in assigned["data"]["reason"]
    # an agent's capacity: one active case
    name = taken["assignee"]
    assert client.put(f"/api/v1/service/agents/{name}", json={"capacity": 1}, headers=admin_headers).status_code == 200
    full = client.post("/api/v1/queue/next", headers=agent)
    assert full.status_code == 409 and full.json()["code"] == "at_capacity"
    refused = client.patch(f"/api/v1/cases/{second}", json={"assignee": name}, headers=admin_headers)
    assert refused.status_code == 409
    client.patch(f"/api/v1/cases/{first}", json={"status": "solved"}, headers=agent)
    assert client.post("/api/v1/queue/next", headers=agent).json()["case"]["id"] == second


def test_teams_see_their_cases_and_the_unteamed(client, backend, admin_headers, agent):
    pid = customer(client, backend, admin_headers, "ann")
    assert client.post("/api/v1/queue/next", headers=agent).json() == {"case": None}
    returns = complaint(client, admin_headers, pid, team="returns")
    assert client.get("/api/v1/queue/next", headers=agent).json()["case"] is None  # in no team yet
    unteamed = complaint(client, admin_headers, pid)
    taken = client.post("/api/v1/queue/next", headers=agent).json()["case"]
    assert taken["id"] == unteamed
    assert returns in queue_ids(client, agent)  # the whole queue still lists it
    client.put(
        f"/api/v1/service/agents/{taken['assignee']}", json={"capacity": 5, "teams": ["returns"]}, headers=admin_headers
    )
    # now in the team: its older case is due first, before the one the agent already holds
    assert client.post("/api/v1/queue/next", headers=agent).json()["case"]["id"] == returns
