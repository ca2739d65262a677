"""Pure calendar rules: the fourth Friday, period deadlines, time zones, parsing."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import calendar as cal


def test_fourth_friday_over_a_year_of_months() -> None:
    expected = {
        1: 23,  # 2026-01-01 is a Thursday
        2: 27,  # February (starts on a Sunday)
        3: 27,
        4: 24,
        5: 22,  # May 2026 starts on a Friday: 1, 8, 15, 22
        6: 26,
        7: 24,
        8: 28,  # August 2026 starts on a Saturday: latest possible day
        9: 25,
        10: 23,
        11: 27,
        12: 25,
    }
    got = cal.occurrences(cal.FOURTH_FRIDAY, date(2026, 1, 1), date(2026, 12, 31))
    assert [(d.month, d.day) for d in got] == sorted(expected.items())
    assert all(d.weekday() == 4 for d in got)


def test_february_starting_on_a_friday() -> None:
    assert date(2030, 2, 1).weekday() == 4
    assert cal.fourth_friday(2030, 2) == date(2030, 2, 22)
    assert cal.fourth_friday(2028, 2) == date(2028, 2, 25)  # leap year


@given(st.integers(1990, 2100), st.integers(1, 12))
def test_fourth_friday_is_always_day_22_to_28(year: int, month: int) -> None:
    day = cal.fourth_friday(year, month)
    assert day.weekday() == 4 and 22 <= day.day <= 28 and day.month == month


@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(0, 6))
def test_last_weekday_is_in_the_last_week(year: int, month: int, weekday: int) -> None:
    day = cal.nth_weekday(year, month, -1, weekday)
    assert day.weekday() == weekday and day.month == month
    month_length = calendar.monthrange(year, month)[1]
    assert month_length - 7 < day.day <= month_length


def test_deadlines_quarter_half_year_and_declaration() -> None:
    rules = {r.kind: r.schedule for r in cal.DEFAULT_RULES}
    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert cal.occurrences(rules[cal.REPORT_QUARTERLY], *year) == [
        date(2026, 3, 31),
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
    ]
    assert cal.occurrences(rules[cal.REPORT_HALF_YEARLY], *year) == [
        date(2026, 6, 30),
        date(2026, 12, 31),
    ]
    assert cal.occurrences(rules[cal.DECLARATION], *year) == [
        date(2026, 1, 10),  # Q4 2025 + 10 days
        date(2026, 4, 10),
        date(2026, 7, 10),
        date(2026, 10, 10),
    ]
    meetings = cal.occurrences(rules[cal.GENERAL_MEETING], *year)
    assert [d.month for d in meetings] == [3, 6, 9, 12]


def test_server_in_utc_reminds_at_nine_beijing_time() -> None:
    # Fee day 2026-05-22: "on the day at 09:00" in Asia/Shanghai is 01:00 UTC.
    due = cal.due_at(date(2026, 5, 22), 0, "09:00", "Asia/Shanghai")
    assert due == datetime(2026, 5, 22, 1, 0, tzinfo=UTC)
    eve = cal.due_at(date(2026, 5, 22), 1, "18:00", "Asia/Shanghai")
    assert eve == datetime(2026, 5, 21, 10, 0, tzinfo=UTC)
    # The same rule for a branch in Berlin (summer time): 07:00 UTC.
    assert cal.due_at(date(2026, 5, 22), 0, "09:00", "Europe/Berlin") == datetime(
        2026, 5, 22, 7, 0, tzinfo=UTC
    )


def test_due_between_window_edges() -> None:
    start = datetime(2026, 5, 22, 0, 59, tzinfo=UTC)
    assert cal.due_between(cal.FOURTH_FRIDAY, 0, "09:00", "Asia/Shanghai", start, start) == []
    at = datetime(2026, 5, 22, 1, 0, tzinfo=UTC)
    assert cal.due_between(cal.FOURTH_FRIDAY, 0, "09:00", "Asia/Shanghai", start, at) == [
        (date(2026, 5, 22), at)
    ]
    # 14 days before a quarter-end deadline crosses a month boundary.
    q = cal.Schedule("quarterly", "period_end")
    lo = datetime(2026, 6, 16, 0, 0, tzinfo=UTC)
    hi = datetime(2026, 6, 16, 2, 0, tzinfo=UTC)
    assert [o for o, _ in cal.due_between(q, 14, "09:00", "Asia/Shanghai", lo, hi)] == [
        date(2026, 6, 30)
    ]


def test_parse_when_and_reminder_times() -> None:
    assert cal.parse_when("4 5 14:30") == cal.WhenChange(nth=4, weekday=4, event_time="14:30")
    assert cal.parse_when("-1 1") == cal.WhenChange(nth=-1, weekday=0)
    assert cal.parse_when("D15 09:00") == cal.WhenChange(day=15, event_time="09:00")
    assert cal.parse_when("+10") == cal.WhenChange(offset_days=10)
    assert cal.parse_when("10:15") == cal.WhenChange(event_time="10:15")
    assert cal.parse_when("2026-06-30 15:00") == cal.WhenChange(
        on_date=date(2026, 6, 30), event_time="15:00"
    )
    for bad in ("", "5 5", "4 8", "25:00", "D32", "hello", "+99"):
        with pytest.raises(ValueError):
            cal.parse_when(bad)
    assert cal.parse_reminder_times("1 18:00, 0 09:00") == [(1, "18:00"), (0, "09:00")]
    assert cal.parse_reminder_times("14@9:00；3@09:00") == [(14, "09:00"), (3, "09:00")]
    for bad in ("", "18:00", "1 25:00", "99 09:00"):
        with pytest.raises(ValueError):
            cal.parse_reminder_times(bad)
