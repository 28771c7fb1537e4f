"""The voice staff API: triggers and the fatigue rules seen from outside (with their reasons, on the
Customer 360), deliveries, metrics, topics and the scorecard; roles, strangers and bad input."""

from __future__ import annotations

import pytest

from factories import basic_auth, eventually, profile_by, send_batch
from rapport.voice.store import ask_decisions, survey_triggers

ADA = "ada@example.com"


def survey_body(**changes) -> dict:
    body = {
        "name": "Quick question",
        "trigger": "manual",
        "questions": [
            {"key": "nps", "type": "nps", "text": "Recommend us?", "required": True},
            {"key": "why", "type": "text", "text": "Why?"},
        ],
        "delivery": "embed",
    }
    return body | changes


@pytest.fixture
def ada(client, backend, admin_headers) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": ADA}}])
    return profile_by(client, admin_headers, "user_id:ada")["id"]


@pytest.fixture
def agent_headers(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def create(client, admin_headers, **changes) -> dict:
    res = client.post("/api/v1/voice/surveys", json=survey_body(**changes), headers=admin_headers)
    assert res.status_code == 201, res.text
    return res.json()


def use(client, backend, times: int, event: str = "Order Completed") -> None:
    send_batch(client, backend, [{"type": "track", "userId": "ada", "event": event} for _ in range(times)])


def invite(client, headers, survey_id: int, pid: str, **more) -> dict:
    res = client.post(
        "/api/v1/voice/invitations", json={"survey_id": survey_id, "profile_id": pid, **more}, headers=headers
    )
    assert res.status_code == 201, res.text
    return res.json()


def test_ask_then_skip_for_the_gap_with_the_reason(client, backend, admin_headers, agent_headers, ada):
    survey = create(client, admin_headers)
    use(client, backend, 3)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    first = invite(client, agent_headers, survey["id"], ada)
    assert first["asked"] and first["invitation"]["sent_status"] == "embedded" and "/s/" in first["url"]
    second = invite(client, agent_headers, survey["id"], ada)
    assert not second["asked"] and second["rule"] == "gap" and second["invitation"] is None
    assert second["reason"] == "asked 0 days ago; the minimum gap is 14 days"
    decisions = client.get(f"/api/v1/voice/profiles/{ada}", headers=admin_headers).json()["decisions"]
    assert [(d["asked"], d["rule"]) for d in decisions] == [(False, "gap"), (True, "asked")]


def test_the_ratio_rule_reads_the_customers_uses(client, backend, admin_headers, agent_headers, ada):
    survey = create(client, admin_headers)
    res = client.put(
        "/api/v1/voice/settings/fatigue", json={"min_gap_days": 0, "max_ratio": 0.5}, headers=admin_headers
    )
    assert res.status_code == 200 and res.json()["max_ratio"] == 0.5
    refused = invite(client, agent_headers, survey["id"], ada)  # no use at all yet
    assert not refused["asked"] and refused["rule"] == "ratio"
    use(client, backend, 2)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    assert invite(client, agent_headers, survey["id"], ada)["asked"]  # 1 for 2 uses
    again = invite(client, agent_headers, survey["id"], ada)  # 2 for 2 would pass 0.5
    assert not again["asked"] and again["reason"].startswith("asking would make 2 surveys for 2 interactions")


def test_an_open_complaint_and_an_automatic_close_skip_the_survey(
    client, backend, admin_headers, agent_headers, ada, db
):
    create(client, admin_headers, trigger="case_solved", name="After your request")
    body = {"requester": {"profile_id": ada}, "subject": "Broken", "text": "It broke.", "channel": "phone"}
    complaint = client.post("/api/v1/cases", json=body | {"topic": "complaint"}, headers=agent_headers).json()
    other = client.post("/api/v1/cases", json=body, headers=agent_headers).json()
    client.post(
        f"/api/v1/cases/{other['id']}/messages", json={"text": "Fixed", "status": "solved"}, headers=agent_headers
    )
    decisions = eventually(
        lambda: client.get(f"/api/v1/voice/profiles/{ada}", headers=admin_headers).json()["decisions"]
    )
    assert decisions[0]["rule"] == "open_complaint" and complaint["reference"] in decisions[0]["reason"]
    client.post(
        f"/api/v1/cases/{complaint['id']}/messages", json={"text": "Sorted", "status": "solved"}, headers=agent_headers
    )
    decisions = eventually(
        lambda: [d for d in client.get(f"/api/v1/voice/profiles/{ada}", headers=admin_headers).json()["decisions"]][1:]
    )
    assert len(decisions) >= 1  # the complaint itself, now solved, was considered too

    def statuses() -> set[str]:  # a trigger is marked done just after its decision commits
        with db.read() as conn:
            return {r.status for r in conn.execute(survey_triggers.select())}

    assert eventually(lambda: statuses() == {"done"})
    with db.read() as conn:
        assert conn.execute(ask_decisions.select()).all()


def test_only_the_service_desk_can_say_a_case_was_solved(client, backend, source, admin_headers, ada, db):
    """A `Case Solved` event from a client's public key, or a server source, triggers nothing."""
    create(client, admin_headers, trigger="case_solved")
    fake = {"type": "track", "userId": "ada", "event": "Case Solved", "properties": {"case_id": 1}}
    send_batch(client, backend, [fake])
    send_batch(client, source, [fake | {"anonymousId": "x"}])
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    eventually(lambda: client.app.state.db and True)
    with db.read() as conn:
        assert conn.execute(survey_triggers.select()).all() == []


def test_a_purchase_and_a_milestone_trigger_their_surveys(client, backend, admin_headers, ada):
    client.put("/api/v1/voice/settings/fatigue", json={"min_gap_days": 0}, headers=admin_headers)
    create(client, admin_headers, trigger="purchase", name="Your order", delivery="portal")
    create(client, admin_headers, trigger="milestone", milestone_event="Onboarding Finished", name="Settling in")
    use(client, backend, 1, "Order Completed")
    use(client, backend, 1, "Onboarding Finished")

    def settled() -> dict | None:
        found = client.get(f"/api/v1/voice/profiles/{ada}", headers=admin_headers).json()
        done = len(found["decisions"]) == 2 and all(i["sent_status"] != "pending" for i in found["invitations"])
        return found if done else None

    found = eventually(settled)
    assert {d["touchpoint"] for d in found["decisions"]} == {"purchase", "milestone:Onboarding Finished"}
    portal = [i for i in found["invitations"] if i["touchpoint"] == "purchase"]
    assert portal and portal[0]["sent_status"] == "shown" and portal[0]["channel"] == "other"


def test_metrics_topics_participation_and_scorecard(client, backend, admin_headers, agent_headers, ada):
    survey = create(client, admin_headers)
    use(client, backend, 3)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    token = invite(client, agent_headers, survey["id"], ada, touchpoint="delivery", channel="web")["token"]
    res = client.post(
        f"/v1/voice/answers/{token}", json={"answers": {"nps": "2", "why": "Terrible delivery, parcel broken"}}
    )
    assert res.status_code == 200 and res.json()["follow_up_case_id"]
    by = client.get("/api/v1/voice/metrics", params={"metric": "nps", "by": "touchpoint"}, headers=admin_headers).json()
    assert by["groups"] == [
        {
            "group": "delivery",
            "value": -100.0,
            "n": 1,
            "promoters_pct": 0.0,
            "passives_pct": 0.0,
            "detractors_pct": 100.0,
        }
    ]
    topics = client.get("/api/v1/voice/detraction-topics", headers=admin_headers).json()["items"]
    assert topics and all(t["touchpoint"] == "delivery" and t["detractors"] == 1 for t in topics)
    card = client.get("/api/v1/voice/scorecard", headers=admin_headers).json()
    assert card["out_of"] == 10 and len(card["items"]) == 10
    assert {i["key"]: i["how"] for i in card["items"]}["design_process"] == "self-assessed"
    before = card["score"]
    res = client.post(
        "/api/v1/voice/scorecard/assessments",
        json={"item": "design_process", "met": True, "note": "Ten customers tested the new returns page."},
        headers=admin_headers,
    )
    assert res.status_code == 201 and res.json()["score"] == before + 1
    history = client.get("/api/v1/voice/scorecard", headers=admin_headers).json()["history"]
    assert [h["score"] for h in history] == [before + 1]
    measured = client.post(
        "/api/v1/voice/scorecard/assessments",
        json={"item": "opt_in", "met": True, "note": "trust me"},
        headers=admin_headers,
    )
    assert measured.status_code == 400  # measured items are not for opinion
    participation = client.get("/api/v1/voice/participation", headers=admin_headers).json()
    assert participation["months"][-1]["count"] == 1
    res = client.put(
        "/api/v1/voice/settings/participation",
        json={"monthly_goal": 10, "values": {"delivery": {"value": 12.5, "cost": 2}}},
        headers=admin_headers,
    )
    assert res.status_code == 200
    value = client.get("/api/v1/voice/participation", headers=admin_headers).json()["value"]
    assert value == [{"touchpoint": "delivery", "answers": 1, "value": 12.5, "cost": 2.0, "net": 10.5}]


@pytest.mark.parametrize("role", ["marketer", "privacy"])
def test_roles_that_neither_serve_nor_measure_read_nothing(client, make_token, admin_headers, ada, role):
    headers = {"Authorization": f"Bearer {make_token(role)}"}
    survey = create(client, admin_headers)
    for url in (
        "/api/v1/voice/surveys",
        "/api/v1/voice/metrics",
        "/api/v1/voice/responses",
        f"/api/v1/voice/profiles/{ada}",
    ):
        res = client.get(url, headers=headers)
        assert res.status_code == 403 and res.json()["code"] == "forbidden", url
    res = client.post("/api/v1/voice/invitations", json={"survey_id": survey["id"], "profile_id": ada}, headers=headers)
    assert res.status_code == 403


def test_analysts_read_but_only_admins_set_up_and_only_servers_invite(client, make_token, admin_headers, ada):
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    survey = create(client, admin_headers)
    assert client.get("/api/v1/voice/metrics", headers=analyst).status_code == 200
    assert client.post("/api/v1/voice/surveys", json=survey_body(), headers=agent).status_code == 403
    assert client.put("/api/v1/voice/settings/fatigue", json={}, headers=agent).status_code == 403
    body = {"item": "design_process", "met": True, "note": "x"}
    assert client.post("/api/v1/voice/scorecard/assessments", json=body, headers=analyst).status_code == 403
    res = client.post("/api/v1/voice/invitations", json={"survey_id": survey["id"], "profile_id": ada}, headers=analyst)
    assert res.status_code == 403


def test_strangers_and_write_keys_get_nothing(client, source, ada):
    for headers in ({}, basic_auth(source), {"Authorization": "Bearer nope"}):
        assert client.get("/api/v1/voice/surveys", headers=headers).status_code == 401
        assert client.post("/api/v1/voice/surveys", json=survey_body(), headers=headers).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        survey_body(name=""),
        survey_body(trigger="sometimes"),
        survey_body(delivery="pigeon"),
        survey_body(questions=[]),
        survey_body(questions=[{"key": "a", "type": "likert", "text": "x"}]),
        survey_body(questions=[{"key": "a b", "type": "nps", "text": "x"}]),
        survey_body(questions=[{"key": "a", "type": "nps", "text": ""}]),
        survey_body(questions=[{"key": "a", "type": "nps", "text": "x"}] * 2),
        survey_body(trigger="milestone"),
        survey_body(trigger="relationship"),
        survey_body(trigger="relationship", period_days=3),
        survey_body(name="\x00"),
        survey_body(name="Hi\r\nBcc: all@example.com"),
        survey_body(name="x" * 500),
        [1, 2],
    ],
)
def test_bad_surveys_are_4xx_json(client, admin_headers, body):
    res = client.post("/api/v1/voice/surveys", json=body, headers=admin_headers)
    assert 400 <= res.status_code < 500 and "code" in res.json(), res.text


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("get", "/api/v1/voice/surveys/0", None),
        ("get", "/api/v1/voice/surveys/99", None),
        ("get", "/api/v1/voice/surveys/abc", None),
        ("get", "/api/v1/voice/surveys/99999999999999999999999", None),
        ("post", "/api/v1/voice/surveys/99/active", {"active": False}),
        ("post", "/api/v1/voice/surveys/99/run", None),
        ("get", "/api/v1/voice/metrics?metric=happiness", None),
        ("get", "/api/v1/voice/metrics?by=colour", None),
        ("get", "/api/v1/voice/metrics?since_days=0", None),
        ("get", "/api/v1/voice/detraction-topics?since_days=-1", None),
        ("get", "/api/v1/voice/responses?limit=0", None),
        ("get", "/api/v1/voice/profiles/nobody", None),
        ("get", "/api/v1/voice/profiles/" + "x" * 40, None),
        ("post", "/api/v1/voice/invitations", {"survey_id": 99, "profile_id": "nobody"}),
        ("post", "/api/v1/voice/invitations", {"survey_id": 0, "profile_id": "x"}),
        ("post", "/api/v1/voice/invitations", {"survey_id": 1}),
        ("put", "/api/v1/voice/settings/fatigue", {"window_days": "many"}),
        ("put", "/api/v1/voice/settings/fatigue", [1]),
        ("put", "/api/v1/voice/settings/participation", {"monthly_goal": 0}),
        ("put", "/api/v1/voice/settings/participation", {"monthly_goal": 5, "values": {"x": {"value": -1}}}),
        ("post", "/api/v1/voice/scorecard/assessments", {"item": "nonsense", "met": True, "note": "x"}),
        ("post", "/api/v1/voice/scorecard/assessments", {"item": "design_process", "met": True, "note": ""}),
        ("post", "/api/v1/voice/scorecard/assessments", {"item": "design_process", "met": "perhaps", "note": "x"}),
    ],
)
def test_bad_input_is_4xx_json(client, admin_headers, ada, method, url, body):
    res = getattr(client, method)(url, headers=admin_headers, **({"json": body} if body is not None else {}))
    assert 400 <= res.status_code < 500 and "code" in res.json(), (url, res.status_code, res.text)


def test_bad_answers_are_4xx_and_the_survey_stays_answerable(client, backend, admin_headers, agent_headers, ada):
    survey = create(client, admin_headers)
    use(client, backend, 2)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    token = invite(client, agent_headers, survey["id"], ada)["token"]
    for body in (
        {"answers": {"nps": "11"}},
        {"answers": {"nps": "x"}},
        {"answers": {"why": "no score"}},
        {"answers": {"other": 1}},
        {"answers": []},
        {},
        {"answers": {"nps": "\x00"}},
    ):
        res = client.post(f"/v1/voice/answers/{token}", json=body)
        assert 400 <= res.status_code < 500 and "code" in res.json(), (body, res.text)
    page = client.post(f"/s/{token}", data={"q_nps": "12"})
    assert page.status_code == 400 and "whole number from 0 to 10" in page.text
    assert client.get(f"/v1/voice/answers/{token}").json()["answers"] == {}
    assert client.post(f"/v1/voice/answers/{token}", json={"answers": {"nps": 9}}).status_code == 200
    assert client.get(f"/v1/voice/answers/{token}").json()["answers"] == {"nps": "9"}


def test_survey_answers_and_decisions_are_exported_and_erased_with_the_person(
    client, backend, admin_headers, agent_headers, make_token, ada, db
):
    survey = create(client, admin_headers)
    use(client, backend, 2)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    token = invite(client, agent_headers, survey["id"], ada)["token"]
    invite(client, agent_headers, survey["id"], ada)  # skipped: the gap
    client.post(f"/v1/voice/answers/{token}", json={"answers": {"nps": 10, "why": "Lovely people"}})
    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    stores = client.post(f"/api/v1/profiles/{ada}/export", headers=privacy).json()["stores"]
    assert [r["raw"] for r in stores["survey_answers"]["rows"]] == ["10", "Lovely people"]
    assert len(stores["ask_decisions"]["rows"]) == 2 and len(stores["survey_invitations"]["rows"]) == 1
    receipt = client.post(f"/api/v1/profiles/{ada}/erase", headers=privacy).json()["receipt"]
    assert receipt["survey_answers"]["rows"] == 2 and receipt["survey_responses"]["rows"] == 1
    assert receipt["ask_decisions"]["rows"] == 2 and receipt["survey_invitations"]["rows"] == 1
    assert client.get(f"/v1/voice/answers/{token}").status_code in (400, 404)  # the link died with the data


def test_a_relationship_survey_asks_each_customer_once_per_period(client, backend, admin_headers, ada):
    survey = create(client, admin_headers, trigger="relationship", period_days=90, delivery="portal", active=False)
    assert client.post(f"/api/v1/voice/surveys/{survey['id']}/run", headers=admin_headers).status_code == 400
    use(client, backend, 2)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    res = client.post(f"/api/v1/voice/surveys/{survey['id']}/active", json={"active": True}, headers=admin_headers)
    assert res.status_code == 200 and res.json()["active"] is True
    first = client.post(f"/api/v1/voice/surveys/{survey['id']}/run", headers=admin_headers)
    assert first.status_code == 200  # the worker may have run it first: it runs each once a day
    decisions = client.get(f"/api/v1/voice/profiles/{ada}", headers=admin_headers).json()["decisions"]
    assert [d["touchpoint"] for d in decisions if d["asked"]] == ["relationship"]
    again = client.post(f"/api/v1/voice/surveys/{survey['id']}/run", headers=admin_headers).json()
    assert again["decided"] == 0  # asked within the period: not even considered


def test_strongly_negative_words_alone_make_a_detractor(client, backend, admin_headers, agent_headers, ada):
    questions = [{"key": "csat", "type": "csat", "text": "Satisfied?"}, {"key": "why", "type": "text", "text": "Why?"}]
    survey = create(client, admin_headers, questions=questions)
    use(client, backend, 3)
    client.get(f"/api/v1/profiles/{ada}", params={"consistent": "true"}, headers=admin_headers)
    client.put("/api/v1/voice/settings/fatigue", json={"min_gap_days": 0}, headers=admin_headers)
    calm = invite(client, agent_headers, survey["id"], ada)["token"]
    done = client.post(f"/v1/voice/answers/{calm}", json={"answers": {"csat": 4, "why": "It arrived."}}).json()
    assert done["detractor"] is None and done["follow_up_case_id"] is None
    angry = invite(client, agent_headers, survey["id"], ada)["token"]
    text = "This is the worst service I have ever had. Awful, rude and useless."
    done = client.post(f"/v1/voice/answers/{angry}", json={"answers": {"csat": 4, "why": text}}).json()
    assert done["detractor"].startswith("strongly negative words") and done["follow_up_case_id"]
    [kept] = [
        r for r in client.get("/api/v1/voice/responses", headers=admin_headers).json()["items"] if r["detractor_reason"]
    ]
    assert [a["sentiment"] for a in kept["answers"] if a["type"] == "text"] == ["negative"]
