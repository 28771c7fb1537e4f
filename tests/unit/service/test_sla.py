"""SLA clocks against answers computed by hand: business hours over a weekend, a public holiday, two
intervals a day, a change of the clocks, pauses, a reopen, a policy changed mid-case, a merge."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from rapport.service.calendar import ALWAYS, Calendar, CalendarError, parse_calendar
from rapport.service.parity import percentile
from rapport.service.sla import Moment, Targets, compute

H = 3600
OFFICE = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def opened(at: datetime, targets: Targets, calendar: str = "cal", policy: str = "p") -> list[Moment]:
    return [Moment(at, "policy", targets=targets, calendar=calendar, policy=policy), Moment(at, "status", "new")]


def test_a_weekend_is_not_business_time() -> None:
    london = parse_calendar({"timezone": "Europe/London", "hours": OFFICE})
    # Friday 13 June 2025, 16:00 BST: one hour left on Friday, three more on Monday from 09:00 BST.
    history = opened(utc(2025, 6, 13, 15), Targets(first_response_s=4 * H))
    state = compute(history, {"cal": london}, now=utc(2025, 6, 13, 15, 30))
    clock = state.clocks["first_response"]
    assert (clock.state, clock.due_at) == ("running", utc(2025, 6, 16, 11))  # Monday 12:00 BST
    assert clock.elapsed_s == 30 * 60 and state.next_due_at == utc(2025, 6, 16, 11)


def test_a_public_holiday_is_not_business_time() -> None:
    england = parse_calendar(
        {"timezone": "Europe/London", "hours": OFFICE, "holidays": {"country": "GB", "subdivision": "ENG"}}
    )
    # Friday 22 August 2025 16:00 BST; Monday 25 August is the summer bank holiday in England.
    state = compute(
        opened(utc(2025, 8, 22, 15), Targets(first_response_s=4 * H)), {"cal": england}, utc(2025, 8, 22, 15)
    )
    assert state.clocks["first_response"].due_at == utc(2025, 8, 26, 11)  # Tuesday 12:00 BST
    assert england.is_holiday(date(2025, 8, 25)) and not england.is_holiday(date(2025, 8, 26))


def test_a_holiday_listed_by_date_or_in_an_icalendar_file() -> None:
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20250616\r\nDTEND;VALUE=DATE:20250618\r\nSUMMARY:Move\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20251224\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Eve\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20250619T090000Z\r\nDTEND:20250619T120000Z\r\nSUMMARY:Training\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    cal = parse_calendar({"timezone": "UTC", "hours": OFFICE, "holidays": {"dates": ["2025-06-20"]}, "ical": ical})
    assert {date(2025, 6, 16), date(2025, 6, 17), date(2025, 6, 20), date(2026, 12, 24)} <= cal.holidays
    # Mon 16 and Tue 17 closed (two-day event), Wed 18 open 8h, Thu 19 open 12:00-17:00 (training until noon).
    assert cal.business_seconds(utc(2025, 6, 16), utc(2025, 6, 21)) == (8 + 5) * H
    assert cal.add(utc(2025, 6, 16, 9), 10 * H) == utc(2025, 6, 19, 14)


def test_two_intervals_a_day() -> None:
    split = parse_calendar({"hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}})
    # Monday 16 June 2025 10:00 UTC, three hours: 10:00-12:00, then 13:00-14:00.
    state = compute(opened(utc(2025, 6, 16, 10), Targets(first_response_s=3 * H)), {"cal": split}, utc(2025, 6, 16, 10))
    assert state.clocks["first_response"].due_at == utc(2025, 6, 16, 14)
    assert split.business_seconds(utc(2025, 6, 16, 11), utc(2025, 6, 16, 14)) == 2 * H
    # Six hours are left of that Monday after 10:00 (10-12, 13-17): a seventh is the next Monday's first.
    assert split.add(utc(2025, 6, 16, 10), 6 * H) == utc(2025, 6, 16, 17)
    assert split.add(utc(2025, 6, 16, 10), 7 * H) == utc(2025, 6, 23, 10)


def test_the_clocks_change() -> None:
    london = parse_calendar({"timezone": "Europe/London", "hours": OFFICE})
    # Friday 28 March 2025 16:00 GMT; the clocks go forward on Sunday 30 March, so Monday's
    # 09:00 local is 08:00 UTC: two hours = Friday 16-17 GMT, Monday 09:00-10:00 BST (09:00 UTC).
    state = compute(opened(utc(2025, 3, 28, 16), Targets(resolution_s=2 * H)), {"cal": london}, utc(2025, 3, 28, 16))
    assert state.clocks["resolution"].due_at == utc(2025, 3, 31, 9)
    # A whole Sunday in New York on the day the clocks go forward is 23 hours long.
    sundays = Calendar("America/New_York", {6: ((time(0), None),)})
    assert sundays.business_seconds(utc(2025, 3, 3, 12), utc(2025, 3, 15)) == 23 * H  # only 9 March
    assert sundays.business_seconds(utc(2025, 3, 9), utc(2025, 3, 11)) == 23 * H
    assert sundays.business_seconds(utc(2025, 11, 2), utc(2025, 11, 4)) == 25 * H


def test_pending_customer_and_on_hold_pause_every_clock() -> None:
    history = [
        *opened(utc(2025, 1, 1, 0), Targets(first_response_s=H, resolution_s=10 * H)),
        Moment(utc(2025, 1, 1, 0, 30), "reply"),
        Moment(utc(2025, 1, 1, 0, 30), "status", "pending"),
        Moment(utc(2025, 1, 1, 3), "customer"),
        Moment(utc(2025, 1, 1, 3), "status", "open"),
        Moment(utc(2025, 1, 1, 4), "status", "on_hold"),
    ]
    paused = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 9))
    resolution = paused.clocks["resolution"]
    assert paused.paused and resolution.state == "paused" and resolution.due_at is None
    assert resolution.elapsed_s == 1.5 * H and resolution.remaining_s == 8.5 * H
    assert paused.clocks["first_response"].state == "met" and paused.next_due_at is None
    resumed = compute([*history, Moment(utc(2025, 1, 1, 9), "status", "open")], {"cal": ALWAYS}, utc(2025, 1, 1, 10))
    assert resumed.clocks["resolution"].due_at == utc(2025, 1, 1, 17, 30)  # 9:00 + the 8.5 hours left


def test_next_response_after_each_customer_message() -> None:
    history = [
        *opened(utc(2025, 1, 1, 0), Targets(first_response_s=H, next_response_s=2 * H)),
        Moment(utc(2025, 1, 1, 2), "reply"),  # first response an hour late
        Moment(utc(2025, 1, 1, 3), "customer"),
        Moment(utc(2025, 1, 1, 4), "reply"),  # answered in time
        Moment(utc(2025, 1, 1, 5), "customer"),
    ]
    state = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 8))
    first, following = state.clocks["first_response"], state.clocks["next_response"]
    assert (first.state, first.due_at, first.stopped_at) == ("missed", utc(2025, 1, 1, 1), utc(2025, 1, 1, 2))
    assert (following.state, following.due_at, following.met, following.missed) == (
        "breached",
        utc(2025, 1, 1, 7),
        1,
        0,
    )
    assert state.next_due_at == utc(2025, 1, 1, 7)  # a breached case is due in the past: first in the queue


def test_a_warning_before_due() -> None:
    targets = Targets(first_response_s=4 * H, warn_before_s=H)
    assert (
        compute(opened(utc(2025, 1, 1), targets), {"cal": ALWAYS}, utc(2025, 1, 1, 2)).clocks["first_response"].state
        == "running"
    )
    warned = compute(opened(utc(2025, 1, 1), targets), {"cal": ALWAYS}, utc(2025, 1, 1, 3, 30)).clocks["first_response"]
    assert (warned.state, warned.remaining_s, warned.due_at) == ("warning", 0.5 * H, utc(2025, 1, 1, 4))


def test_a_reopened_case_resumes_its_resolution_clock() -> None:
    history = [
        *opened(utc(2025, 1, 1, 0), Targets(resolution_s=5 * H)),
        Moment(utc(2025, 1, 1, 2), "status", "solved"),
    ]
    solved = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 9)).clocks["resolution"]
    assert (solved.state, solved.elapsed_s, solved.met) == ("met", 2 * H, 1)
    history += [Moment(utc(2025, 1, 1, 10), "customer"), Moment(utc(2025, 1, 1, 10), "status", "open")]
    reopened = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 11)).clocks["resolution"]
    assert (reopened.state, reopened.elapsed_s, reopened.met) == ("running", 3 * H, 0)
    assert reopened.due_at == utc(2025, 1, 1, 13)  # the three hours left, from the reopen at 10:00
    history.append(Moment(utc(2025, 1, 1, 14), "status", "solved"))
    late = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 15)).clocks["resolution"]
    assert (late.state, late.due_at, late.missed) == ("missed", utc(2025, 1, 1, 13), 1)


def test_a_policy_changed_mid_case_keeps_paused_and_counted_time() -> None:
    office = parse_calendar({"hours": OFFICE})  # UTC, weekdays 09:00-17:00
    history = [
        *opened(utc(2025, 6, 16, 0), Targets(resolution_s=8 * H), calendar="always", policy="round the clock"),
        Moment(utc(2025, 6, 16, 1), "status", "pending"),
        Moment(utc(2025, 6, 16, 4), "status", "open"),
        # 05:00: the case moves to an office-hours policy with a tighter target: two hours are spent
        # (00-01, 04-05), the three paused hours stay paused, and the rest runs on office hours.
        Moment(utc(2025, 6, 16, 5), "policy", targets=Targets(resolution_s=4 * H), calendar="office", policy="office"),
    ]
    state = compute(history, {"always": ALWAYS, "office": office}, utc(2025, 6, 16, 6))
    clock = state.clocks["resolution"]
    assert (state.policy, clock.elapsed_s, clock.remaining_s) == ("office", 2 * H, 2 * H)
    assert clock.due_at == utc(2025, 6, 16, 11)  # 09:00 + the two hours left


def test_a_merged_duplicate_keeps_the_customers_waiting_time() -> None:
    history = [
        *opened(utc(2025, 1, 1, 10), Targets(first_response_s=4 * H)),
        Moment(utc(2025, 1, 1, 11), "waiting_since", since=utc(2025, 1, 1, 8)),  # they first wrote at 08:00
    ]
    clock = compute(history, {"cal": ALWAYS}, utc(2025, 1, 1, 11)).clocks["first_response"]
    assert (clock.elapsed_s, clock.due_at) == (3 * H, utc(2025, 1, 1, 12))


def test_no_policy_no_promise() -> None:
    state = compute([Moment(utc(2025, 1, 1), "status", "new")], {}, utc(2025, 1, 2))
    assert {c.state for c in state.clocks.values()} == {"none"} and state.next_due_at is None


@pytest.mark.parametrize(
    "document",
    [
        {"timezone": "Mars/Olympus"},
        {"hours": {"someday": [["09:00", "17:00"]]}},
        {"hours": {"mon": [["17:00", "09:00"]]}},
        {"hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}},
        {"hours": {"mon": [["9am", "5pm"]]}},
        {"holidays": {"country": "XX"}},
        {"holidays": {"dates": ["tomorrow"]}},
        {"ical": "not a calendar"},
        {"colour": "blue"},
    ],
)
def test_a_calendar_that_cannot_be_used_is_refused_with_the_reason(document: dict) -> None:
    with pytest.raises(CalendarError):
        parse_calendar(document)


def test_a_calendar_never_open_has_no_due_time() -> None:
    closed = parse_calendar({"hours": {}})
    assert closed.add(utc(2025, 1, 1), H) is None
    assert closed.business_seconds(utc(2025, 1, 1), utc(2025, 1, 1) + timedelta(days=30)) == 0


def test_business_time_is_exact_whatever_the_microseconds() -> None:
    # Added up per calendar day as floats, 30 of these 127 starts gave 172799.99999999997 or 172800.00000000003.
    for microsecond in range(0, 1_000_000, 7919):
        start = utc(2026, 12, 3, 1, 2) + timedelta(seconds=3, microseconds=microsecond)
        assert ALWAYS.business_seconds(start, start + timedelta(days=2)) == 2 * 24 * H


def test_a_report_percentile_is_nearest_rank_to_the_millisecond() -> None:
    # a trace left by adding a paused clock's runs up as floats
    assert percentile([1800.0, 172799.99999999997, 172800.0], 0.5) == 172800
    assert percentile([10.0, 20.0, 30.0, 40.0], 0.5) == 20 and percentile([10.0, 20.0, 30.0, 40.0], 0.9) == 40
    assert percentile([0.1234567], 0.9) == 0.123 and percentile([], 0.5) is None
