"""Fixed-window counters for what must not be asked too often (sign-in links): per key and in all.

In memory, per process: with several server processes each counts its own share, which bounds a
flood all the same (the limits multiply by the number of processes, a known factor)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class WindowLimit:
    """At most `per_key` requests a key and `in_all` requests in all, in each `window_s` window."""

    def __init__(self, per_key: int, in_all: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_key, self.in_all, self.window_s, self._clock = per_key, in_all, window_s, clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}
        self._total = 0

    def take(self, key: str) -> float:
        """Count one request of `key`: 0 when allowed, else the seconds until the window turns."""
        now = self._clock()
        window = int(now // self.window_s)
        with self._lock:
            if window != self._window:
                self._window, self._counts, self._total = window, {}, 0
            if self._total >= self.in_all or self._counts.get(key, 0) >= self.per_key:
                return (window + 1) * self.window_s - now
            self._counts[key] = self._counts.get(key, 0) + 1
            self._total += 1
            return 0.0
