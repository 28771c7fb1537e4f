"""The consumers' child process of `rapport serve` and `rapport demo`, started again should it die.

One child process runs every consumer it is given, each in a thread of its own
(collect/consumer.py), and the contexts' workers beside them (the outbox's): ingest and the
profile processor then use one core each, and a hung mail server holds no server thread. A child that died
(a crash, the OOM killer) would leave the server acknowledging events that no profile shows, and,
with backpressure, holding every request; so a watcher thread starts a new child a second after it
dies. A child that exits cleanly (code 0), or that a SIGTERM or SIGINT ended before its handlers
were set, was told to stop, by a signal to the whole process group, and is left alone. The child
stops by itself when its parent goes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from multiprocessing.process import BaseProcess

from rapport.collect.consumer import ConsumerType, Worker
from rapport.settings import Settings

log = logging.getLogger("rapport.processor")


# Exit codes of a child told to stop: its own clean exit, or the signal itself while it was starting.
STOPPED = (0, -signal.SIGTERM, -signal.SIGINT)


class ConsumerChild:
    def __init__(
        self,
        settings: Settings,
        consumers: Sequence[ConsumerType],
        restart_delay_s: float = 1.0,
        workers: Sequence[Worker] = (),
    ) -> None:
        self.settings = settings
        self.consumers = tuple(consumers)  # classes: a spawned child imports them by name
        self.workers = tuple(workers)  # module-level functions, imported by name likewise
        self.restart_delay_s = restart_delay_s
        self._process: BaseProcess | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # spawning and stopping never interleave
        self._watcher = threading.Thread(target=self._watch, name="rapport-processor-watch", daemon=True)

    def start(self) -> ConsumerChild:
        with self._lock:
            self._process = self._spawn()
        self._watcher.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            process = self._process
        if process is None:
            return
        process.terminate()
        process.join(timeout=10)
        if process.is_alive():  # its signal handler can deadlock in Event.set; never leave it behind
            process.kill()
            process.join(timeout=5)

    def _spawn(self) -> BaseProcess:
        process = multiprocessing.get_context("spawn").Process(
            target=consumers_main,
            args=(self.settings.model_dump_json(), os.getpid(), self.consumers, self.workers),
            name="rapport-processor",
            daemon=True,
        )
        process.start()
        return process

    def _watch(self) -> None:
        while not self._stop.is_set():
            process = self._process
            assert process is not None
            process.join(timeout=0.5)
            if process.is_alive():
                continue
            if process.exitcode in STOPPED:  # it was asked to stop (a signal to the process group): so are we
                return
            if self._stop.wait(self.restart_delay_s):
                return
            with self._lock:
                if self._stop.is_set():
                    return
                log.error("the processor exited (code %s); starting it again", process.exitcode)
                self._process = self._spawn()


def consumers_main(
    settings_json: str, parent_pid: int, consumers: Sequence[ConsumerType], workers: Sequence[Worker] = ()
) -> None:
    """Entry point of the child process: every consumer and worker in a thread, until a signal or its
    parent goes."""
    from rapport.collect.consumer import start_consumers
    from rapport.db.engine import open_database

    stop = threading.Event()

    # Setting the Event from a handler could deadlock on its lock while the main thread waits on it.
    def request_stop(*_: object) -> None:
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def watch_parent() -> None:
        while not stop.wait(0.5):
            if os.getppid() != parent_pid:
                stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    db = open_database(Settings.model_validate_json(settings_json))
    try:
        for thread in start_consumers(db, consumers, stop, workers):
            while thread.is_alive():  # joined with a timeout, so the signal handlers above get to run
                thread.join(0.5)
    finally:
        db.dispose()
