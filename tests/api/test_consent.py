"""Consent, preferences and the permission check through the staff and Tracking APIs."""

from __future__ import annotations

import pytest

from factories import basic_auth, profile_by, says, send_batch


@pytest.fixture
def ada(client, source, admin_headers):
    send_batch(
        client, source, [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com", "name": "Ada"}}]
    )
    return profile_by(client, admin_headers, "user_id:ada")["id"]


def consents(client, headers, pid):
    res = client.get(f"/api/v1/profiles/{pid}/consents", headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def permission(client, headers, pid, purpose, channel, **extra):
    params = {"purpose": purpose, "channel": channel, **extra}
    return client.get(f"/api/v1/profiles/{pid}/permission", params=params, headers=headers).json()


def grant(client, headers, pid, purpose="marketing", channel="email", status="granted", **extra):
    body = {
        "purpose": purpose,
        "channel": channel,
        "status": status,
        "source": "signup form",
        "notice_version": "v3",
        **extra,
    }
    res = client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=headers)
    assert res.status_code == 201, res.text
    return res.json()


def test_nothing_is_assumed(client, admin_headers, ada):
    assert consents(client, admin_headers, ada) == {"profile_id": ada, "current": [], "history": []}
    for purpose in ("marketing", "analytics", "profiling", "sharing"):
        decision = permission(client, admin_headers, ada, purpose, "email")
        assert decision == {"allowed": False, "reason": f"no {purpose} consent for email: nothing is assumed"}
    assert permission(client, admin_headers, ada, "personalization", "web") == {
        "allowed": False,
        "reason": "personalization level is 'contextual'; history is not used",
    }
    assert permission(client, admin_headers, ada, "service", "email")["allowed"] is True


def test_ledger_is_append_only_and_latest_wins(client, admin_headers, ada):
    grant(client, admin_headers, ada)
    assert permission(client, admin_headers, ada, "marketing", "email")["allowed"] is True
    grant(client, admin_headers, ada, status="withdrawn")
    state = consents(client, admin_headers, ada)
    assert [r["status"] for r in state["history"]] == ["granted", "withdrawn"]
    assert [r["status"] for r in state["current"]] == ["withdrawn"]
    assert state["history"][0]["notice_version"] == "v3" and state["history"][0]["source"] == "signup form"
    decision = permission(client, admin_headers, ada, "marketing", "email")
    assert decision == {"allowed": False, "reason": "marketing consent withdrawn for email"}


def test_contact_point_and_any_channel_scopes(client, admin_headers, ada):
    grant(client, admin_headers, ada, channel="any")
    assert permission(client, admin_headers, ada, "marketing", "sms")["allowed"] is True
    grant(client, admin_headers, ada, status="withdrawn", contact_point="ada@example.com")
    assert (
        permission(client, admin_headers, ada, "marketing", "email", contact_point="ada@example.com")["allowed"]
        is False
    )
    assert (
        permission(client, admin_headers, ada, "marketing", "email", contact_point="ada@work.example")["allowed"]
        is True
    )


def test_expired_consent_is_not_consent(client, admin_headers, ada):
    grant(client, admin_headers, ada, expires_at="2020-01-01T00:00:00Z")
    assert permission(client, admin_headers, ada, "marketing", "email") == {
        "allowed": False,
        "reason": "marketing consent for email expired",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"purpose": "spam", "channel": "email", "status": "granted", "source": "x"}, "invalid_purpose"),
        ({"purpose": "marketing", "channel": "fax", "status": "granted", "source": "x"}, "invalid_channel"),
        ({"purpose": "marketing", "channel": "email", "status": "maybe", "source": "x"}, "invalid_request"),
        ({"purpose": "marketing", "channel": "email", "status": "granted"}, "invalid_request"),
        (
            {
                "purpose": "marketing",
                "channel": "email",
                "status": "granted",
                "source": "x",
                "expires_at": "2030-01-01T00:00:00",
            },
            "invalid_expiry",
        ),
        (
            {"purpose": "marketing", "channel": "email", "status": "granted", "source": "x", "expires_at": "soon"},
            "invalid_request",
        ),
    ],
)
def test_bad_consent_bodies_are_400(client, admin_headers, ada, body, code):
    res = client.post(f"/api/v1/profiles/{ada}/consents", json=body, headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, code)


def test_malformed_json_and_unknown_profile(client, admin_headers, ada):
    res = client.post(
        f"/api/v1/profiles/{ada}/consents", content=b"{", headers={**admin_headers, "content-type": "application/json"}
    )
    assert res.status_code == 400 and res.json()["code"] == "invalid_request"
    body = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "x"}
    assert client.post("/api/v1/profiles/nobody/consents", json=body, headers=admin_headers).status_code == 404
    assert client.get("/api/v1/profiles/nobody/preferences", headers=admin_headers).status_code == 404


def test_preferences_round_trip_and_validation(client, admin_headers, ada):
    prefs = client.get(f"/api/v1/profiles/{ada}/preferences", headers=admin_headers).json()
    assert prefs["personalization_level"] == "contextual" and prefs["large_text"] is False
    update = {
        "personalization_level": "personal",
        "preferred_channels": ["email", "sms"],
        "quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Paris"},
        "frequency_caps": {"email": {"max": 2, "per_days": 7}},
        "high_contrast": True,
    }
    res = client.put(f"/api/v1/profiles/{ada}/preferences", json=update, headers=admin_headers)
    assert res.status_code == 200, res.text
    again = client.get(f"/api/v1/profiles/{ada}/preferences", headers=admin_headers).json()
    assert again["quiet_hours"] == update["quiet_hours"] and again["high_contrast"] is True
    assert again["frequency_caps"] == {"email": {"max": 2, "per_days": 7}}
    for bad in (
        {"personalization_level": "max"},
        {"preferred_channels": ["pigeon"]},
        {"quiet_hours": {"start": "25:00"}},
        {"quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Mars/Olympus"}},
        {"frequency_caps": {"email": {"max": -1}}},
        {"large_text": "yes"},
        {"colour": "blue"},
    ):
        res = client.put(f"/api/v1/profiles/{ada}/preferences", json=bad, headers=admin_headers)
        assert (res.status_code, res.json()["code"]) == (400, "invalid_preferences"), bad
    res = client.put(f"/api/v1/profiles/{ada}/preferences", json=[1], headers=admin_headers)
    assert res.status_code == 400


def test_personalization_needs_level_personal_and_consent(client, admin_headers, ada):
    grant(client, admin_headers, ada, purpose="personalization", channel="any")
    decision = permission(client, admin_headers, ada, "personalization", "web")
    assert decision["allowed"] is False and "contextual" in decision["reason"]
    client.put(f"/api/v1/profiles/{ada}/preferences", json={"personalization_level": "personal"}, headers=admin_headers)
    assert permission(client, admin_headers, ada, "personalization", "web")["allowed"] is True
    client.put(f"/api/v1/profiles/{ada}/preferences", json={"personalization_level": "none"}, headers=admin_headers)
    assert permission(client, admin_headers, ada, "personalization", "web")["allowed"] is False


def test_consent_updated_events_and_context_consent_reach_the_ledger(client, source, backend, admin_headers, ada):
    # A backend (server trust) states a grant for mail; a website's cookie banner (client trust)
    # decides what the browser allows on the web itself. Both apply at once.
    consent = {"purpose": "marketing", "channel": "email", "status": "granted", "notice_version": "2026-01"}
    send_batch(client, backend, [{"type": "track", "userId": "ada", "event": "Consent Updated", "properties": consent}])
    banner = {"consent": {"categoryPreferences": {"Analytics": True, "Advertising": False}}}
    send_batch(
        client,
        source,
        [{"type": "page", "userId": "ada", "context": banner}, {"type": "page", "userId": "ada", "context": banner}],
    )
    profile_by(client, admin_headers, "user_id:ada")
    history = consents(client, admin_headers, ada)["history"]
    assert [(r["purpose"], r["channel"], r["status"]) for r in history] == [
        ("marketing", "email", "granted"),
        ("analytics", "web", "granted"),
        ("marketing", "web", "denied"),
    ]
    assert history[0]["source"] == f"tracking:{backend.name}" and history[0]["notice_version"] == "2026-01"
    assert permission(client, admin_headers, ada, "marketing", "email")["allowed"] is True


def test_sec_gpc_on_tracking_is_an_opt_out_of_sharing(client, source, admin_headers, ada):
    grant(client, admin_headers, ada, purpose="sharing", channel="any")
    res = client.post(
        "/v1/track", json={"userId": "ada", "event": "Viewed"}, headers={**basic_auth(source), "Sec-GPC": "1"}
    )
    assert res.status_code == 200
    profile_by(client, admin_headers, "user_id:ada")
    decision = permission(client, admin_headers, ada, "sharing", "web")
    assert decision["allowed"] is False and "denied" in decision["reason"]


def test_consent_changes_are_audited_and_visible_to_privacy_not_agent(client, admin_headers, make_token, ada):
    grant(client, admin_headers, ada)
    client.put(f"/api/v1/profiles/{ada}/preferences", json={"large_text": True}, headers=admin_headers)
    privacy = {"Authorization": f"Bearer {make_token('privacy')}"}
    items = client.get("/api/v1/audit", params={"profile_id": ada}, headers=privacy).json()["items"]
    assert {i["action"] for i in items} == {"consent.granted", "preferences.updated"}
    assert all(i["actor"].startswith("staff:") and i["channel"] == "api" for i in items)
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    assert client.get("/api/v1/audit", headers=agent).status_code == 403


@pytest.mark.parametrize(
    ("role", "allowed"), [("agent", True), ("privacy", True), ("marketer", False), ("analyst", False)]
)
def test_who_may_record_consent(client, make_token, ada, role, allowed):
    body = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "phone call"}
    res = client.post(
        f"/api/v1/profiles/{ada}/consents", json=body, headers={"Authorization": f"Bearer {make_token(role)}"}
    )
    assert res.status_code == (201 if allowed else 403)


def test_consent_arrives_through_file_import(client, make_source, admin_headers, tmp_path, monkeypatch, ada):
    from typer.testing import CliRunner

    from rapport.cli import app as cli

    make_source("store", name="paper-forms")
    path = tmp_path / "consents.csv"
    path.write_text(
        "customer,purpose,channel,status,notice\nada,marketing,sms,granted,paper-2026\nada,sharing,any,denied,paper-2026\n"
    )
    monkeypatch.setenv("RAPPORT_DATABASE_URL", client.app.state.db.settings.database_url)
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(path),
            "--source",
            "paper-forms",
            "--type",
            "track",
            "--event",
            "Consent Updated",
            "--map",
            "userId=customer",
            "--map",
            "properties.purpose=purpose",
            "--map",
            "properties.channel=channel",
            "--map",
            "properties.status=status",
            "--map",
            "properties.notice_version=notice",
        ],
    )
    assert result.exit_code == 0 and says(result.output, "accepted: 2"), result.output
    profile_by(client, admin_headers, "user_id:ada")
    current = {(r["purpose"], r["channel"]): r for r in consents(client, admin_headers, ada)["current"]}
    assert current[("marketing", "sms")]["status"] == "granted"
    assert current[("marketing", "sms")]["source"] == "import:paper-forms"
    assert current[("sharing", "any")]["notice_version"] == "paper-2026"
    assert permission(client, admin_headers, ada, "marketing", "sms")["allowed"] is True


def test_quiet_hours_with_an_offset_are_refused_not_a_later_500(client, admin_headers, ada):
    bad = {"quiet_hours": {"start": "12:00+05:00", "end": "13:00", "timezone": "UTC"}}
    res = client.put(f"/api/v1/profiles/{ada}/preferences", json=bad, headers=admin_headers)
    assert (res.status_code, res.json()["code"]) == (400, "invalid_preferences")
