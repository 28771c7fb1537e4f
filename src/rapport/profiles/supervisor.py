"""The processor as a child process of `rapport serve` and `rapport demo`, started again should it die.

Ingest and processing then use one core each. A processor that died (a crash, the OOM killer)
would leave the server acknowledging events that no profile shows, and, with backpressure, holding
every request; so a watcher thread starts a new child a second after it dies. A child that exits
cleanly (code 0), or that a SIGTERM or SIGINT ended before its handlers were set, was told to stop,
by a signal to the whole process group, and is left alone. The
child stops by itself when its parent goes (profiles.processor.processor_process_main).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

from rapport.settings import Settings

log = logging.getLogger("rapport.processor")


# Exit codes of a child told to stop: its own clean exit, or the signal itself while it was starting.
STOPPED = (0, -signal.SIGTERM, -signal.SIGINT)


class ProcessorChild:
    def __init__(self, settings: Settings, restart_delay_s: float = 1.0) -> None:
        self.settings = settings
        self.restart_delay_s = restart_delay_s
        self._process: BaseProcess | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # spawning and stopping never interleave
        self._watcher = threading.Thread(target=self._watch, name="rapport-processor-watch", daemon=True)

    def start(self) -> ProcessorChild:
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
        from rapport.profiles.processor import processor_process_main

        process = multiprocessing.get_context("spawn").Process(
            target=processor_process_main,
            args=(self.settings.model_dump_json(), os.getpid()),
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
