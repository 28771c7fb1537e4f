"""`rapport serve --workers 2` on PostgreSQL: two server processes, one processor, one clean stop."""

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
from rapport.db.engine import open_database
from rapport.profiles.processor import applied_offset
from rapport.profiles.store import profile_events
from rapport.settings import load_settings

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[str]:
    """Command lines of the process's children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError):
            continue  # gone meanwhile
        if parent == pid:
            found.append(cmdline)
    return found


def test_two_workers_share_the_port_and_one_processor_applies_their_log(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("--workers is PostgreSQL only; this runs in the suite on PostgreSQL (RAPPORT_TEST_DATABASE_URL)")
    db = open_database(load_settings(database_url=database_url))
    source = create_source(db, "shared", "web")
    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "RAPPORT_DATABASE_URL": database_url, "RAPPORT_PROCESSOR": "process"}
    server = subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        spawned = [c for c in _children(server.pid) if "spawn_main" in c]
        assert len(spawned) == 3, f"expected two workers and one processor: {spawned}\n{log.read_text()}"

        offsets: list[int] = []
        failures: list[str] = []

        def send(worker: int) -> None:
            for _ in range(10):  # a new connection each time, so the kernel hands them to either worker
                batch = [{"type": "track", "userId": f"u-{worker}-{i}", "event": "Tick"} for i in range(20)]
                answer = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(source.write_key, ""), timeout=10)
                if answer.status_code != 200:
                    failures.append(answer.text)
                    return
                offsets.append(answer.json()["offset"])

        senders = [threading.Thread(target=send, args=(w,)) for w in range(4)]
        for t in senders:
            t.start()
        for t in senders:
            t.join(timeout=60)
        assert not failures and len(offsets) == 40, failures[:3]
        deadline = time.monotonic() + 30
        while applied_offset(db) < max(offsets) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert applied_offset(db) >= max(offsets), "the processor did not apply the workers' appends"
        with db.read() as conn:
            placed = conn.execute(sa.select(sa.func.count()).select_from(profile_events)).scalar_one()
        assert placed == 800

        server.send_signal(signal.SIGINT)  # as Ctrl-C: workers and processor stop with the server
        assert server.wait(timeout=30) == 0, log.read_text()
        assert not [c for c in _children(server.pid) if "spawn_main" in c]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        db.dispose()
