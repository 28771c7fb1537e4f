"""The processor child's watcher: a child that dies is started again; one told to stop is not."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rapport.profiles.supervisor import ProcessorChild
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
    child = ProcessorChild(settings, restart_delay_s=0.1).start()
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
