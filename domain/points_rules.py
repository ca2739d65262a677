"""Pure scoring rules of the points scheme (seed 001), no database, no Telegram.

Quarterly score = base (80) − deductions (the base never goes below 0)
                + special bonus (capped at 20) + extra reward (capped at 10).
The per-item quarterly cap is applied when an entry is granted (``capped_points``);
block caps and the base floor when a quarter is scored (``score_quarter``).
All figures are ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.periods import Quarter

ZERO = Decimal("0")
BASE = "base"
SPECIAL = "special"
EXTRA = "extra"
BLOCKS = (BASE, SPECIAL, EXTRA)
WARNING_THRESHOLD = Decimal("60")


@dataclass(frozen=True)
class PointsSettings:
    """A branch's settings of the scheme (``Branch.settings["points"]``)."""

    base: Decimal = Decimal("80")
    special_cap: Decimal = Decimal("20")
    extra_cap: Decimal = Decimal("10")
    window_days: int = 10

    @property
    def maximum(self) -> Decimal:
        return self.base + self.special_cap + self.extra_cap

    @classmethod
    def from_branch(cls, settings: Mapping[str, Any] | None) -> PointsSettings:
        raw = dict((settings or {}).get("points") or {})
        default = cls()

        def dec(name: str, fallback: Decimal) -> Decimal:
            try:
                value = Decimal(str(raw.get(name, fallback)))
            except (InvalidOperation, ValueError):
                return fallback
            return value if value >= 0 else fallback

        try:
            window = int(raw.get("window_days", default.window_days))
        except (TypeError, ValueError):
            window = default.window_days
        return cls(
            base=dec("base", default.base),
            special_cap=dec("special_cap", default.special_cap),
            extra_cap=dec("extra_cap", default.extra_cap),
            window_days=max(0, window),
        )


def capped_points(requested: Decimal, cap: Decimal | None, already: Decimal) -> Decimal:
    """The points an entry of ``requested`` points may add when ``already`` points of the
    same item were recorded in the quarter and the item's cap (absolute) is ``cap``.
    Never changes the sign; 0 when the cap is used up."""
    if cap is None or requested == 0:
        return requested
    sign = Decimal(1) if requested > 0 else Decimal(-1)
    room = max(ZERO, cap - sign * already)
    return sign * min(abs(requested), room)


@dataclass(frozen=True)
class QuarterFigures:
    base: Decimal  # what is left of the base after deductions
    deductions: Decimal  # base lost (0 ≤ deductions ≤ base setting)
    special: Decimal  # counted special bonus (0 ≤ special ≤ cap)
    extra: Decimal  # counted extra reward (0 ≤ extra ≤ cap)
    total: Decimal
    raw_special: Decimal  # before the cap
    raw_extra: Decimal


def score_quarter(
    entries: Iterable[tuple[str, Decimal]], settings: PointsSettings | None = None
) -> QuarterFigures:
    """Score one quarter from (block, points) ledger entries."""
    s = settings or PointsSettings()
    sums = {b: ZERO for b in BLOCKS}
    for block, points in entries:
        sums[str(block)] += points
    base = min(s.base, max(ZERO, s.base + sums[BASE]))
    special = min(s.special_cap, max(ZERO, sums[SPECIAL]))
    extra = min(s.extra_cap, max(ZERO, sums[EXTRA]))
    return QuarterFigures(
        base=base,
        deductions=s.base - base,
        special=special,
        extra=extra,
        total=base + special + extra,
        raw_special=sums[SPECIAL],
        raw_extra=sums[EXTRA],
    )


@dataclass(frozen=True)
class AnnualFigures:
    quarters: int
    cumulative: Decimal
    mean: Decimal | None


def annual(totals: Iterable[Decimal]) -> AnnualFigures:
    """The year's figures from its quarterly totals: the mean (to 0.01) and the sum."""
    values = list(totals)
    cumulative = sum(values, ZERO)
    mean = (cumulative / len(values)).quantize(Decimal("0.01")) if values else None
    return AnnualFigures(len(values), cumulative, mean)


def window_end(quarter: Quarter, window_days: int) -> date:
    """The last day on which claims for ``quarter`` are accepted."""
    return quarter.end + timedelta(days=window_days)


def claim_date_problem(day: date, today: date, window_days: int) -> str | None:
    """Why an event date cannot be claimed today: "future", "closed", or None (fine)."""
    if day > today:
        return "future"
    if today > window_end(Quarter.of(day), window_days):
        return "closed"
    return None


def quarter_due_for_close(today: date, window_days: int) -> Quarter | None:
    """The most recent quarter whose declaration window is over on ``today``."""
    quarter = Quarter.of(today).prev()
    while today <= window_end(quarter, window_days):
        quarter = quarter.prev()
    return quarter


def needs_warning(current: Decimal, previous: Decimal | None) -> bool:
    """诫勉: below 60 in two consecutive quarters."""
    return current < WARNING_THRESHOLD and previous is not None and previous < WARNING_THRESHOLD


def fmt(value: Decimal) -> str:
    """1.50 → "1.5", 2.00 → "2", -0.50 → "-0.5"."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + fmt(value)
