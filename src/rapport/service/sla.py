"""SLA clocks, computed from a case's history when it is read. Pure.

Three promises run on a case: the first response (from when the customer first asked until the
first public reply), the next response (from each customer message that waits for an answer until
the next public reply) and the resolution (from the first ask until solved; a reopen resumes it with
the time already spent). Each counts business time only, on the calendar of the policy in force at
that moment, and not while the case waits on the customer (pending) or is on hold. A policy change
applies its targets to the time already counted: paused time stays paused, counted time stays
counted, whatever the new policy's calendar. Nothing is stored that could drift: the clocks are the
history read again (the service stores only the next due time, for the queue's index).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rapport.service.calendar import ALWAYS, Calendar

FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION = "first_response", "next_response", "resolution"
CLOCKS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
PAUSED_STATUSES = ("pending", "on_hold")
STOPPED_STATUSES = ("solved", "closed")


@dataclass(frozen=True)
class Targets:
    """A policy's promises, in seconds of business time (None: no promise)."""

    first_response_s: int | None = None
    next_response_s: int | None = None
    resolution_s: int | None = None
    warn_before_s: int = 0

    def of(self, clock: str) -> int | None:
        return {FIRST_RESPONSE: self.first_response_s, NEXT_RESPONSE: self.next_response_s}.get(
            clock, self.resolution_s
        )


@dataclass(frozen=True)
class Moment:
    """One entry of a case's history, as the clocks read it.

    kind: `status` (the case entered `status`; the first one opens the case), `customer` (a message
    from the customer), `reply` (a public reply to the customer), `policy` (these targets and this
    calendar apply from now on), `waiting_since` (a merged case's customer had waited since `at`)."""

    at: datetime
    kind: str
    status: str | None = None
    targets: Targets | None = None
    calendar: str | None = None
    policy: str | None = None
    since: datetime | None = None  # waiting_since: when the merged case's customer first asked


@dataclass(frozen=True)
class Clock:
    name: str
    state: str  # none | running | warning | paused | breached | met | missed
    target_s: int | None
    elapsed_s: float
    due_at: datetime | None  # when it is (or was) due; None while paused or without a target
    stopped_at: datetime | None = None
    remaining_s: float | None = None
    met: int = 0  # next response: answered in time so far
    missed: int = 0

    @property
    def running(self) -> bool:
        return self.state in ("running", "warning", "breached")


@dataclass(frozen=True)
class SlaState:
    policy: str | None
    clocks: dict[str, Clock]
    paused: bool

    @property
    def next_due_at(self) -> datetime | None:
        """The earliest due time of a running clock: where the case stands in the queue."""
        dues = [c.due_at for c in self.clocks.values() if c.running and c.due_at is not None]
        return min(dues) if dues else None

    def public(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "paused": self.paused,
            "next_due_at": self.next_due_at,
            "clocks": {name: clock.__dict__ for name, clock in self.clocks.items()},
        }


@dataclass
class _Run:
    """One clock while the history is read."""

    active: bool = False
    elapsed: float = 0.0
    crossed_at: datetime | None = None  # when it first went past its target
    stopped_at: datetime | None = None
    met: int = 0
    missed: int = 0
    last_met: bool | None = None
    target: int | None = None
    projected: datetime | None = None

    def start(self) -> None:
        self.active, self.elapsed, self.crossed_at, self.stopped_at = True, 0.0, None, None

    def stop(self, at: datetime) -> None:
        if not self.active:
            return
        self.active, self.stopped_at = False, at
        self.last_met = self.crossed_at is None or self.crossed_at >= at
        self.met += self.last_met
        self.missed += not self.last_met


@dataclass
class _Case:
    status: str | None = None
    targets: Targets = field(default_factory=Targets)
    calendar: Calendar = ALWAYS
    policy: str | None = None
    replied: bool = False
    opened_at: datetime | None = None


def compute(
    history: Iterable[Moment], calendars: Mapping[str, Calendar], now: datetime, *, default: Calendar = ALWAYS
) -> SlaState:
    """The clocks of a case at `now`, from its history (in the order it happened)."""
    moments = sorted(history, key=lambda m: m.at)
    runs = {name: _Run() for name in CLOCKS}
    case = _Case()
    since: datetime | None = None
    for moment in moments:
        if since is not None and moment.at > since:
            _count(runs, case, since, moment.at)
        since = moment.at if since is None else max(since, moment.at)
        _apply(runs, case, moment, calendars, default)
    if since is not None and now > since:
        _count(runs, case, since, now)
    paused = case.status in PAUSED_STATUSES
    clocks = {name: _clock(name, run, case, paused, since or now, now) for name, run in runs.items()}
    return SlaState(case.policy, clocks, paused)


def _count(runs: dict[str, _Run], case: _Case, start: datetime, end: datetime) -> None:
    """Business time from `start` to `end` on every running clock, on the calendar in force then."""
    if case.status in PAUSED_STATUSES:
        return
    spent: float | None = None
    for name, run in runs.items():
        if not run.active:
            continue
        target = case.targets.of(name)
        if target is not None and run.crossed_at is None:
            due = case.calendar.add(start, target - run.elapsed)
            if due is not None and due <= end:
                run.crossed_at = due
        if spent is None:
            spent = case.calendar.business_seconds(start, end)
        run.elapsed += spent


def _apply(runs: dict[str, _Run], case: _Case, m: Moment, calendars: Mapping[str, Calendar], default: Calendar) -> None:
    if m.kind == "policy":
        case.targets = m.targets or Targets()
        case.calendar = calendars.get(m.calendar or "", default)
        case.policy = m.policy
    elif m.kind == "status" and m.status is not None:
        first, before = case.status is None, case.status
        case.status = m.status
        if first:
            case.opened_at = m.at
            runs[FIRST_RESPONSE].start()
            runs[RESOLUTION].start()
        if m.status in STOPPED_STATUSES:
            runs[FIRST_RESPONSE].stop(m.at)
            runs[NEXT_RESPONSE].stop(m.at)
            runs[RESOLUTION].stop(m.at)
        elif before in STOPPED_STATUSES:  # reopened: the resolution clock goes on from where it stopped
            resolution = runs[RESOLUTION]
            resolution.active, resolution.stopped_at = True, None
            if resolution.last_met is not None:
                resolution.met -= resolution.last_met
                resolution.missed -= not resolution.last_met
    elif m.kind == "customer":
        if case.replied and not runs[NEXT_RESPONSE].active and case.status not in STOPPED_STATUSES:
            runs[NEXT_RESPONSE].start()
    elif m.kind == "reply":
        case.replied = True
        runs[FIRST_RESPONSE].stop(m.at)
        runs[NEXT_RESPONSE].stop(m.at)
    elif m.kind == "waiting_since" and m.since is not None and case.opened_at and m.since < case.opened_at:
        # A duplicate merged into this case was asked earlier: its customer has waited since then,
        # so the business time between then and this case's own start counts as well.
        extra = case.calendar.business_seconds(m.since, case.opened_at)
        for name in (FIRST_RESPONSE, RESOLUTION):
            if runs[name].active:
                runs[name].elapsed += extra
        case.opened_at = m.since


def _clock(name: str, run: _Run, case: _Case, paused: bool, last: datetime, now: datetime) -> Clock:
    target = case.targets.of(name)
    started = run.active or run.stopped_at is not None
    if target is None or not started:
        return Clock(name, "none", target, run.elapsed, None, run.stopped_at, None, run.met, run.missed)
    remaining = target - run.elapsed
    if not run.active:
        state = "met" if run.last_met else "missed"
        return Clock(name, state, target, run.elapsed, run.crossed_at, run.stopped_at, remaining, run.met, run.missed)
    if run.crossed_at is not None or remaining <= 0:
        return Clock(name, "breached", target, run.elapsed, run.crossed_at or now, None, remaining, run.met, run.missed)
    if paused:
        return Clock(name, "paused", target, run.elapsed, None, None, remaining, run.met, run.missed)
    due = case.calendar.add(now, remaining)
    state = "warning" if remaining <= case.targets.warn_before_s else "running"
    return Clock(name, state, target, run.elapsed, due, None, remaining, run.met, run.missed)
