"""Surveys end to end through the public interfaces: a solved case triggers a survey mailed through the
one permission check under the `surveys` purpose; the customer answers from the link (no sign-in);
a detractor's answer opens the follow-up case with its 48-hour target; the answer is on the timeline.
And what the links refuse: a second response after the edit window, altered tokens, another's link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from factories import eventually, profile_by, send_batch
from rapport.kernel.clock import utcnow
from rapport.outbound.worker import send_due
from rapport.voice.store import survey_invitations, survey_responses
from rapport.voice.worker import run_reminders

ADA = "ada@example.com"
BOB = "bob@example.com"
NPS_SURVEY = {
    "name": "How did we do?",
    "trigger": "case_solved",
    "questions": [
        {"key": "nps", "type": "nps", "text": "How likely are you to recommend us?", "required": True},
        {"key": "why", "type": "text", "text": "Why?"},
    ],
}


def customer(client, backend, admin_headers, user: str, email: str, surveys: bool = True) -> str:
    send_batch(client, backend, [{"type": "identify", "userId": user, "traits": {"email": email}}])
    pid = profile_by(client, admin_headers, f"user_id:{user}")["id"]
    if surveys:
        body = {"purpose": "surveys", "channel": "email", "status": "granted", "source": "signup form"}
        res = client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=admin_headers)
        assert res.status_code == 201, res.text
    return pid


@pytest.fixture
def agent_headers(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


@pytest.fixture
def survey(client, admin_headers) -> dict:
    res = client.post("/api/v1/voice/surveys", json=NPS_SURVEY, headers=admin_headers)
    assert res.status_code == 201, res.text
    return res.json()


def solve_a_case(client, agent_headers, pid: str, channel: str = "phone") -> dict:
    body = {"requester": {"profile_id": pid}, "subject": "Late parcel", "text": "Where is it?", "channel": channel}
    case = client.post("/api/v1/cases", json=body, headers=agent_headers).json()
    res = client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"text": "Sent today.", "status": "solved"}, headers=agent_headers
    )
    assert res.status_code == 201, res.text
    return case


def voice_of(client, admin_headers, pid: str) -> dict:
    return client.get(f"/api/v1/voice/profiles/{pid}", headers=admin_headers).json()


def settled_invitations(client, admin_headers, pid: str) -> list[dict]:
    """The customer's invitations once each is delivered (the mail is decided after the invitation commits)."""
    return eventually(
        lambda: [i for i in voice_of(client, admin_headers, pid)["invitations"] if i["sent_status"] != "pending"]
    )


def link_in(mail) -> str:
    text = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/s/(\S+)", text).group(1)


def test_a_solved_case_brings_a_survey_by_mail_and_a_detractor_gets_a_call_back_within_48_hours(
    client, backend, admin_headers, agent_headers, survey, smtp, db
):
    ada = customer(client, backend, admin_headers, "ada", ADA)
    case = solve_a_case(client, agent_headers, ada)
    decided = eventually(lambda: voice_of(client, admin_headers, ada)["decisions"])
    assert decided[0]["asked"] and decided[0]["rule"] == "asked", decided
    invitation = settled_invitations(client, admin_headers, ada)[0]
    assert invitation["case_id"] == case["id"] and invitation["touchpoint"] == "case_solved"
    assert invitation["channel"] == "phone" and invitation["sent_status"] == "queued"
    send_due(db)
    mail = eventually(lambda: smtp.messages)[0]
    assert mail["To"] == ADA and mail["Subject"] == "How did we do?"
    assert "List-Unsubscribe" in mail  # sent under a consent purpose: one click stops it
    token = link_in(mail)

    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and "How likely are you to recommend us?" in page.text
    assert 'type="radio" name="q_nps" value="10"' in page.text

    res = client.post(f"/s/{token}", data={"q_nps": "3", "q_why": "The parcel came late and broken."})
    assert res.status_code == 200 and "someone from our team will call you" in res.text
    [response] = client.get("/api/v1/voice/responses", headers=admin_headers).json()["items"]
    assert response["detractor_reason"].startswith("NPS answer 3")
    follow_up = client.get(f"/api/v1/cases/{response['follow_up_case_id']}", headers=agent_headers).json()
    assert follow_up["topic"] == "survey follow-up" and follow_up["priority"] == "high"
    assert follow_up["policy"] == "survey-follow-up" and follow_up["status"] == "new"
    due = follow_up["sla"]["clocks"]["first_response"]
    assert due["state"] == "running" and due["target_s"] == 48 * 3600, due
    assert follow_up["requester"]["profile_id"] == ada and follow_up["assignee"] is None  # the queue assigns it

    events = client.get(f"/api/v1/profiles/{ada}/timeline", params={"consistent": "true"}, headers=admin_headers)
    answered = [e for e in events.json()["items"] if e["event"] == "Survey Answered"]
    props = {e["payload"]["properties"]["metric"]: e["payload"]["properties"] for e in answered}
    assert props["nps"]["score"] == 3 and props["nps"]["survey_id"] == survey["id"]
    assert props["nps"]["invitation_id"] == invitation["id"]
    assert [a["raw"] for a in response["answers"] if a["type"] == "text"] == ["The parcel came late and broken."]


def test_one_response_per_invitation_editable_for_a_day_then_final(
    client, backend, admin_headers, agent_headers, survey, smtp, db
):
    ada = customer(client, backend, admin_headers, "ada", ADA)
    solve_a_case(client, agent_headers, ada)
    settled_invitations(client, admin_headers, ada)
    send_due(db)
    token = link_in(eventually(lambda: smtp.messages)[0])
    assert client.post(f"/v1/voice/answers/{token}", json={"answers": {"nps": 9}}).status_code == 200
    changed = client.post(f"/v1/voice/answers/{token}", json={"answers": {"nps": 10, "why": "Quick."}})
    assert changed.status_code == 200 and changed.json()["revision"] == 2
    [response] = client.get("/api/v1/voice/responses", headers=admin_headers).json()["items"]
    assert {a["question_key"]: a["raw"] for a in response["answers"]} == {"nps": "10", "why": "Quick."}
    with db.write() as conn:  # a day and more later
        conn.execute(survey_responses.update().values(answered_at=utcnow() - timedelta(hours=25)))
    late = client.post(f"/v1/voice/answers/{token}", json={"answers": {"nps": 0}})
    assert late.status_code == 409 and late.json()["code"] == "already_answered"
    page = client.get(f"/s/{token}")
    assert "can no longer be changed" in page.text and "<form" not in page.text.split("<main")[1]
    metrics = client.get("/api/v1/voice/metrics", params={"metric": "nps", "by": "channel"}, headers=admin_headers)
    assert metrics.json()["groups"] == [
        {"group": "phone", "value": 100.0, "n": 1, "promoters_pct": 100.0, "passives_pct": 0.0, "detractors_pct": 0.0}
    ]


def test_altered_and_foreign_tokens_are_refused(client, backend, admin_headers, agent_headers, survey, smtp, db):
    ada = customer(client, backend, admin_headers, "ada", ADA)
    bob = customer(client, backend, admin_headers, "bob", BOB)
    solve_a_case(client, agent_headers, ada)
    solve_a_case(client, agent_headers, bob)
    eventually(lambda: len(smtp.messages) == 2 or send_due(db) and False)
    tokens = {m["To"]: link_in(m) for m in smtp.messages}
    ada_token, bob_token = tokens[ADA], tokens[BOB]
    body, sig = ada_token.rsplit(".", 1)
    for bad in (
        ada_token[:-2] + ("AA" if not ada_token.endswith("AA") else "BB"),
        body + "." + bob_token.rsplit(".", 1)[1],
    ):
        page = client.get(f"/s/{bad}")
        assert page.status_code == 400 and "not valid" in page.text
        res = client.post(f"/v1/voice/answers/{bad}", json={"answers": {"nps": 1}})
        assert res.status_code == 400 and res.json()["code"] == "invalid_token"
    assert client.get("/s/" + "x" * 5000).status_code == 400
    assert client.get("/api/v1/voice/responses", headers=admin_headers).json()["items"] == []
    # Bob's link answers Bob's survey only: nothing of Ada's is reachable through it.
    assert client.post(f"/v1/voice/answers/{bob_token}", json={"answers": {"nps": 8}}).status_code == 200
    [response] = client.get("/api/v1/voice/responses", headers=admin_headers).json()["items"]
    assert response["profile_id"] == bob


def test_no_surveys_consent_means_no_survey_mail(client, backend, admin_headers, agent_headers, survey, smtp, db):
    ada = customer(client, backend, admin_headers, "ada", ADA, surveys=False)
    solve_a_case(client, agent_headers, ada)
    invitation = settled_invitations(client, admin_headers, ada)[0]
    assert invitation["sent_status"] == "suppressed" and "no surveys consent" in invitation["sent_reason"]
    send_due(db)
    assert smtp.messages == []


def test_one_reminder_of_an_unanswered_survey_with_the_same_link(
    client, backend, admin_headers, agent_headers, survey, smtp, db
):
    ada = customer(client, backend, admin_headers, "ada", ADA)
    solve_a_case(client, agent_headers, ada)
    invitation = settled_invitations(client, admin_headers, ada)[0]
    send_due(db)
    first = eventually(lambda: smtp.messages)[0]
    assert run_reminders(db) == 0  # not yet: three days first
    with db.write() as conn:
        conn.execute(survey_invitations.update().values(created_at=utcnow() - timedelta(days=4)))
    eventually(lambda: [d for d in voice_of(client, admin_headers, ada)["decisions"] if d["touchpoint"] == "reminder"])
    send_due(db)
    reminder = eventually(lambda: smtp.messages[1:])[0]
    assert reminder["Subject"] == "Reminder: How did we do?" and link_in(reminder) == link_in(first)
    assert run_reminders(db) == 0  # one reminder, never two
    decisions = voice_of(client, admin_headers, ada)["decisions"]
    assert [(d["touchpoint"], d["asked"]) for d in decisions] == [("reminder", True), ("case_solved", True)]
    assert voice_of(client, admin_headers, ada)["invitations"][0]["reminded_at"] is not None
    assert invitation["id"] == decisions[0]["invitation_id"]


def test_the_contact_policy_shared_with_marketing_holds_a_survey_back(
    client, backend, admin_headers, agent_headers, survey, smtp, db
):
    """Decide's one contact policy counts what the outbox queued or sent: with one email a week
    allowed, the first survey goes out and the next one is skipped for that reason."""
    limits = {"contact_limits": {"email": {"max": 1, "per_days": 7}}}
    assert client.put("/api/v1/decide/settings", json=limits, headers=admin_headers).status_code == 200
    ada = customer(client, backend, admin_headers, "ada", ADA)
    solve_a_case(client, agent_headers, ada)
    assert settled_invitations(client, admin_headers, ada)[0]["sent_status"] in ("queued", "sent")
    solve_a_case(client, agent_headers, ada)

    def two_decisions() -> list[dict] | None:
        decisions = voice_of(client, admin_headers, ada)["decisions"]
        return decisions if len(decisions) >= 2 else None

    decisions = eventually(two_decisions)
    newest = decisions[0]
    assert not newest["asked"] and newest["rule"] == "contact_policy", newest
    assert "email" in newest["reason"], newest
