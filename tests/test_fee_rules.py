"""Pure Party fee rules: brackets (inclusive upper bounds), rounding, months, arrears."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fee_rules import (
    DEFAULT_SCHEDULE,
    FeeBasis,
    Month,
    amount_for_month,
    monthly_fee,
    obligation_start,
    parse_basis,
    parse_money,
    schedule_from_settings,
    unpaid_streak,
)
from domain.fees import months_arg, parse_months_arg

D = Decimal


@pytest.mark.parametrize(
    ("income", "fee"),
    [
        ("0", "0.00"),
        ("1", "0.01"),  # 0.005 rounds half up
        ("2999.99", "15.00"),  # 14.99995 -> 15.00
        ("3000", "15.00"),  # upper bound inclusive: 0.5%
        ("3000.00", "15.00"),
        ("3000.01", "30.00"),  # 1%: 30.0001
        ("4000", "40.00"),
        ("5000", "50.00"),  # inclusive: 1%
        ("5000.01", "75.00"),  # 1.5%: 75.00015
        ("7777.77", "116.67"),  # 116.66655 -> 116.67
        ("10000", "150.00"),  # inclusive: 1.5%
        ("10000.01", "200.00"),  # 2%: 200.0002
        ("12345.67", "246.91"),  # 246.9134
        ("4500.50", "45.01"),  # 45.005 rounds half up, not to even
    ],
)
def test_employed_brackets(income: str, fee: str) -> None:
    result = monthly_fee(FeeBasis.EMPLOYED, D(income))
    assert result == D(fee)
    assert str(result) == fee  # exactly two places


@pytest.mark.parametrize(
    ("pension", "fee"),
    [
        ("2999.99", "15.00"),
        ("3000", "15.00"),
        ("3000.01", "15.00"),  # retired: 0.5% up to 5000
        ("4999.99", "25.00"),
        ("5000", "25.00"),  # inclusive
        ("5000.01", "50.00"),  # 1% above
        ("10000", "100.00"),
        ("10000.01", "100.00"),
        ("3333.30", "16.67"),  # 16.6665 -> 16.67 (half up)
    ],
)
def test_retired_brackets(pension: str, fee: str) -> None:
    assert monthly_fee(FeeBasis.RETIRED, D(pension)) == D(fee)


def test_students_and_no_income_pay_the_fixed_default() -> None:
    assert monthly_fee(FeeBasis.STUDENT, None) == D("0.20")
    assert monthly_fee(FeeBasis.NONE, None) == D("0.20")
    assert monthly_fee(FeeBasis.STUDENT, D("5000")) == D("0.20")  # income ignored
    custom = schedule_from_settings({"fees": {"no_income": "0.5"}})
    assert monthly_fee(FeeBasis.NONE, None, custom) == D("0.50")


def test_fixed_amount_is_rounded_to_the_fen() -> None:
    assert monthly_fee(FeeBasis.FIXED, D("50")) == D("50.00")
    assert monthly_fee(FeeBasis.FIXED, D("12.345")) == D("12.35")


def test_bad_inputs_refused() -> None:
    with pytest.raises(ValueError):
        monthly_fee(FeeBasis.EMPLOYED, None)
    with pytest.raises(ValueError):
        monthly_fee(FeeBasis.EMPLOYED, D("-1"))
    with pytest.raises(TypeError):
        monthly_fee(FeeBasis.EMPLOYED, 3000.0)  # type: ignore[arg-type]


def test_schedule_is_a_branch_setting_with_defaults() -> None:
    assert schedule_from_settings({}) == DEFAULT_SCHEDULE
    assert schedule_from_settings(None) == DEFAULT_SCHEDULE
    assert schedule_from_settings({"fees": DEFAULT_SCHEDULE.to_settings()}) == DEFAULT_SCHEDULE
    custom = schedule_from_settings(
        {"fees": {"employed": [["4000", "0.005"], [None, "0.01"]], "start_month": "2026-01"}}
    )
    assert monthly_fee(FeeBasis.EMPLOYED, D("4000"), custom) == D("20.00")
    assert monthly_fee(FeeBasis.EMPLOYED, D("4000.01"), custom) == D("40.00")
    assert custom.retired == DEFAULT_SCHEDULE.retired
    for bad in (
        {"employed": [["3000", "0.005"]]},  # no open-ended bracket
        {"employed": [["5000", "0.005"], ["3000", "0.01"], [None, "0.02"]]},  # not increasing
        {"employed": [[None, "1.5"]]},  # rate out of range
        {"no_income": "-1"},
    ):
        with pytest.raises(ValueError):
            schedule_from_settings({"fees": bad})


def test_parse_basis_and_money() -> None:
    assert parse_basis("在职") is FeeBasis.EMPLOYED
    assert parse_basis("离退休") is FeeBasis.RETIRED
    assert parse_basis(" Retired ") is FeeBasis.RETIRED
    assert parse_basis("学生") is FeeBasis.STUDENT
    assert parse_basis("无收入") is FeeBasis.NONE
    assert parse_basis("固定") is FeeBasis.FIXED
    assert parse_basis("学者") is None
    assert parse_money("4500") == D("4500.00")
    assert parse_money("4,500.5") == D("4500.50")
    assert parse_money("¥4500.50") == D("4500.50")
    assert parse_money("4500元") == D("4500.00")
    for bad in ("4500.505", "-1", "abc", "", "1e3", "45 00.1.2", "99999999"):
        assert parse_money(bad) is None, bad


def test_months() -> None:
    assert Month.parse("2026-3") == Month(2026, 3)
    assert Month.parse("202603").key == "2026-03"
    assert Month(2026, 1).prev() == Month(2025, 12)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2026, 2) - Month(2025, 11) == 3
    assert parse_months_arg("2026-01.2026-03") == [Month(2026, 1), Month(2026, 2), Month(2026, 3)]
    assert parse_months_arg("2026-03") == [Month(2026, 3)]
    assert parse_months_arg("2026-03.2026-01") is None
    assert parse_months_arg("x") is None
    assert months_arg([Month(2026, 3), Month(2026, 1)]) == "2026-01.2026-03"


def test_obligation_start() -> None:
    joined = date(2026, 5, 10)
    # Probationary members owe from the month they were admitted.
    assert obligation_start(
        is_party_member=True,
        probationary=True,
        admitted_on=date(2026, 3, 15),
        membership_start=joined,
    ) == Month(2026, 3)
    # A full member admitted long ago owes from when the branch keeps their fees here.
    assert obligation_start(
        is_party_member=True,
        probationary=False,
        admitted_on=date(1999, 7, 1),
        membership_start=joined,
    ) == Month(2026, 5)
    assert (
        obligation_start(
            is_party_member=False, probationary=False, admitted_on=None, membership_start=joined
        )
        is None
    )
    assert obligation_start(
        is_party_member=True,
        probationary=True,
        admitted_on=date(2026, 1, 2),
        membership_start=joined,
        floor=Month(2026, 2),
    ) == Month(2026, 2)


def test_amount_for_month_uses_the_table_in_effect() -> None:
    table = [(Month(2026, 3), D("15.00")), (Month(2026, 6), D("30.00"))]
    assert amount_for_month(table, Month(2026, 1)) == D("15.00")  # back months: first row
    assert amount_for_month(table, Month(2026, 5)) == D("15.00")
    assert amount_for_month(table, Month(2026, 6)) == D("30.00")
    assert amount_for_month([], Month(2026, 6)) is None


def test_unpaid_streak() -> None:
    start = Month(2026, 1)
    last = Month(2026, 6)
    assert unpaid_streak(start, last, set()) == (Month(2026, 1), 6)
    assert unpaid_streak(start, last, {Month(2026, 3)}) == (Month(2026, 4), 3)
    assert unpaid_streak(start, last, {Month(2026, 6)}) is None
    assert unpaid_streak(Month(2026, 7), last, set()) is None


money = st.decimals(
    min_value=D("0"), max_value=D("200000"), places=2, allow_nan=False, allow_infinity=False
)


@given(money, money, st.sampled_from([FeeBasis.EMPLOYED, FeeBasis.RETIRED]))
def test_monotone_within_a_bracket(a: Decimal, b: Decimal, basis: FeeBasis) -> None:
    low, high = sorted((a, b))
    brackets = DEFAULT_SCHEDULE.employed if basis is FeeBasis.EMPLOYED else DEFAULT_SCHEDULE.retired
    bound = [x.upper for x in brackets]

    def bracket_index(v: Decimal) -> int:
        return next(i for i, u in enumerate(bound) if u is None or v <= u)

    if bracket_index(low) == bracket_index(high):
        assert monthly_fee(basis, low) <= monthly_fee(basis, high)
    # With the default rates the fee never falls when the income rises, even across
    # a bracket boundary.
    assert monthly_fee(basis, low) <= monthly_fee(basis, high)


@given(money, st.sampled_from(list(FeeBasis)))
def test_never_negative_and_always_two_places(income: Decimal, basis: FeeBasis) -> None:
    fee = monthly_fee(basis, income)
    assert fee >= 0
    assert fee.as_tuple().exponent == -2
    assert isinstance(fee, Decimal)


@given(money)
def test_fee_is_the_rounded_exact_share(income: Decimal) -> None:
    fee = monthly_fee(FeeBasis.EMPLOYED, income)
    rate = next(b.rate for b in DEFAULT_SCHEDULE.employed if b.upper is None or income <= b.upper)
    assert abs(fee - income * rate) <= D("0.005")
