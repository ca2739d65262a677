"""Party fee rules (党费), pure: brackets, the monthly amount, months owed and arrears.

Default rates follow the 2008 regulation on Party fee collection (see DOMAIN.md): a share
of the monthly after-tax salary (employed) or pension (retired) by bracket, a bracket's
upper bound inclusive ("3000元以下（含3000元）"); students and members without income pay a
fixed small amount (default 0.20 yuan); a branch may also fix a member's amount.
Money is :class:`~decimal.Decimal`, rounded half up (四舍五入) to the fen. Never a float.

The brackets are a branch setting (``branches.settings["fees"]``), stored as strings so
they stay exact in JSON; :func:`schedule_from_settings` falls back to the defaults.
"""

# i18n-domain: fees

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.periods import MAX_YEAR, MIN_YEAR
from locales.i18n import N_

FEN = Decimal("0.01")
#: Largest monthly income or fixed amount accepted (a typo guard, not a rule).
MAX_MONEY = Decimal("9999999.99")


class FeeBasis(enum.StrEnum):
    EMPLOYED = "employed"  # 在职: share of after-tax monthly salary
    RETIRED = "retired"  # 离退休: share of monthly pension
    STUDENT = "student"  # 学生: fixed small amount
    NONE = "none"  # 无收入: fixed small amount
    FIXED = "fixed"  # 固定: an amount the branch sets

    @property
    def needs_income(self) -> bool:
        return self in (FeeBasis.EMPLOYED, FeeBasis.RETIRED, FeeBasis.FIXED)

    @property
    def label(self) -> str:
        """Untranslated msgid; translate at render time."""
        return _BASIS_LABELS[self]


_BASIS_LABELS = {
    FeeBasis.EMPLOYED: N_("employed"),
    FeeBasis.RETIRED: N_("retired"),
    FeeBasis.STUDENT: N_("student"),
    FeeBasis.NONE: N_("no income"),
    FeeBasis.FIXED: N_("fixed amount"),
}

BASIS_ALIASES: dict[str, FeeBasis] = {
    "employed": FeeBasis.EMPLOYED,
    "在职": FeeBasis.EMPLOYED,
    "在職": FeeBasis.EMPLOYED,
    "retired": FeeBasis.RETIRED,
    "离退休": FeeBasis.RETIRED,
    "離退休": FeeBasis.RETIRED,
    "退休": FeeBasis.RETIRED,
    "离休": FeeBasis.RETIRED,
    "student": FeeBasis.STUDENT,
    "学生": FeeBasis.STUDENT,
    "學生": FeeBasis.STUDENT,
    "none": FeeBasis.NONE,
    "no_income": FeeBasis.NONE,
    "无收入": FeeBasis.NONE,
    "無收入": FeeBasis.NONE,
    "fixed": FeeBasis.FIXED,
    "固定": FeeBasis.FIXED,
    "固定金额": FeeBasis.FIXED,
    "固定金額": FeeBasis.FIXED,
}


def parse_basis(text: str) -> FeeBasis | None:
    key = text.strip().lower().replace(" ", "_")
    return BASIS_ALIASES.get(key)


_MONEY_RE = re.compile(r"^\d{1,7}(\.\d{1,2})?$")


def parse_money(text: str) -> Decimal | None:
    """Yuan with up to two decimals (``4500``, ``4,500.5``, ``¥4500.50``, ``4500元``)."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    cleaned = cleaned.lstrip("¥￥").removesuffix("元")
    if not _MONEY_RE.match(cleaned):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the regex already checked
        return None
    if value > MAX_MONEY:
        return None
    return value.quantize(FEN)


@dataclass(frozen=True)
class Bracket:
    """Income up to and including ``upper`` (None: no upper bound) pays ``rate``."""

    upper: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class FeeSchedule:
    employed: tuple[Bracket, ...]
    retired: tuple[Bracket, ...]
    no_income: Decimal

    def to_settings(self) -> dict[str, Any]:
        def dump(brackets: Iterable[Bracket]) -> list[list[str | None]]:
            return [[None if b.upper is None else str(b.upper), str(b.rate)] for b in brackets]

        return {
            "employed": dump(self.employed),
            "retired": dump(self.retired),
            "no_income": str(self.no_income),
        }


DEFAULT_SCHEDULE = FeeSchedule(
    employed=(
        Bracket(Decimal("3000"), Decimal("0.005")),
        Bracket(Decimal("5000"), Decimal("0.01")),
        Bracket(Decimal("10000"), Decimal("0.015")),
        Bracket(None, Decimal("0.02")),
    ),
    retired=(
        Bracket(Decimal("5000"), Decimal("0.005")),
        Bracket(None, Decimal("0.01")),
    ),
    no_income=Decimal("0.20"),
)


def _load_brackets(raw: Any) -> tuple[Bracket, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("brackets must be a non-empty list")
    brackets: list[Bracket] = []
    previous: Decimal | None = None
    for index, item in enumerate(raw):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError(f"bracket {index} must be [upper, rate]")
        upper_raw, rate_raw = item
        upper = None if upper_raw is None else Decimal(str(upper_raw))
        rate = Decimal(str(rate_raw))
        if not Decimal(0) <= rate < Decimal(1):
            raise ValueError(f"bracket {index}: rate {rate} out of range")
        if upper is None and index != len(raw) - 1:
            raise ValueError("only the last bracket may be open-ended")
        if upper is not None and previous is not None and upper <= previous:
            raise ValueError("bracket bounds must increase")
        previous = upper
        brackets.append(Bracket(upper, rate))
    if brackets[-1].upper is not None:
        raise ValueError("the last bracket must be open-ended")
    return tuple(brackets)


def schedule_from_settings(settings: Mapping[str, Any] | None) -> FeeSchedule:
    """The branch's schedule from ``branches.settings``; defaults for what is missing.
    Raises ValueError for a malformed setting (caught when the setting is saved)."""
    fees = (settings or {}).get("fees") or {}
    if not isinstance(fees, Mapping):
        raise ValueError("settings.fees must be a mapping")
    employed = _load_brackets(fees["employed"]) if "employed" in fees else DEFAULT_SCHEDULE.employed
    retired = _load_brackets(fees["retired"]) if "retired" in fees else DEFAULT_SCHEDULE.retired
    no_income = (
        Decimal(str(fees["no_income"])) if "no_income" in fees else DEFAULT_SCHEDULE.no_income
    )
    if no_income < 0:
        raise ValueError("no_income must not be negative")
    return FeeSchedule(employed, retired, no_income.quantize(FEN, rounding=ROUND_HALF_UP))


def round_fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def bracket_for(brackets: Iterable[Bracket], income: Decimal) -> Bracket:
    for bracket in brackets:
        if bracket.upper is None or income <= bracket.upper:
            return bracket
    raise ValueError("no open-ended bracket")  # pragma: no cover - validated schedules


def monthly_fee(
    basis: FeeBasis, income: Decimal | None, schedule: FeeSchedule = DEFAULT_SCHEDULE
) -> Decimal:
    """The monthly amount, exact to the fen. ``income`` is the after-tax salary
    (employed), the pension (retired) or the amount itself (fixed)."""
    if isinstance(income, float):
        raise TypeError("money must be a Decimal, never a float")
    if basis in (FeeBasis.STUDENT, FeeBasis.NONE):
        return round_fen(schedule.no_income)
    if income is None:
        raise ValueError(f"{basis.value} needs an income")
    if income < 0:
        raise ValueError("income must not be negative")
    if basis is FeeBasis.FIXED:
        return round_fen(income)
    brackets = schedule.employed if basis is FeeBasis.EMPLOYED else schedule.retired
    return round_fen(income * bracket_for(brackets, income).rate)


# -- months -----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, not {self.month}")

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-03`` / ``2026-3`` / ``202603``."""
        text = text.strip()
        match = re.fullmatch(r"([0-9]{4})-?([0-9]{1,2})", text)
        if not match or not MIN_YEAR <= int(match[1]) <= MAX_YEAR:
            raise ValueError(text)
        return cls(int(match[1]), int(match[2]))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        return cls(index // 12, index % 12 + 1)

    def next(self) -> Month:
        return Month.from_index(self.index + 1)

    def prev(self) -> Month:
        return Month.from_index(self.index - 1)

    def __add__(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    def __sub__(self, other: Month) -> int:
        return self.index - other.index

    def __str__(self) -> str:
        return self.key


def month_range(first: Month, last: Month) -> list[Month]:
    """Months from ``first`` to ``last`` inclusive (empty when last < first)."""
    return [Month.from_index(i) for i in range(first.index, last.index + 1)]


def unpaid_streak(
    start: Month, last_complete: Month, settled: set[Month]
) -> tuple[Month, int] | None:
    """The run of consecutive unsettled months ending at ``last_complete`` (the month
    before the current one), from the obligation ``start``: (first month, length), or
    None when ``last_complete`` is settled or before the start."""
    if last_complete < start or last_complete in settled:
        return None
    first = last_complete
    while first.prev() >= start and first.prev() not in settled:
        first = first.prev()
    return first, last_complete - first + 1


#: Consecutive unpaid months that alert the secretary; the second is urgent (紧急):
#: six months unpaid without good reason is treated as leaving the Party.
ARREARS_LEVELS = (3, 6)


def obligation_start(
    *,
    is_party_member: bool,
    probationary: bool,
    admitted_on: date | None,
    membership_start: date,
    floor: Month | None = None,
) -> Month | None:
    """The first month a person owes fees, or None (activists and development targets
    are not yet Party members and pay nothing).

    Probationary members owe from the month they were admitted (``admitted_on``). For a
    full member the bot cannot know what was paid before the branch started using it: the
    first month is that of their membership here (or of their admission, if later). A
    branch may set ``floor`` (the month it started keeping fees in the bot)."""
    if not is_party_member:
        return None
    if probationary and admitted_on is not None:
        start = Month.of(admitted_on)
    else:
        start = Month.of(membership_start)
        if admitted_on is not None:
            start = max(start, Month.of(admitted_on))
    if floor is not None:
        start = max(start, floor)
    return start


def amount_for_month(assessments: Iterable[tuple[Month, Decimal]], month: Month) -> Decimal | None:
    """The amount due for ``month`` from the amount table's rows (effective month,
    amount) in the order they were recorded: the latest row in effect that month; for
    months before the first row (back payments), the first row's amount."""
    rows = list(assessments)
    if not rows:
        return None
    in_effect = [amount for effective, amount in rows if effective <= month]
    return in_effect[-1] if in_effect else rows[0][1]
