"""The pure rules of organisational life: the check-in window, outcomes and their
points, the periods each kind must be held in, the overdue alert's days, and what a
secretary types to schedule a meeting."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import meetings_rules as rules

START = datetime(2026, 6, 5, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        (timedelta(minutes=-31), rules.EARLY),
        (timedelta(minutes=-30), rules.ON_TIME),
        (timedelta(0), rules.ON_TIME),
        (timedelta(seconds=1), rules.LATE),
        (timedelta(minutes=30), rules.LATE),
        (timedelta(minutes=30, seconds=1), rules.CLOSED),
    ],
)
def test_checkin_window_edges(offset: timedelta, state: str) -> None:
    assert rules.checkin_state(START, START + offset) == state


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_checkin_is_allowed_exactly_inside_the_window(minutes: int) -> None:
    state = rules.checkin_state(START, START + timedelta(minutes=minutes))
    assert (state in (rules.ON_TIME, rules.LATE)) == (-30 <= minutes <= 30)
    assert (state == rules.LATE) == (0 < minutes <= 30)


def test_outcomes_and_points() -> None:
    assert rules.outcome(True, "approved") == rules.PRESENT  # came anyway
    assert rules.outcome(False, "approved") == rules.ON_LEAVE
    assert rules.outcome(False, "refused") == rules.ABSENT
    assert rules.outcome(False, "pending") == rules.ABSENT
    assert rules.points_item(rules.THEME_DAY, rules.PRESENT) == "act_theme_party_day"
    assert rules.points_item(rules.COMMITTEE, rules.PRESENT) == "study_three_meetings"
    assert rules.points_item(rules.LIFE_MEETING, rules.PRESENT) == "act_org_life_meeting"
    assert rules.points_item(rules.GROUP, rules.ABSENT) == "disc_absent_without_leave"
    assert rules.points_item(rules.LECTURE, rules.ON_LEAVE) is None


def test_required_periods_follow_seed_002() -> None:
    assert [p.key for p in rules.required_periods(rules.PARTY_CONGRESS, 2026)] == [
        "2026Q1",
        "2026Q2",
        "2026Q3",
        "2026Q4",
    ]
    assert len(rules.required_periods(rules.COMMITTEE, 2026)) == 12
    assert [p.start.month for p in rules.required_periods(rules.LECTURE, 2026)] == [
        3,
        5,
        7,
        9,
        11,
        12,
    ]
    assert [p.key for p in rules.required_periods(rules.LIFE_MEETING, 2026)] == ["2026"]
    feb = rules.required_periods(rules.GROUP, 2028)[1]
    assert (feb.start, feb.end) == (date(2028, 2, 1), date(2028, 2, 29))


@given(st.sampled_from(rules.KINDS), st.integers(min_value=2000, max_value=2100))
def test_periods_are_disjoint_and_inside_the_year(kind: str, year: int) -> None:
    periods = rules.required_periods(kind, year)
    for p in periods:
        assert p.start <= p.end and p.start.year == year == p.end.year
    for a, b in itertools.pairwise(periods):
        assert a.end < b.start


def test_period_state_and_alert_days() -> None:
    june = rules.required_periods(rules.COMMITTEE, 2026)[5]
    assert rules.period_state(june, False, date(2026, 5, 31)) == rules.UPCOMING
    assert rules.period_state(june, False, date(2026, 6, 10)) == rules.OPEN
    assert rules.period_state(june, False, date(2026, 7, 1)) == rules.NOT_HELD
    assert rules.period_state(june, True, date(2026, 7, 1)) == rules.HELD
    assert not rules.alert_due(june, False, date(2026, 6, 23))
    assert rules.alert_due(june, False, date(2026, 6, 24))  # the last 7 days
    assert rules.alert_due(june, False, date(2026, 6, 30))
    assert not rules.alert_due(june, True, date(2026, 6, 30))
    assert not rules.alert_due(june, False, date(2026, 7, 1))


def test_parse_new_meeting() -> None:
    m = rules.parse_new_meeting("支委会 2026-06-01 16:00 六月支委会 | 会议室 301")
    assert m == rules.NewMeeting(
        rules.COMMITTEE, date(2026, 6, 1), time(16, 0), "六月支委会", "会议室 301"
    )
    g = rules.parse_new_meeting("党小组会 2026-06-17 16:00 #第一党小组 六月学习")
    assert (g.kind, g.party_group, g.title, g.place) == (
        rules.GROUP,
        "第一党小组",
        "六月学习",
        None,
    )
    lecture = rules.parse_new_meeting("lecture 2026-07-01 09：30 革命传统教育｜https://x.example")
    assert (lecture.at, lecture.place) == (time(9, 30), "https://x.example")
    for bad in (
        "",
        "例会 2026-06-01 16:00 标题",
        "支委会 2026-02-30 16:00 标题",
        "支委会 2026-06-01 24:00 标题",
        "支委会 2026-06-01 16:00",
        "支委会 2026-06-01 16:00 " + "长" * 121,
    ):
        with pytest.raises(ValueError):
            rules.parse_new_meeting(bad)


@given(st.text(max_size=300))
def test_parse_new_meeting_never_crashes(text: str) -> None:
    try:
        m = rules.parse_new_meeting(text)
    except ValueError:
        return
    assert m.kind in rules.KINDS and 0 < len(m.title) <= rules.MAX_TITLE


# -- heart-to-heart talks ---------------------------------------------------------------
def test_uncovered_needs_a_talk_with_another_committee_member() -> None:
    from domain import talks_rules as talks

    committee = {1: True, 2: True, 3: False, 4: False}
    assert talks.uncovered(committee, []) == {1, 2, 3, 4}
    assert talks.uncovered(committee, [(3, 1)]) == {1, 2, 4}  # 1 talked with a member only
    assert talks.uncovered(committee, [(3, 4)]) == {1, 2, 3, 4}  # two members
    assert talks.uncovered(committee, [(1, 2), (4, 2)]) == {3}
    assert talks.uncovered(committee, [(1, 1)]) == {1, 2, 3, 4}  # not with oneself


@given(
    st.dictionaries(st.integers(1, 30), st.booleans(), max_size=30),
    st.lists(st.tuples(st.integers(1, 30), st.integers(1, 30)), max_size=60),
)
def test_uncovered_is_exactly_who_never_met_a_committee_member(
    committee: dict[int, bool], pairs: list[tuple[int, int]]
) -> None:
    from domain import talks_rules as talks

    result = talks.uncovered(committee, pairs)
    for pid in committee:
        met = any(
            (a == pid and b != pid and committee.get(b))
            or (b == pid and a != pid and committee.get(a))
            for a, b in pairs
        )
        assert (pid in result) == (not met)


def test_group_table_and_alert_days() -> None:
    from domain import talks_rules as talks
    from domain.periods import Quarter

    assert talks.without_talk({1, 2, 3}, [(1, 9)]) == {2, 3}
    q2 = Quarter(2026, 2)
    assert not talks.group_alert_due(q2, date(2026, 6, 23))
    assert talks.group_alert_due(q2, date(2026, 6, 24))
    assert talks.group_alert_due(q2, date(2026, 6, 30))
    assert not talks.group_alert_due(q2, date(2026, 7, 1))
    today = date(2026, 6, 3)
    assert talks.parse_day("今天", today) == today
    assert talks.parse_day("昨天", today) == date(2026, 6, 2)
    assert talks.parse_day(" 2026-6-1 ", today) == date(2026, 6, 1)
    for bad in ("明天", "2026-02-30", "6/1"):
        with pytest.raises(ValueError):
            talks.parse_day(bad, today)
