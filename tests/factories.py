"""Helpers tests use to talk to Rapport the way clients do."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from rapport.collect.service import Source
from rapport.db.engine import Database


def basic_auth(source: Source) -> dict[str, str]:
    token = base64.b64encode(f"{source.write_key}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def send_batch(client: TestClient, source: Source, messages: list[dict[str, Any]], **body: Any) -> Any:
    return client.post("/v1/batch", json={"batch": messages, **body}, headers=basic_auth(source))


def profile_by(client: TestClient, headers: dict[str, str], identifier: str) -> dict[str, Any] | None:
    """The profile holding `identifier`, after everything acknowledged so far is applied."""
    res = client.get("/api/v1/profiles", params={"identifier": identifier, "consistent": "true"}, headers=headers)
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    assert len(items) <= 1
    return items[0] if items else None


def settled_history(
    client: TestClient, headers: dict[str, str], pid: str, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The person's contact history, newest first, once no message in it is still queued: the app's
    outbox worker (a thread of the test's server, RAPPORT_PROCESSOR=thread) has sent or given up each."""
    deadline = time.monotonic() + timeout
    while True:
        res = client.get(f"/api/v1/profiles/{pid}/contact-history", headers=headers)
        assert res.status_code == 200, res.text
        items: list[dict[str, Any]] = res.json()["items"]
        if all(item["status"] != "queued" for item in items) or time.monotonic() > deadline:
            return items
        time.sleep(0.02)


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first true answer of `check`, asked until `timeout`; its last answer then."""
    deadline = time.monotonic() + timeout
    while not (answer := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return answer


def identifiers_of(profile: dict[str, Any]) -> set[str]:
    return {f"{i['type']}:{i['value']}" for i in profile["identifiers"]}


def count_rows(db: Database, table: sa.Table) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# Rich wraps what a command prints at the terminal's width (80 columns under CliRunner, which has no
# terminal), and Typer draws a box around a usage error. Where a line breaks and the box's edges are
# layout, not what the user is told, and they move with the width and with every release of either.
_BOX = str.maketrans("", "", "╭╮╰╯│─")


def says(output: str, *phrases: str) -> bool:
    """Whether a command's output tells every phrase, whatever the width it was wrapped at."""

    def squeezed(text: str) -> str:
        return "".join(text.translate(_BOX).split())

    told = squeezed(output)
    return all(squeezed(phrase) in told for phrase in phrases)
