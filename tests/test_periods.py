from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.periods import HalfYear, Quarter, local_today


def test_quarter_bounds() -> None:
    assert Quarter(2026, 1).start == date(2026, 1, 1)
    assert Quarter(2026, 1).end == date(2026, 3, 31)
    assert Quarter(2024, 1).end == date(2024, 3, 31)
    assert Quarter(2026, 4).end == date(2026, 12, 31)
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2026, 1).prev() == Quarter(2025, 4)
    assert Quarter.parse("2026-q3") == Quarter(2026, 3)


def test_half_year_bounds() -> None:
    assert HalfYear.of(date(2026, 6, 30)) == HalfYear(2026, 1)
    assert HalfYear.of(date(2026, 7, 1)) == HalfYear(2026, 2)
    assert HalfYear(2026, 2).next() == HalfYear(2027, 1)


def test_local_today_uses_branch_zone() -> None:
    # 2026-03-31 17:30 UTC is already 1 April in Beijing.
    now = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)
    assert local_today(now, "Asia/Shanghai") == date(2026, 4, 1)
    assert Quarter.of(local_today(now, "Asia/Shanghai")) == Quarter(2026, 2)
    assert local_today(now, "UTC") == date(2026, 3, 31)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_in_exactly_one_quarter(day: date) -> None:
    q = Quarter.of(day)
    assert q.contains(day)
    assert not q.next().contains(day) and not q.prev().contains(day)
    assert q.next().start == q.end + timedelta(days=1)
    assert HalfYear.of(day).contains(day)
