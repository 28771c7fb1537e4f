"""Backpressure: hold new Tracking API requests while the profiles lag too far behind the log.

Rapport promises that what a source had acknowledged is on the profile within a second. Under a
load the processor cannot keep up with, that promise would silently stretch to minutes; instead
the server holds new requests (they queue in the clients, as SDKs are built for) until the
processor is back within `max_lag_s` of what this server acknowledged. A request is held at most
`hold_s` and then taken anyway: the gate slows producers, it never turns them away. Refusing would
gain nothing (an accepted event is durable) and could cost data when the backlog is not theirs
(a large `rapport import` ahead of them), since SDKs drop a batch after their last retry.

The check costs nothing while the processor keeps up: the server remembers when it acknowledged
each append and asks the database for the processor's offset only once the oldest unprocessed
acknowledgement is older than `max_lag_s`, at most every `poll_s`.

Backpressure is for a processor that is working. One whose offset has not moved for `stalled_s`
while it was behind is taken as stopped (its supervisor restarts it), and so is one whose offset
cannot be read: the gate then admits at once, since holding would only add latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("rapport.collect")


class LagGate:
    def __init__(
        self,
        read_done: Callable[[], int],
        max_lag_s: float,
        hold_s: float = 5.0,
        poll_s: float = 0.02,
        stalled_s: float = 10.0,
    ) -> None:
        self.read_done = read_done  # the offset the processor has applied (a database read)
        self.max_lag_s = max_lag_s
        self.hold_s = hold_s
        self.poll_s = poll_s
        self.stalled_s = stalled_s
        # (log offset, monotonic time of the 2xx), at most one entry per poll_s: the acks of that
        # span share the oldest time, so the lag is overstated by at most poll_s. Bounded, should the
        # processor stay stopped for long (it is then measured from the oldest entry kept).
        self._acked: deque[tuple[int, float]] = deque(maxlen=100_000)
        self._done = 0
        self._read_at = 0.0
        self._behind_since: float | None = None  # late since then without moving (progress restarts it)
        self._reading: asyncio.Lock | None = None

    def acknowledged(self, offset: int) -> None:
        """Called once an append up to `offset` is committed and about to be acknowledged."""
        now = time.monotonic()
        if not self._acked:
            self._acked.append((offset, now))
            return
        last, at = self._acked[-1]
        if offset <= last:
            return  # covered by a later offset acknowledged no later
        if now - at < self.poll_s:
            self._acked[-1] = (offset, at)
        else:
            self._acked.append((offset, now))

    def lag_s(self, now: float) -> float:
        """How long the oldest acknowledged event not yet on a profile has waited (as last known)."""
        acked = self._acked
        while acked and acked[0][0] <= self._done:
            acked.popleft()
        return now - acked[0][1] if acked else 0.0

    def stalled(self, now: float) -> bool:
        """Late, and the processor's offset has not moved for `stalled_s`."""
        return self._behind_since is not None and now - self._behind_since > self.stalled_s

    async def admit(self) -> bool:
        """Wait until the lag is within bounds, at most `hold_s`; answer whether it is."""
        now = time.monotonic()
        deadline = now + self.hold_s
        while self.lag_s(now) > self.max_lag_s:
            try:
                await self._refresh(now)
            except Exception:  # noqa: BLE001 - an unreadable offset must not fail ingest
                log.warning("backpressure: cannot read the processor's offset; admitting", exc_info=True)
                return False
            now = time.monotonic()
            if self.lag_s(now) <= self.max_lag_s:
                return True
            if self.stalled(now) or now >= deadline:
                return False
            await asyncio.sleep(self.poll_s)
            now = time.monotonic()
        return True

    async def _refresh(self, now: float) -> None:
        """Read the processor's offset, one reader at a time and at most every `poll_s`."""
        if self._reading is None:
            self._reading = asyncio.Lock()
        async with self._reading:
            if now - self._read_at < self.poll_s:
                return
            done = await asyncio.to_thread(self.read_done)
            self._read_at = now = time.monotonic()
            moved, self._done = done > self._done, max(self._done, done)
            if self.lag_s(now) <= self.max_lag_s:
                self._behind_since = None
            elif moved or self._behind_since is None:
                self._behind_since = now
