"""Quarters and half-years (the points cycle, thought-report periods) in local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

#: Years a typed period may name (dates outside cannot be computed or make no sense).
MIN_YEAR, MAX_YEAR = 1900, 2100


def local_today(now: datetime, timezone: str) -> date:
    """The calendar date at ``now`` (aware) in the branch's time zone."""
    return now.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int  # 1..4

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise ValueError(f"quarter must be 1..4, not {self.q}")

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q3`` / ``2026-Q3`` / ``2026q3``."""
        cleaned = text.strip().upper().replace("-", "")
        match = re.fullmatch(r"([0-9]{4})Q([0-9])", cleaned)
        if match is None:  # also refuses "²Q1" and "0Q1": str.isdigit() is not int()
            raise ValueError(text)
        year = int(match[1])
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(text)
        return cls(year, int(match[2]))

    @property
    def start(self) -> date:
        return date(self.year, 3 * (self.q - 1) + 1, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (inclusive)."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def prev(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def key(self) -> str:
        return f"{self.year}Q{self.q}"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    h: int  # 1..2

    def __post_init__(self) -> None:
        if self.h not in (1, 2):
            raise ValueError(f"half must be 1 or 2, not {self.h}")

    @classmethod
    def of(cls, day: date) -> HalfYear:
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.h == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.h == 1 else date(self.year, 12, 31)

    def next(self) -> HalfYear:
        return HalfYear(self.year + 1, 1) if self.h == 2 else HalfYear(self.year, 2)

    def prev(self) -> HalfYear:
        return HalfYear(self.year - 1, 2) if self.h == 1 else HalfYear(self.year, 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def key(self) -> str:
        return f"{self.year}H{self.h}"

    def __str__(self) -> str:
        return self.key


def quarters_of_year(year: int) -> list[Quarter]:
    return [Quarter(year, q) for q in range(1, 5)]
