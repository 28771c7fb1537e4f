"""The log's consumers: every context that reacts to what happens, one line each.

`rapport serve` runs them all (in its child process, or in threads with RAPPORT_PROCESSOR=thread),
`/metrics` shows each one's lag, and `rapport admin replay-unprocessable --consumer NAME` replays
what one set aside. A consumer's name is its offset in the log: never rename one that has run.
"""

from __future__ import annotations

from rapport.collect.consumer import ConsumerType
from rapport.profiles.processor import Processor

CONSUMERS: tuple[ConsumerType, ...] = (
    Processor,  # profiles: identity graph, traits, timeline, consent stated in events
)


def by_name(name: str) -> ConsumerType | None:
    return next((kind for kind in CONSUMERS if kind.name == name), None)
