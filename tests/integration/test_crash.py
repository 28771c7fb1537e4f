"""SIGKILL `rapport serve` during ingestion, restart it, and find every acknowledged message once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import free_port
from rapport.collect.service import create_source
from rapport.collect.store import events
from rapport.db.engine import open_database
from rapport.profiles.processor import applied_offset
from rapport.profiles.store import profile_events
from rapport.settings import load_settings

pytestmark = pytest.mark.slow


def _serve(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAPPORT_DATABASE_URL": database_url, "RAPPORT_PROCESSOR": "process"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start:\n" + log.read_text())


def _sender(url: str, key: str, acked: list[str], stop: threading.Event, worker: int) -> None:
    with httpx.Client(timeout=5, auth=(key, "")) as http:
        n = 0
        while not stop.is_set():
            ids = [f"w{worker}-{n}-{i}" for i in range(50)]
            batch = [
                {"type": "track", "userId": f"user-{(n + i) % 300}", "event": "Tick", "messageId": m}
                for i, m in enumerate(ids)
            ]
            n += 1
            try:
                res = http.post(f"{url}/v1/batch", json={"batch": batch})
            except httpx.HTTPError:
                continue  # not acknowledged: the client may or may not have been heard
            if res.status_code == 200:
                acked.extend(ids)


def test_every_acknowledged_message_survives_sigkill(database_url, tmp_path):
    settings = load_settings(database_url=database_url)
    db = open_database(settings)
    source = create_source(db, "crashy", "web")
    port, log = free_port(), tmp_path / "serve.log"
    server = _serve(database_url, port, log)
    acked: list[str] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_sender, args=(f"http://127.0.0.1:{port}", source.write_key, acked, stop, w))
        for w in range(3)
    ]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 3000 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)  # the server and its processor, mid-stream
    server.wait()
    stop.set()
    for t in senders:
        t.join()
    assert len(acked) >= 1000, "the load never got going:\n" + log.read_text()

    server = _serve(database_url, port, log)
    try:
        with db.read() as conn:
            stored = conn.execute(sa.select(events.c.message_id)).scalars().all()
        assert len(stored) == len(set(stored))
        missing = set(acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged messages lost"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            offset = applied_offset(db)
            with db.read() as conn:
                placed = sa.select(profile_events.c.event_id)
                unplaced = conn.execute(sa.select(sa.func.count()).where(events.c.id.not_in(placed))).scalar()
            if offset and unplaced == 0:
                break
            time.sleep(0.2)
        assert unplaced == 0, (
            f"{unplaced} events never reached a profile after restart (offset {offset}, {len(stored)} stored)"
        )
        res = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert res.status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        db.dispose()


def _processor_pid(server_pid: int) -> int | None:
    """The server's processor child (a multiprocessing spawn), from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == server_pid and b"spawn_main" in cmdline:
            return int(stat.parent.name)
    return None


def test_a_processor_that_dies_is_started_again_and_catches_up(database_url, tmp_path):
    db = open_database(load_settings(database_url=database_url))
    source = create_source(db, "steady", "web")
    port, log = free_port(), tmp_path / "serve.log"
    server = _serve(database_url, port, log)
    try:
        first = _processor_pid(server.pid)
        assert first is not None, "no processor child found"
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (second := _processor_pid(server.pid)) in (None, first) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second not in (None, first), "the processor was not started again:\n" + log.read_text()
        batch = [{"type": "track", "userId": f"after-{i}", "event": "Tick"} for i in range(20)]
        res = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": batch}, auth=(source.write_key, ""))
        assert res.status_code == 200
        offset = res.json()["offset"]
        deadline = time.monotonic() + 30
        while (done := applied_offset(db)) < offset and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done >= offset, "the new processor did not apply the log"
        assert "starting it again" in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        db.dispose()
