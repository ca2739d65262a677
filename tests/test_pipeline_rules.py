"""The admission pipeline's pure rules: working days (with and without the holiday
calendar), the order and earliest dates of the procedures, the poll thresholds, and
the status history's reading of the past."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from domain import pipeline_rules as rules
from domain.pipeline_polls import CHOICE_LABELS
from domain.pipeline_rules import (
    STEPS,
    CaseFacts,
    add_months,
    assessment_outcome,
    check_order,
    is_working_day,
    meeting_outcome,
    working_days_between,
    working_days_end,
)
from locales import LOCALES_DIR
from locales.i18n import translator


# -- working days ----------------------------------------------------------------------
def test_a_notice_spans_a_weekend() -> None:
    # Thursday 2026-11-19: Thu, Fri, (weekend), Mon–Fri → ends Friday 2026-11-27.
    assert working_days_end(date(2026, 11, 19)) == date(2026, 11, 27)


def test_public_holidays_and_working_weekends_count_as_the_state_council_says() -> None:
    # National Day 2026: 1–7 October off; Saturday 10 October is a working day.
    assert not is_working_day(date(2026, 10, 1))
    assert is_working_day(date(2026, 10, 10))
    # A notice from 2026-09-29 (Tue): 29, 30 Sep, then 8, 9, 10 (Sat, worked), 12, 13 Oct.
    assert working_days_end(date(2026, 9, 29)) == date(2026, 10, 13)


def test_a_year_the_calendar_does_not_know_falls_back_to_weekdays() -> None:
    assert is_working_day(date(2040, 1, 2))  # a Monday
    assert not is_working_day(date(2040, 1, 7))  # a Sunday
    assert working_days_end(date(2040, 1, 6)) == date(2040, 1, 16)  # Sat → 8–16 Jan


@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2060, 12, 31)), st.integers(1, 30))
def test_the_end_of_a_notice_has_exactly_its_working_days(start: date, count: int) -> None:
    end = working_days_end(start, count)
    assert end >= start
    assert is_working_day(end)
    assert working_days_between(start, end) == count
    # No earlier day would do.
    assert working_days_between(start, end - timedelta(days=1)) == count - 1


@given(st.dates(min_value=date(2030, 1, 1), max_value=date(2060, 12, 31)), st.integers(1, 30))
def test_outside_the_calendar_a_notice_never_ends_on_a_weekend(start: date, count: int) -> None:
    end = working_days_end(start, count)
    assert end.weekday() < 5
    # At most count working days plus the weekends in between.
    assert (end - start).days <= count + 2 * (count // 5 + 2)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(-24, 24))
def test_add_months_keeps_the_day_or_takes_the_months_last(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


# -- order and dates -------------------------------------------------------------------
def _facts(done: dict[str, date], **extra: object) -> CaseFacts:
    return CaseFacts(done, extra.get("notice_end", {}), int(extra.get("months", 0)))  # type: ignore[call-overload]


def _until(code: str, on: date) -> dict[str, date]:
    done = {}
    for step in STEPS:
        if step.code == code:
            break
        done[step.code] = on
    return done


def test_steps_are_refused_out_of_order_with_the_one_that_comes_first() -> None:
    refusal = check_order("talk", _facts({}), date(2026, 5, 1))
    assert refusal is not None
    assert refusal.msgid == "Out of order: “{missing_label}” comes first."
    assert refusal.params["missing_label"] == rules.STEP_BY_CODE["apply"].label
    assert check_order("apply", _facts({}), date(2026, 5, 1)) is None
    again = check_order("apply", _facts({"apply": date(2026, 5, 1)}), date(2026, 5, 2))
    assert again is not None and again.params["date"] == "2026-05-01"


def test_development_target_is_possible_one_year_after_becoming_an_activist() -> None:
    done = _until("opinions", date(2026, 5, 10))
    refusal = check_order("opinions", _facts(done), date(2027, 5, 9))
    assert refusal is not None
    assert refusal.params == {
        "since": "2026-05-10",
        "end": "",
        "earliest": "2027-05-10",
    }
    assert check_order("opinions", _facts(done), date(2027, 5, 10)) is None


def test_the_pre_review_waits_for_the_notice_and_the_full_vote_for_the_probation() -> None:
    done = _until("prereview", date(2027, 6, 1))
    facts = _facts(done, notice_end={"notice": date(2027, 6, 9)})
    refusal = check_order("prereview", facts, date(2027, 6, 9))
    assert refusal is not None and refusal.params["earliest"] == "2027-06-10"
    assert check_order("prereview", facts, date(2027, 6, 10)) is None
    done = _until("full_meeting", date(2027, 7, 1))
    done["meeting"] = date(2027, 7, 1)
    facts = _facts(done, notice_end={"full_notice": date(2028, 6, 20)})
    assert rules.probation_end(facts) == date(2028, 7, 1)
    refusal = check_order("full_meeting", facts, date(2028, 6, 30))
    assert refusal is not None and refusal.params["end"] == "2028-07-01"
    extended = _facts(done, notice_end={"full_notice": date(2028, 6, 20)}, months=6)
    assert rules.probation_end(extended) == date(2029, 1, 1)
    assert check_order("full_meeting", extended, date(2028, 7, 1)) is not None


def test_deadlines_talk_within_a_month_approval_within_three_months() -> None:
    assert rules.window("talk", _facts({"apply": date(2026, 1, 31)})).latest == date(2026, 2, 28)
    meeting = _until("approval", date(2027, 7, 1))
    assert rules.window("approval", _facts(meeting)).latest == date(2027, 10, 1)


# -- thresholds ------------------------------------------------------------------------
def test_assessment_thresholds() -> None:
    assert assessment_outcome(10, 8, 0, 0).passed  # 80% took part, all excellent
    assert not assessment_outcome(10, 7, 0, 0).passed  # 70% took part
    assert assessment_outcome(10, 8, 2, 0).passed  # excellent exactly 80%
    assert not assessment_outcome(10, 7, 3, 0).passed  # excellent 70%
    low = assessment_outcome(20, 16, 2, 2)  # poor exactly 10%: still passes
    assert low.passed
    high = assessment_outcome(20, 16, 0, 3)  # 3 of 19 poor
    assert not high.passed and high.failures == ("“poor” above 10% ({poor} of {ballots})",)


def test_the_non_members_take_part_and_count_in_the_shares() -> None:
    masses = rules.parse_masses("40 8 0 0")
    assert masses == rules.Masses(40, 8, 0, 0)
    assert assessment_outcome(10, 10, 0, 0, masses).passed  # 8 of 40 = 20%
    few = assessment_outcome(10, 10, 0, 0, rules.Masses(40, 7, 0, 0))
    assert few.failures == ("fewer than 20% of the non-members took part ({mcast} of {masked})",)
    # 10 + 2 excellent of 10 + 10 ballots: 60% → blocked by the non-members' votes.
    mixed = assessment_outcome(10, 10, 0, 0, rules.Masses(40, 2, 8, 0))
    assert mixed.failures == ("“excellent” below 80% ({excellent} of {ballots})",)
    assert mixed.params["excellent"] == 12 and mixed.params["ballots"] == 20
    assert rules.parse_masses("10 8 2 1") is None  # more ballots than people asked
    assert rules.parse_masses("10 8 2") is None
    assert rules.parse_masses("十 8 2 0") is None


def test_meeting_thresholds_are_more_than_half_of_those_entitled() -> None:
    assert meeting_outcome(4, 3, 0, 0).passed
    two = meeting_outcome(4, 2, 0, 1)  # quorum (3 of 4) but only 2 in favour: not > half
    assert not two.passed and len(two.failures) == 1
    assert not meeting_outcome(4, 2, 0, 0).passed  # no quorum
    assert meeting_outcome(5, 3, 2, 0).passed


@given(st.integers(1, 200), st.integers(0, 200), st.integers(0, 200), st.integers(0, 200))
def test_meeting_outcome_matches_its_definition(entitled: int, yes: int, no: int, ab: int) -> None:
    outcome = meeting_outcome(entitled, yes, no, ab)
    assert outcome.passed == (2 * (yes + no + ab) > entitled and 2 * yes > entitled)


# -- labels in every language ----------------------------------------------------------
LABELS = sorted(
    {
        *rules.STAGE_LABELS.values(),
        *(s.label for s in STEPS),
        *rules.POLL_LABELS.values(),
        rules.EXTEND_LABEL,
        *CHOICE_LABELS.values(),
    }
)


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_every_stage_and_procedure_has_a_label_in_the_catalogue(locale: str) -> None:
    path = Path(LOCALES_DIR) / locale / "LC_MESSAGES" / "pipeline.po"
    catalog = read_po(path.open("rb"), locale=locale)
    for label in LABELS:
        message = catalog.get(label)
        assert message is not None and message.string, f"{locale}: no label for {label!r}"
        if locale != "en":
            assert translator(locale).gettext(label) != label
        else:  # English readers get no Chinese words (the i18n script check)
            assert not re.search(r"[\u3400-\u9fff]", message.string), message.string


def test_there_are_five_stages_and_about_twenty_five_procedures() -> None:
    assert {s.stage for s in STEPS} == set(rules.Stage)
    assert 24 <= len(STEPS) <= 28
    assert len({s.code for s in STEPS}) == len(STEPS)
    assert all(len(s.code) <= 16 for s in STEPS)  # fits a callback's argument
