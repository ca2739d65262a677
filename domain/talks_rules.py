"""Heart-to-heart talks (谈心谈话, seed 002) as pure rules: "between committee members,
between committee members and members, and between members, at least once a year";
"party groups draw up a talk plan and report the talk record table every quarter"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from domain.periods import Quarter

#: Days before a quarter's end when group leaders hear that their table is incomplete.
GROUP_ALERT_DAYS = 7
MAX_SUMMARY = 1000


def uncovered(committee: Mapping[int, bool], talks: Iterable[tuple[int, int]]) -> set[int]:
    """Members (``committee``: person id → is a committee member) who have had no talk
    with a committee member (someone else) among ``talks`` (pairs of person ids)."""
    covered: set[int] = set()
    for a, b in talks:
        if a == b:
            continue
        if committee.get(b):
            covered.add(a)
        if committee.get(a):
            covered.add(b)
    return {pid for pid in committee if pid not in covered}


def without_talk(members: Iterable[int], talks: Iterable[tuple[int, int]]) -> set[int]:
    """Members with no talk at all among ``talks`` (a group's quarter table)."""
    talked = {p for pair in talks for p in pair}
    return {pid for pid in members if pid not in talked}


def group_alert_due(quarter: Quarter, today: date, days: int = GROUP_ALERT_DAYS) -> bool:
    """In the last ``days`` days of the quarter."""
    return quarter.end - timedelta(days=days - 1) <= today <= quarter.end


def parse_day(text: str, today: date) -> date:
    """``今天`` / ``today`` / ``昨天`` / ``YYYY-MM-DD``. Raises ValueError."""
    value = text.strip().lower()
    if value in ("今天", "today"):
        return today
    if value in ("昨天", "yesterday"):
        return today - timedelta(days=1)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if match is None:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), int(match[3]))
