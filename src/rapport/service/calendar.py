"""Business calendars: when the clock of a service promise runs. Pure.

A calendar has a timezone, any number of business intervals per weekday (09:00-12:00 and
13:00-17:00), public holidays of a country and region (the `holidays` library, kept current by its
maintainers) and closing days or hours from an iCalendar file. Every instant is timezone-aware UTC
inside; the calendar's own timezone is used only to lay a local day's intervals onto UTC, so a day
on which the clocks change simply has an hour more or less of business time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 3 * 366  # a promise further than this ahead (or a calendar never open) has no due time
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_INTERVALS_PER_DAY = 8
MAX_ICAL_BYTES = 1_000_000
MAX_CLOSURES = 5_000

Interval = tuple[time, time | None]  # local start, end (None: midnight at the end of the day)


class CalendarError(ValueError):
    """A calendar definition that cannot be used, with a message for the person who wrote it."""


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    hours: Mapping[int, tuple[Interval, ...]] = field(
        default_factory=lambda: {day: ((time(0), None),) for day in range(7)}
    )
    holidays: frozenset[date] = frozenset()  # local dates closed all day (listed, or from iCalendar)
    closures: tuple[tuple[datetime, datetime], ...] = ()  # UTC spans closed (timed iCalendar events)
    country: str | None = None  # public holidays of this country (ISO 3166), through `holidays`
    subdivision: str | None = None  # and of this region of it

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        return self.country is not None and day in public_holidays(self.country, self.subdivision, day.year)

    # A day's business spans, once worked out (the calendar is immutable, so they never change).
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def open_spans(self, first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
        """Business time from local day `first` to `last` (inclusive) as UTC spans, in order."""
        day = first
        while day <= last:
            spans = self._days.get(day)
            if spans is None:
                spans = self._days[day] = tuple(self._day_spans(day))
            yield from spans
            day += timedelta(days=1)

    def _day_spans(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if self.is_holiday(day):
            return
        zone = self.zone
        for start, end in self.hours.get(day.weekday(), ()):
            begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            finish = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                if end is None
                else datetime.combine(day, end, tzinfo=zone)
            ).astimezone(UTC)
            yield from _minus_closures(begin, finish, self.closures)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Business time between two instants, summed exactly (in timedeltas) and made seconds once:
        added up as floats, two days could come out as 172799.99999999997 seconds."""
        if end <= start:
            return 0.0
        total = timedelta(0)
        for begin, finish in self.open_spans(self._local_date(start), self._local_date(end)):
            if finish <= start:
                continue
            if begin >= end:
                break
            total += min(finish, end) - max(begin, start)
        return total.total_seconds()

    def add(self, start: datetime, seconds: float) -> datetime | None:
        """The instant `seconds` of business time after `start`; None past the horizon."""
        if seconds <= 0:
            return start
        first = self._local_date(start)
        day = first
        while (day - first).days < HORIZON_DAYS:
            last = day + timedelta(days=30)
            for begin, finish in self.open_spans(day, last):
                if finish <= start:
                    continue
                begin = max(begin, start)
                available = (finish - begin).total_seconds()
                if seconds <= available:
                    return begin + timedelta(seconds=seconds)
                seconds -= available
            day = last + timedelta(days=1)
        return None


ALWAYS = Calendar()


def _minus_closures(
    begin: datetime, finish: datetime, closures: Sequence[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    spans = [(begin, finish)]
    for c_start, c_end in closures:
        if c_end <= begin or c_start >= finish:
            continue
        cut: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if c_end <= s or c_start >= e:
                cut.append((s, e))
                continue
            if s < c_start:
                cut.append((s, c_start))
            if c_end < e:
                cut.append((c_end, e))
        spans = cut
    yield from (span for span in spans if span[0] < span[1])


@lru_cache(maxsize=512)
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def parse_calendar(document: Mapping[str, Any]) -> Calendar:
    """A calendar from its stored (or posted) document; raises CalendarError with what is wrong.

    {"timezone": "Europe/London", "hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...},
     "holidays": {"country": "GB", "subdivision": "ENG", "dates": ["2025-12-24"]}, "ical": "BEGIN:VCALENDAR..."}
    """
    unknown = set(document) - {"timezone", "hours", "holidays", "ical"}
    if unknown:
        raise CalendarError(f"unknown field(s): {', '.join(sorted(unknown))}")
    zone = document.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"timezone {zone!r} is not a known IANA timezone (e.g. Europe/London)") from None
    hours = _hours(document.get("hours"))
    country, subdivision, dates = _holidays(document.get("holidays"))
    ical = document.get("ical")
    closures: tuple[tuple[datetime, datetime], ...] = ()
    if ical is not None:
        if not isinstance(ical, str):
            raise CalendarError("ical must be the text of an iCalendar (.ics) file")
        days, closures = read_ical(ical, str(zone))
        dates |= days
    return Calendar(str(zone), hours, frozenset(dates), closures, country, subdivision)


def _hours(value: Any) -> dict[int, tuple[Interval, ...]]:
    if value is None:
        return dict(ALWAYS.hours)
    if not isinstance(value, Mapping) or not set(value) <= set(WEEKDAYS):
        raise CalendarError(f"hours must map weekdays ({', '.join(WEEKDAYS)}) to lists of [start, end]")
    hours: dict[int, tuple[Interval, ...]] = {}
    for name, spans in value.items():
        if not isinstance(spans, list) or len(spans) > MAX_INTERVALS_PER_DAY:
            raise CalendarError(f"hours.{name} must be a list of at most {MAX_INTERVALS_PER_DAY} [start, end] pairs")
        parsed: list[Interval] = []
        for span in spans:
            if not (isinstance(span, list | tuple) and len(span) == 2 and all(_is_clock(s) for s in span)):
                raise CalendarError(f'hours.{name}: each interval is ["HH:MM", "HH:MM"] (24:00 for midnight)')
            start = time.fromisoformat(span[0]) if span[0] != "24:00" else None
            end = None if span[1] == "24:00" else time.fromisoformat(span[1])
            if start is None or (end is not None and end <= start):
                raise CalendarError(f"hours.{name}: an interval must end after it starts: {span[0]}-{span[1]}")
            parsed.append((start, end))
        parsed.sort(key=lambda s: s[0])
        for (_, end), (start, _) in zip(parsed, parsed[1:], strict=False):
            if end is None or end > start:
                raise CalendarError(f"hours.{name}: intervals overlap")
        hours[WEEKDAYS.index(name)] = tuple(parsed)
    return hours


def _is_clock(value: Any) -> bool:
    return isinstance(value, str) and bool(_CLOCK.match(value))


def _holidays(value: Any) -> tuple[str | None, str | None, set[date]]:
    if value is None:
        return None, None, set()
    if not isinstance(value, Mapping) or not set(value) <= {"country", "subdivision", "dates"}:
        raise CalendarError('holidays is {"country": "GB", "subdivision": "ENG", "dates": ["YYYY-MM-DD", ...]}')
    country, subdivision = value.get("country"), value.get("subdivision")
    if country is not None:
        try:
            public_holidays(str(country).upper(), subdivision and str(subdivision), 2025)
        except (NotImplementedError, KeyError, ValueError):
            raise CalendarError(f"no public holidays are known for {country!r} {subdivision or ''}".strip()) from None
    dates: set[date] = set()
    listed = value.get("dates", [])
    if not isinstance(listed, list) or len(listed) > MAX_CLOSURES:
        raise CalendarError(f"holidays.dates must be a list of at most {MAX_CLOSURES} dates")
    for item in listed:
        try:
            dates.add(date.fromisoformat(str(item)))
        except ValueError:
            raise CalendarError(f"holidays.dates: {item!r} is not a date (YYYY-MM-DD)") from None
    return (str(country).upper() if country else None), (str(subdivision) if subdivision else None), dates


def read_ical(text: str, timezone: str) -> tuple[set[date], tuple[tuple[datetime, datetime], ...]]:
    """Closing days (all-day events) and closing hours (timed events) from an iCalendar file, with
    yearly, monthly or weekly repeats (RRULE) expanded over the horizon."""
    from icalendar import Calendar as ICal

    if len(text.encode()) > MAX_ICAL_BYTES:
        raise CalendarError(f"the iCalendar file is larger than {MAX_ICAL_BYTES} bytes")
    try:
        parsed = ICal.from_ical(text)
        events = list(parsed.walk("VEVENT"))
    except Exception as exc:  # noqa: BLE001 - icalendar raises many kinds for a file it cannot read
        raise CalendarError(f"the iCalendar file cannot be read: {exc}") from None
    zone = ZoneInfo(timezone)
    days: set[date] = set()
    closures: list[tuple[datetime, datetime]] = []
    for event in events:
        start = event.decoded("DTSTART", None)
        if start is None:
            continue
        end = event.decoded("DTEND", None)
        for first in _occurrences(event, start):
            if isinstance(first, datetime):
                first = first if first.tzinfo else first.replace(tzinfo=zone)
                length = (end - start) if isinstance(end, datetime) else timedelta(hours=1)
                closures.append((first.astimezone(UTC), (first + length).astimezone(UTC)))
            else:
                span = (end - start).days if isinstance(end, date) and not isinstance(end, datetime) else 1
                days.update(first + timedelta(days=n) for n in range(max(1, span)))
        if len(days) + len(closures) > MAX_CLOSURES:
            raise CalendarError(f"the iCalendar file closes more than {MAX_CLOSURES} days or spans")
    return days, tuple(sorted(closures))


def _occurrences(event: Any, start: date | datetime) -> list[date | datetime]:
    rule = event.get("RRULE")
    if rule is None:
        return [start]
    from dateutil.rrule import rrulestr

    text = rule.to_ical().decode()
    first = start if isinstance(start, datetime) else datetime.combine(start, time(0))
    aware = first.tzinfo is not None
    until = first + timedelta(days=HORIZON_DAYS)
    try:
        found = rrulestr(text, dtstart=first, forceset=False, ignoretz=not aware)
        dates = found.between(first - timedelta(seconds=1), until, inc=True)  # type: ignore[union-attr]
    except (ValueError, TypeError):
        raise CalendarError(f"an RRULE in the iCalendar file cannot be read: {text}") from None
    dates = dates[:MAX_CLOSURES]
    return [d if isinstance(start, datetime) else d.date() for d in dates]
