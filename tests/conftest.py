"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when
RAPPORT_TEST_DATABASE_URL is set), the app in-process, a live server, sources and tokens.

Under CI (CI=true) a test that would skip for a missing component fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from rapport.access.service import create_token
from rapport.app import create_app
from rapport.collect.service import Source, create_source
from rapport.contexts import metadata
from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.settings import Settings, load_settings

PG_URL = os.environ.get("RAPPORT_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip a test for a missing component on a developer machine; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required component missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = open_database(load_settings(database_url=f"sqlite:///{path}"))
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_migrated() -> str | None:
    if not PG_URL:
        return None
    db = open_database(load_settings(database_url=PG_URL))
    with db.writer.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(db)
    db.dispose()
    return PG_URL


def _truncate_pg(url: str) -> None:
    db = open_database(load_settings(database_url=url))
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.writer.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture
def database_url(tmp_path: Path, _sqlite_template: Path, _pg_migrated: str | None) -> str:
    if _pg_migrated:
        _truncate_pg(_pg_migrated)
        return _pg_migrated
    path = tmp_path / "rapport.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # the bytes as received, for tests that read what a receiver reads
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd API
        self.raw.append(envelope.content)  # type: ignore[attr-defined]
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    try:
        mailbox = Mailbox()
    except ImportError:
        require(False, "aiosmtpd is not installed")
        raise
    mailbox.controller.start()
    yield mailbox
    mailbox.controller.stop()


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    smtp_url = request.getfixturevalue("smtp").url if "smtp" in request.fixturenames else None
    return load_settings(database_url=database_url, processor="thread", sqlite_synchronous="NORMAL", smtp_url=smtp_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.dispose()


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


@pytest.fixture
def make_source(db: Database) -> Callable[..., Source]:
    counter = iter(range(1, 10_000))

    def make(channel: str = "web", name: str | None = None, **limits: int) -> Source:
        return create_source(db, name or f"{channel}-{next(counter)}", channel, **limits)

    return make


@pytest.fixture
def source(make_source: Callable[..., Source]) -> Source:
    """A website's source: client trust, its key is public."""
    return make_source("web")


@pytest.fixture
def backend(make_source: Callable[..., Source]) -> Source:
    """A backend integration's source: server trust, so what it says of a person is asserted (mail
    goes only to such addresses, and only they open the portal)."""
    return make_source("other", "backend")


@pytest.fixture
def make_token(db: Database) -> Callable[[str], str]:
    return lambda role: create_token(db, role)[1]


@pytest.fixture
def admin_token(make_token: Callable[[str], str]) -> str:
    return make_token("admin")


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings, db: Database) -> Iterator[LiveServer]:
    with LiveServer(settings, db) as server:
        yield server


@pytest.fixture(scope="session")
def minilm() -> object:
    """The MiniLM encoder, loaded once for the test session (rapport.texts.encoder shares it)."""
    from rapport.texts import encoder

    model = encoder.encoder()
    require(model is not None, f"the model stack is not installed: {encoder.unavailable_reason()}")
    return model
