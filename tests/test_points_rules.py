"""Pure scoring rules (seed 001) and the ranking chart."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import points_rules as rules
from domain.periods import Quarter
from domain.points_rules import PointsSettings

POINTS = st.decimals(min_value=-25, max_value=25, places=1, allow_nan=False).filter(
    lambda d: d != 0
)
CAPS = st.one_of(st.none(), st.decimals(min_value=1, max_value=20, places=1))
ITEMS = st.tuples(st.sampled_from(rules.BLOCKS), POINTS, CAPS)


def grant_all(
    requests: list[tuple[int, tuple[str, Decimal, Decimal | None]]],
) -> tuple[list[tuple[str, Decimal]], dict[int, Decimal]]:
    """Record a sequence of (item number, item) requests as the service does: each
    entry capped by what the item already has in the quarter."""
    entries: list[tuple[str, Decimal]] = []
    per_item: dict[int, Decimal] = {}
    for number, (block, points, cap) in requests:
        already = per_item.get(number, Decimal(0))
        effective = rules.capped_points(points, cap, already)
        per_item[number] = already + effective
        entries.append((block, effective))
    return entries, per_item


@given(
    st.lists(st.tuples(st.integers(0, 6), ITEMS), max_size=60),
)
def test_random_ledgers_score_within_bounds_and_caps_hold(
    requests: list[tuple[int, tuple[str, Decimal, Decimal | None]]],
) -> None:
    # One item number always means the same item (block, points, cap).
    catalogue: dict[int, tuple[str, Decimal, Decimal | None]] = {}
    normalised = [(n, catalogue.setdefault(n, item)) for n, item in requests]
    entries, per_item = grant_all(normalised)
    figures = rules.score_quarter(entries)
    assert Decimal(0) <= figures.total <= Decimal(110)
    assert Decimal(0) <= figures.base <= Decimal(80)
    assert Decimal(0) <= figures.special <= Decimal(20)
    assert Decimal(0) <= figures.extra <= Decimal(10)
    assert figures.total == figures.base + figures.special + figures.extra
    assert figures.deductions == Decimal(80) - figures.base
    for number, total in per_item.items():
        _, _, cap = catalogue[number]
        if cap is not None:
            assert abs(total) <= cap


@given(
    st.lists(st.tuples(st.sampled_from(rules.BLOCKS), POINTS), max_size=40),
    st.integers(40, 100),
    st.integers(0, 30),
    st.integers(0, 15),
)
def test_branch_settings_bound_the_score(
    entries: list[tuple[str, Decimal]], base: int, special: int, extra: int
) -> None:
    settings = PointsSettings(Decimal(base), Decimal(special), Decimal(extra))
    figures = rules.score_quarter(entries, settings)
    assert Decimal(0) <= figures.total <= settings.maximum
    assert figures.special <= settings.special_cap and figures.extra <= settings.extra_cap


def test_hand_computed_quarter() -> None:
    entries = [
        ("special", Decimal(1)),
        ("special", Decimal(1)),
        ("special", Decimal(2)),
        ("base", Decimal(-2)),
        ("extra", Decimal(5)),
        ("extra", Decimal(8)),
    ]
    f = rules.score_quarter(entries)
    assert (f.base, f.deductions, f.special, f.extra, f.total) == (78, 2, 4, 10, 92)
    # Deductions never take the base below 0; bonuses still count.
    f = rules.score_quarter([("base", Decimal(-100)), ("special", Decimal(30))])
    assert (f.base, f.special, f.total) == (0, 20, 20)
    # A revoked deduction gives the base back, never above 80.
    f = rules.score_quarter([("base", Decimal(-2)), ("base", Decimal(2)), ("base", Decimal(3))])
    assert f.base == 80


def test_item_cap() -> None:
    assert rules.capped_points(Decimal(2), Decimal(4), Decimal(3)) == 1
    assert rules.capped_points(Decimal(2), Decimal(4), Decimal(4)) == 0
    assert rules.capped_points(Decimal(-2), Decimal(8), Decimal(-7)) == -1
    assert rules.capped_points(Decimal(-20), None, Decimal(-40)) == -20


def test_annual_mean_and_cumulative() -> None:
    a = rules.annual([Decimal(78), Decimal(92)])
    assert (a.mean, a.cumulative, a.quarters) == (Decimal("85.00"), Decimal(170), 2)
    assert rules.annual([]).mean is None


def test_declaration_window_and_close() -> None:
    today = date(2026, 4, 10)
    assert rules.claim_date_problem(date(2026, 3, 31), today, 10) is None
    assert rules.claim_date_problem(date(2026, 3, 31), date(2026, 4, 11), 10) == "closed"
    assert rules.claim_date_problem(date(2026, 4, 11), today, 10) == "future"
    assert rules.quarter_due_for_close(date(2026, 4, 10), 10) == Quarter(2025, 4)
    assert rules.quarter_due_for_close(date(2026, 4, 11), 10) == Quarter(2026, 1)


def test_warning_needs_two_consecutive_quarters() -> None:
    assert rules.needs_warning(Decimal(59), Decimal("59.5"))
    assert not rules.needs_warning(Decimal(59), Decimal(60))
    assert not rules.needs_warning(Decimal(59), None)


def test_settings_from_branch() -> None:
    s = PointsSettings.from_branch({"points": {"base": 70, "extra_cap": "5", "window_days": 7}})
    assert (s.base, s.special_cap, s.extra_cap, s.window_days) == (70, 20, 5, 7)
    assert PointsSettings.from_branch({"points": {"base": "x"}}).base == 80


def test_ranking_chart_draws_chinese_names() -> None:
    from domain.points_chart import cjk_font, ranking_chart

    rows = [("张三", Decimal(92)), ("李四", Decimal("78.5")), ("欧阳娜娜", Decimal(55))]
    if cjk_font() is None:
        png = ranking_chart("心内科党支部 2026Q2", rows)
        assert png.startswith(b"\x89PNG")
        pytest.skip("no CJK font installed (Debian: fonts-wqy-microhei); names become numbers")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = ranking_chart("心内科党支部 2026Q2 积分排名", rows)
    assert png.startswith(b"\x89PNG")
    missing = [str(w.message) for w in caught if "missing" in str(w.message)]
    assert missing == []


def test_a_large_branch_ranking_fits_one_message_and_shows_my_rank() -> None:
    from decimal import Decimal

    from domain.periods import Quarter
    from domain.points import MemberScore
    from domain.points_rules import QuarterFigures
    from handlers.common import TEXT_LIMIT
    from handlers.points_ranking import RANKING_LINES, _ranking_text
    from locales.i18n import translator

    figures = QuarterFigures.__new__(QuarterFigures)
    scores = []
    for i in range(500):
        f = QuarterFigures.__new__(QuarterFigures)
        object.__setattr__(f, "total", Decimal(100 - i % 40))
        scores.append(MemberScore.__new__(MemberScore))
        for key, value in {
            "person_id": i,
            "name": f"党员{i:03d}",
            "telegram_user_id": 10_000 + i,
            "figures": f,
            "rank": i + 1,
        }.items():
            object.__setattr__(scores[-1], key, value)
    del figures
    text = _ranking_text(translator("zh_Hans").gettext, scores, scores[321], Quarter(2026, 2))
    assert len(text) < TEXT_LIMIT
    assert f"{RANKING_LINES}. 党员{RANKING_LINES - 1:03d}" in text
    assert "党员100" not in text
    assert "另有 470 名党员" in text
    assert "您的排名：第 322 名（共 500 人）" in text
