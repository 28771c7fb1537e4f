"""Every send path goes through the one permission check (rapport.consent.model.check_permission)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rapport
from factories import profile_by, send_batch
from rapport.consent import model
from rapport.consent.model import Decision

SRC = Path(rapport.__file__).parent


@pytest.fixture
def refuse_everything(monkeypatch):
    calls = []

    def spy(subject, purpose, channel, now, contact_point=None, *, outreach):
        calls.append((purpose, channel, outreach))
        return Decision(False, "refused by the test")

    monkeypatch.setattr(model, "check_permission", spy)
    return calls


@pytest.fixture
def person(client, backend, admin_headers):
    send_batch(client, backend, [{"type": "identify", "userId": "p", "traits": {"email": "p@example.com"}}])
    pid = profile_by(client, admin_headers, "user_id:p")["id"]
    body = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "form"}
    client.post(f"/api/v1/profiles/{pid}/consents", json=body, headers=admin_headers)
    return pid


def test_staff_messages_go_through_the_check(client, admin_headers, person, smtp, refuse_everything):
    for purpose in ("marketing", "service"):
        body = {"profile_id": person, "purpose": purpose, "subject": "s", "text": "t"}
        result = client.post("/api/v1/messages", json=body, headers=admin_headers).json()
        assert result == {"status": "suppressed", "reason": "refused by the test", "profile_id": person}
    assert smtp.messages == []
    assert [c[0] for c in refuse_everything] == ["marketing", "service"]


def test_portal_sign_in_mail_goes_through_the_check(client, person, smtp, refuse_everything):
    assert client.post("/portal/sign-in", data={"email": "p@example.com"}).status_code == 200
    assert smtp.messages == []
    assert refuse_everything == [("service", "email", False)]


def test_nothing_sends_mail_without_asking_the_check():
    """A module that hands mail to SMTP, or puts it in the outbox for the worker to hand over, must
    also ask the permission check (the worker asks again right before sending)."""
    senders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {
            n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
        }
        if names & {"send_email", "queue_mail", "insert_mail"} and path.name != "mail.py":
            senders.append(path.relative_to(SRC).as_posix())
            assert "check_permission_for" in names, f"{path} sends or queues mail without the permission check"
    assert sorted(senders) == ["outbound/confirm.py", "outbound/service.py", "outbound/worker.py", "privacy/sign_in.py"]


def test_decisions_go_through_the_check(client, admin_headers, person, refuse_everything):
    """Even a customer who chose `personal` and consented gets no history-based decision when the one
    check refuses; the console's preview asks it too."""
    client.put(
        f"/api/v1/profiles/{person}/preferences", json={"personalization_level": "personal"}, headers=admin_headers
    )
    body = {"purpose": "personalization", "channel": "any", "status": "granted", "source": "form"}
    client.post(f"/api/v1/profiles/{person}/consents", json=body, headers=admin_headers)
    res = client.post(f"/api/v1/profiles/{person}/decisions", json={"channel": "web"}, headers=admin_headers)
    assert res.status_code == 200 and res.json()["level"] == "contextual"
    assert ("personalization", "web", False) in refuse_everything


def test_every_decision_path_reads_history_only_after_the_check():
    """decide/service.py's scope_of is where a decision learns what it may read: it asks the check, and
    the modules that decide use it rather than reading history themselves."""
    tree = ast.parse((SRC / "decide" / "service.py").read_text())
    scope = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "scope_of")
    called = [n.func.id for n in ast.walk(scope) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert called.index("check_permission_for") < called.index("history")
    for name in ("recommend.py", "api.py", "console.py", "actions_console.py"):
        text = (SRC / "decide" / name).read_text()
        assert "scope_of(" in text or "decide(" in text, name
        assert "history(" not in text, f"decide/{name} reads history without the permission check"
    # next best actions read the person only through the scope they are handed, and ask the check for profiling
    text = (SRC / "decide" / "arbitrate.py").read_text()
    assert "history(" not in text and "visit(" not in text
    assert 'check_permission_for(conn, person.profile_id, "profiling"' in text
    deciders = sorted(p.name for p in (SRC / "decide").glob("*.py") if "next_best_actions(" in p.read_text())
    assert deciders == ["actions_console.py", "arbitrate.py", "recommend.py"]


def test_next_best_actions_go_through_the_check(client, admin_headers, person, refuse_everything):
    """An offer whose eligibility reads the profile is held when the check refuses, whatever the
    customer chose; an action that reads nothing of theirs is still presented."""
    client.put(
        f"/api/v1/profiles/{person}/preferences", json={"personalization_level": "personal"}, headers=admin_headers
    )
    for purpose in ("personalization", "profiling"):
        body = {"purpose": purpose, "channel": "any", "status": "granted", "source": "form"}
        client.post(f"/api/v1/profiles/{person}/consents", json=body, headers=admin_headers)
    for action_id, kind in (("offer", "offer"), ("help", "help")):
        body = {"id": action_id, "name": action_id, "kind": kind, "title": action_id}
        assert client.post("/api/v1/actions", json=body, headers=admin_headers).status_code == 201
    rules = {"all": [{"trait": "email", "op": "exists"}]}
    body = {"name": "known", "stage": "eligibility", "actions": ["offer"], "rules": rules}
    assert client.post("/api/v1/policies", json=body, headers=admin_headers).status_code == 201
    res = client.post(f"/api/v1/profiles/{person}/decisions", json={"channel": "web"}, headers=admin_headers).json()
    assert [a["id"] for a in res["actions"]] == ["help", "do_nothing"]
    assert ("personalization", "web", False) in refuse_everything


def test_suggestions_go_through_the_check(client, admin_headers, person, refuse_everything):
    """A customer who chose `personal` and consented is asked nothing from their usage when the one
    check refuses."""
    client.put(
        f"/api/v1/profiles/{person}/preferences", json={"personalization_level": "personal"}, headers=admin_headers
    )
    body = {"purpose": "personalization", "channel": "any", "status": "granted", "source": "form"}
    client.post(f"/api/v1/profiles/{person}/consents", json=body, headers=admin_headers)
    res = client.get(f"/api/v1/profiles/{person}/suggestions", headers=admin_headers)
    assert res.status_code == 200 and res.json()["level"] == "contextual" and res.json()["pending"] == []
    assert ("personalization", "web", False) in refuse_everything


def test_suggestions_read_usage_only_after_the_check():
    tree = ast.parse((SRC / "decide" / "suggest_service.py").read_text())
    asking = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "suggestions_for")
    called = [n.func.id for n in ast.walk(asking) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert called.index("level_of") < called.index("uses_of")
    level_of = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "level_of")
    assert "check_permission_for" in ast.unparse(level_of)
    for name in ("suggest_portal.py", "suggest_console.py", "suggest_api.py"):
        text = (SRC / "decide" / name).read_text()
        assert "history(" not in text and "uses_of(" not in text, f"decide/{name} reads usage without the check"
