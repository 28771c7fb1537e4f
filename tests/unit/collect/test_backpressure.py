"""The lag gate holds ingest only while the processor is behind what was acknowledged."""

from __future__ import annotations

import asyncio
import time

from rapport.collect.backpressure import LagGate


class FakeProcessor:
    """The processor's offset as the gate reads it; counts the reads."""

    def __init__(self, done: int = 0) -> None:
        self.done = done
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.done


def test_admits_at_once_and_reads_nothing_while_nothing_is_late():
    processor = FakeProcessor()
    gate = LagGate(processor, max_lag_s=0.5, hold_s=1.0)
    assert asyncio.run(gate.admit())
    gate.acknowledged(100)  # acknowledged just now: not late yet
    assert asyncio.run(gate.admit())
    assert processor.reads == 0


def test_holds_until_the_processor_passes_the_late_acknowledgement():
    processor = FakeProcessor()
    gate = LagGate(processor, max_lag_s=0.05, hold_s=5.0, poll_s=0.01)
    gate.acknowledged(100)
    time.sleep(0.06)

    async def scenario() -> tuple[bool, float]:
        async def catch_up() -> None:
            await asyncio.sleep(0.2)
            processor.done = 100

        started = time.monotonic()
        task = asyncio.create_task(catch_up())
        admitted = await gate.admit()
        await task
        return admitted, time.monotonic() - started

    admitted, waited = asyncio.run(scenario())
    assert admitted
    assert 0.15 < waited < 2.0
    assert 2 <= processor.reads < 60  # polled, at most every poll_s
    assert gate.lag_s(time.monotonic()) == 0.0


def test_partial_progress_measures_the_lag_from_the_next_late_acknowledgement():
    processor = FakeProcessor()
    gate = LagGate(processor, max_lag_s=0.1, hold_s=0.05, poll_s=0.01)
    gate.acknowledged(10)
    time.sleep(0.15)
    gate.acknowledged(20)  # recent
    processor.done = 10
    assert asyncio.run(gate.admit())  # offset 10 is done; 20 is not late yet


def test_an_unreadable_offset_lets_requests_through_at_once():
    def broken() -> int:
        raise RuntimeError("database unavailable")

    gate = LagGate(broken, max_lag_s=0.01, hold_s=5.0)
    gate.acknowledged(5)
    time.sleep(0.02)
    started = time.monotonic()
    assert not asyncio.run(gate.admit())
    assert time.monotonic() - started < 1.0


def test_gives_up_after_the_hold_time():
    processor = FakeProcessor()
    gate = LagGate(processor, max_lag_s=0.01, hold_s=0.2, poll_s=0.02)
    gate.acknowledged(5)
    time.sleep(0.02)
    started = time.monotonic()
    assert not asyncio.run(gate.admit())
    assert 0.2 <= time.monotonic() - started < 2.0


def test_a_processor_that_stopped_moving_no_longer_holds_ingest():
    processor = FakeProcessor(done=3)
    # Timings far apart (held 0.5 s, against "at once" under 0.25 s) so a slow machine cannot blur them.
    gate = LagGate(processor, max_lag_s=0.01, hold_s=0.5, poll_s=0.01, stalled_s=0.8)
    gate.acknowledged(5)
    time.sleep(0.02)
    started = time.monotonic()
    assert not asyncio.run(gate.admit())  # behind, but not yet for stalled_s: held for hold_s
    assert time.monotonic() - started >= 0.5
    time.sleep(0.4)
    started = time.monotonic()
    assert not asyncio.run(gate.admit())  # no progress for stalled_s: taken as stopped, let through at once
    assert time.monotonic() - started < 0.25
    processor.done = 4  # it moves again (restarted): held again while it is behind
    time.sleep(0.02)  # what the gate knows is at most poll_s old
    assert not asyncio.run(gate.admit())
    processor.done = 5
    assert asyncio.run(gate.admit())


def test_a_late_start_after_a_quiet_spell_is_not_a_stall():
    processor = FakeProcessor(done=0)
    gate = LagGate(processor, max_lag_s=0.01, hold_s=0.1, poll_s=0.01, stalled_s=0.2)
    gate.acknowledged(1)
    time.sleep(0.3)  # nobody asked in between: no read found it late yet
    assert not asyncio.run(gate.admit())


def test_acknowledgements_are_kept_one_per_poll_interval():
    gate = LagGate(FakeProcessor(), max_lag_s=1.0, poll_s=0.05)
    for offset in range(1, 1001):  # a thousand acks within one interval
        gate.acknowledged(offset)
    assert len(gate._acked) == 1 and gate._acked[0][0] == 1000
    time.sleep(0.06)
    gate.acknowledged(1001)
    gate.acknowledged(999)  # an ack that overtook none: already covered
    assert [offset for offset, _ in gate._acked] == [1000, 1001]
