"""The consumers' child process: a child that dies is started again, one told to stop is not, and one
child runs every consumer it is given."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from counting_consumer import Counting, counted
from rapport.collect.consumer import consumer_offset
from rapport.collect.log import append_messages
from rapport.collect.model import Envelope, normalize_message
from rapport.collect.service import Source
from rapport.collect.supervisor import ConsumerChild
from rapport.contexts import CONSUMERS
from rapport.db.engine import Database
from rapport.profiles.processor import Processor
from rapport.settings import Settings

pytestmark = pytest.mark.slow


def _wait_for(condition, timeout_s: float = 30.0) -> bool:  # noqa: ANN001 - a zero-argument predicate
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has set its SIGTERM handler (the SigCgt mask in /proc), i.e. has started."""
    try:
        status = open(f"/proc/{pid}/status").read()  # noqa: PTH123, SIM115 - a one-line read
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def test_a_child_killed_is_started_again_and_one_that_exits_cleanly_is_not(settings: Settings) -> None:
    child = ConsumerChild(settings, CONSUMERS, restart_delay_s=0.1).start()
    try:
        first = child._process
        assert first is not None and first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        assert _wait_for(lambda: child._process is not first), "a killed processor was not started again"
        second = child._process
        assert second is not None and second.pid is not None
        assert _wait_for(lambda: _catches_sigterm(second.pid)), "the new processor did not start"

        os.kill(second.pid, signal.SIGTERM)  # as a Ctrl-C or `systemctl stop` reaches the process group
        assert _wait_for(lambda: second.exitcode is not None)  # the watcher reaps it (never join it twice)
        assert second.exitcode == 0
        child._watcher.join(timeout=5)
        assert not child._watcher.is_alive(), "the watcher kept going after a clean exit"
        assert child._process is second, "a processor that was told to stop was started again"
    finally:
        child.stop()


def test_one_child_runs_every_consumer_it_is_given(settings: Settings, db: Database, source: Source) -> None:
    counted.create(db.writer, checkfirst=True)
    try:
        envelope = Envelope({}, {}, None, datetime.now(UTC))
        messages = [
            normalize_message({"type": "track", "userId": f"u{n}", "event": "Tick"}, envelope) for n in range(9)
        ]
        with db.write() as conn:
            head = append_messages(conn, source.id, messages, []).offset  # type: ignore[arg-type]
        child = ConsumerChild(settings, (Processor, Counting)).start()
        try:
            assert _wait_for(lambda: min(consumer_offset(db, k.name) for k in (Processor, Counting)) == head)
        finally:
            child.stop()
        with db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(counted)).scalar_one() == head
    finally:
        counted.drop(db.writer)
