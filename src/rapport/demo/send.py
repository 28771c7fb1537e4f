"""Sending the demo's stories through the HTTP Tracking API with the official Segment client,
one client per source, the way a customer's website, app, email platform and phone system would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from rapport.collect.service import Source
from rapport.demo.stories import CALLS, EMAIL, MOBILE, WEB, Plan

# Each source sends through one client per lane (a lane holds whole customers, so each customer's
# messages keep their order) to have several batches in flight, as many browsers and phones would.
# Sign-ins on the web and in the app go first, so that who owns an email address or a phone
# number is settled before the email platform and the phone system refer to it: the demo's
# profiles and merges then come out the same on every run.
PHASES: tuple[tuple[str, ...], ...] = ((WEB, MOBILE), (EMAIL, CALLS))


@dataclass
class SendReport:
    sent: dict[str, int] = field(default_factory=dict)
    failed: int = 0  # messages in batches the server refused or that could not be delivered
    dropped: int = 0  # messages the client would not queue
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_error(self, error: Exception, batch: Sequence[Any]) -> None:
        with self._lock:
            self.failed += len(batch)
            if len(self.errors) < 5:
                self.errors.append(str(error))


def send_plan(plan: Plan, sources: dict[str, Source], base_url: str, console: Console) -> SendReport:
    import segment.analytics as analytics  # the demo extra; imported here so `rapport` starts without it

    report = SendReport()
    logging.getLogger("segment").setLevel(logging.CRITICAL)  # failures are counted and reported instead
    with Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        for phase in PHASES:
            names = [n for n in phase if plan.calls.get(n)]
            tasks = {name: bar.add_task(f"sending {name}", total=len(plan.calls[name])) for name in names}
            clients: dict[tuple[str, int], Any] = {}
            try:
                for name in names:
                    for lane, method, kwargs in plan.calls[name]:
                        if (name, lane) not in clients:
                            clients[name, lane] = analytics.Client(
                                write_key=sources[name].write_key,
                                host=base_url,
                                sync_mode=False,
                                upload_size=100,
                                max_queue_size=len(plan.calls[name]) + 1,
                                on_error=report.on_error,
                                upload_interval=0.1,
                            )
                        ok, _ = getattr(clients[name, lane], method)(**kwargs)
                        report.dropped += 0 if ok else 1
                    report.sent[name] = len(plan.calls[name])
                _watch(clients, plan, bar, tasks)
            finally:  # on Ctrl-C too: stop uploading, or the server could not drain its connections
                for client in clients.values():
                    client.join()
    return report


def _watch(clients: dict[tuple[str, int], Any], plan: Plan, bar: Progress, tasks: dict[str, TaskID]) -> None:
    """Until every queued message is acknowledged (or reported failed), with progress per source."""
    while True:
        pending = {name: 0 for name in tasks}
        for (name, _), client in clients.items():
            pending[name] += client.queue.unfinished_tasks
        for name, task in tasks.items():
            bar.update(task, completed=len(plan.calls[name]) - pending[name])
        if not any(pending.values()):
            return
        time.sleep(0.1)
