"""The branch calendar as pure rules: when events fall and when their reminders are due.

All dates are local to the branch's time zone; due times are converted to aware UTC
here, so the server's own zone never matters (a server in UTC reminds at 09:00
Beijing time as 01:00 UTC).
"""

# i18n-domain: reminders

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.periods import HalfYear, Quarter
from locales.i18n import N_

# -- kinds --------------------------------------------------------------------------
THEME_DAY = "theme_day"
FEE_DAY = "fee_day"
GENERAL_MEETING = "general_meeting"
COMMITTEE_MEETING = "committee_meeting"
GROUP_MEETING = "group_meeting"
REPORT_QUARTERLY = "report_quarterly"
REPORT_HALF_YEARLY = "report_half_yearly"
DECLARATION = "declaration"
ONE_OFF = "one_off"

KIND_LABELS: dict[str, str] = {
    THEME_DAY: N_("Theme Party day"),
    FEE_DAY: N_("Party fee day"),
    GENERAL_MEETING: N_("Branch general meeting"),
    COMMITTEE_MEETING: N_("Branch committee meeting"),
    GROUP_MEETING: N_("Party group meeting"),
    REPORT_QUARTERLY: N_("Thought report due (probationary members)"),
    REPORT_HALF_YEARLY: N_("Thought report due (activists and development targets)"),
    DECLARATION: N_("Points declaration due"),
    ONE_OFF: N_("Event"),
}

#: Kinds whose reminders a member cannot mute (fee day; deadlines only reach those who owe).
MANDATORY_KINDS = frozenset({FEE_DAY, REPORT_QUARTERLY, REPORT_HALF_YEARLY, DECLARATION})
#: Deadline kinds: reminders go only to those who still owe (``scheduler.hooks``).
DEADLINE_KINDS = frozenset({REPORT_QUARTERLY, REPORT_HALF_YEARLY, DECLARATION})

# -- audiences ----------------------------------------------------------------------
AUDIENCE_ALL = "all"
AUDIENCE_PARTY = "party_members"  # full and probationary members
AUDIENCE_PROBATIONARY = "probationary"
AUDIENCE_CANDIDATES = "candidates"  # activists and development targets
AUDIENCE_COMMITTEE = "committee"  # committee members and the secretary

AUDIENCE_LABELS: dict[str, str] = {
    AUDIENCE_ALL: N_("everyone in the branch"),
    AUDIENCE_PARTY: N_("Party members (full and probationary)"),
    AUDIENCE_PROBATIONARY: N_("probationary members"),
    AUDIENCE_CANDIDATES: N_("activists and development targets"),
    AUDIENCE_COMMITTEE: N_("the branch committee"),
}

WEEKDAY_LABELS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)

FREQS = ("monthly", "quarterly", "half_yearly", "once")
ANCHORS = ("nth_weekday", "day", "period_end", "date")


@dataclass(frozen=True)
class Schedule:
    """When an event falls. ``freq`` monthly/quarterly/half_yearly/once; ``anchor``
    nth_weekday (``nth`` 1..4 or -1 = last, ``weekday`` 0 = Monday), day (``day`` of the
    month, clamped to its length), period_end (last day of the period + ``offset_days``)
    or date (``on_date``, for ``once``). ``month_in_period`` picks the month of a
    quarter (1..3) or half-year (1..6)."""

    freq: str
    anchor: str
    nth: int | None = None
    weekday: int | None = None
    day: int | None = None
    month_in_period: int = 1
    offset_days: int = 0
    on_date: date | None = None

    def __post_init__(self) -> None:
        if self.freq not in FREQS or self.anchor not in ANCHORS:
            raise ValueError(f"bad schedule {self.freq}/{self.anchor}")
        if self.anchor == "nth_weekday" and (
            self.nth not in (1, 2, 3, 4, -1) or self.weekday not in range(7)
        ):
            raise ValueError("nth_weekday needs nth 1..4 or -1 and weekday 0..6")
        if self.anchor == "day" and (self.day is None or not 1 <= self.day <= 31):
            raise ValueError("day must be 1..31")
        if self.anchor == "date" and self.on_date is None:
            raise ValueError("a one-off event needs a date")
        if (self.freq == "once") != (self.anchor == "date"):
            raise ValueError("once goes with a date")
        if not -60 <= self.offset_days <= 60:
            raise ValueError("offset_days must be -60..60")
        span = {"monthly": 1, "quarterly": 3, "half_yearly": 6}.get(self.freq, 1)
        if not 1 <= self.month_in_period <= span:
            raise ValueError("month_in_period out of range")


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    """The ``nth`` (1..4, or -1 = last) ``weekday`` (0 = Monday) of a month.
    The fourth Friday always falls on day 22–28."""
    if nth == -1:
        last = date(year, month, _cal.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def fourth_friday(year: int, month: int) -> date:
    return nth_weekday(year, month, 4, 4)


def _month_add(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def _period_start_months(freq: str, first: date, last: date) -> list[tuple[int, int]]:
    """(year, month) of the first month of every period overlapping [first, last],
    widened by a period on each side (offsets may move an event across periods)."""
    span = {"monthly": 1, "quarterly": 3, "half_yearly": 6}[freq]
    year, month = _month_add(first.year, first.month, -(span + 2))
    month -= (month - 1) % span
    result = []
    while (year, month) <= _month_add(last.year, last.month, span + 2):
        result.append((year, month))
        year, month = _month_add(year, month, span)
    return result


def _period_end(freq: str, year: int, month: int) -> date:
    if freq == "monthly":
        return date(year, month, _cal.monthrange(year, month)[1])
    if freq == "quarterly":
        return Quarter.of(date(year, month, 1)).end
    return HalfYear.of(date(year, month, 1)).end


def occurrences(schedule: Schedule, first: date, last: date) -> list[date]:
    """Event dates in ``[first, last]`` (local dates), sorted."""
    if schedule.freq == "once":
        d = schedule.on_date
        return [d] if d is not None and first <= d <= last else []
    found: set[date] = set()
    for year, month in _period_start_months(schedule.freq, first, last):
        if schedule.anchor == "period_end":
            candidate = _period_end(schedule.freq, year, month) + timedelta(
                days=schedule.offset_days
            )
        else:
            y, m = _month_add(year, month, schedule.month_in_period - 1)
            if schedule.anchor == "nth_weekday":
                assert schedule.nth is not None and schedule.weekday is not None
                candidate = nth_weekday(y, m, schedule.nth, schedule.weekday)
            else:
                assert schedule.day is not None
                candidate = date(y, m, min(schedule.day, _cal.monthrange(y, m)[1]))
            candidate += timedelta(days=schedule.offset_days)
        if first <= candidate <= last:
            found.add(candidate)
    return sorted(found)


def parse_hhmm(text: str) -> time:
    match = re.fullmatch(r"\s*(\d{1,2})[:：](\d{2})\s*", text)
    if match is None:
        raise ValueError(text)
    hour, minute = int(match[1]), int(match[2])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(text)
    return time(hour, minute)


def local_to_utc(day: date, at: time, timezone: str) -> datetime:
    """A local wall-clock time in the branch's zone, as aware UTC."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def due_at(occurrence: date, days_before: int, at_time: str, timezone: str) -> datetime:
    """When the reminder ``days_before`` an occurrence at ``at_time`` (local) is due."""
    return local_to_utc(occurrence - timedelta(days=days_before), parse_hhmm(at_time), timezone)


def due_between(
    schedule: Schedule,
    days_before: int,
    at_time: str,
    timezone: str,
    start: datetime,
    end: datetime,
) -> list[tuple[date, datetime]]:
    """(occurrence, due time) of every reminder due in ``[start, end]`` (aware)."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() + timedelta(days=days_before - 1)
    last = end.astimezone(zone).date() + timedelta(days=days_before + 1)
    result = []
    for occ in occurrences(schedule, first, last):
        when = due_at(occ, days_before, at_time, timezone)
        if start <= when <= end:
            result.append((occ, when))
    return result


# -- defaults (DOMAIN.md, seed 002) --------------------------------------------------
@dataclass(frozen=True)
class DefaultRule:
    kind: str
    schedule: Schedule
    event_time: str | None
    audience: str
    reminders: tuple[tuple[int, str], ...]  # (days before, "HH:MM")


FOURTH_FRIDAY = Schedule("monthly", "nth_weekday", nth=4, weekday=4)
DAY_BEFORE_AND_DAY = ((1, "18:00"), (0, "09:00"))
DEADLINE_REMINDERS = ((14, "09:00"), (3, "09:00"))

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule(THEME_DAY, FOURTH_FRIDAY, "14:30", AUDIENCE_ALL, DAY_BEFORE_AND_DAY),
    DefaultRule(FEE_DAY, FOURTH_FRIDAY, None, AUDIENCE_PARTY, DAY_BEFORE_AND_DAY),
    DefaultRule(
        GENERAL_MEETING,
        Schedule("quarterly", "nth_weekday", nth=2, weekday=4, month_in_period=3),
        "15:00",
        AUDIENCE_PARTY,
        DAY_BEFORE_AND_DAY,
    ),
    DefaultRule(
        COMMITTEE_MEETING,
        Schedule("monthly", "nth_weekday", nth=1, weekday=0),
        "16:00",
        AUDIENCE_COMMITTEE,
        ((1, "18:00"),),
    ),
    DefaultRule(
        GROUP_MEETING,
        Schedule("monthly", "nth_weekday", nth=3, weekday=2),
        "16:00",
        AUDIENCE_ALL,
        ((1, "18:00"),),
    ),
    DefaultRule(
        REPORT_QUARTERLY,
        Schedule("quarterly", "period_end"),
        None,
        AUDIENCE_PROBATIONARY,
        DEADLINE_REMINDERS,
    ),
    DefaultRule(
        REPORT_HALF_YEARLY,
        Schedule("half_yearly", "period_end"),
        None,
        AUDIENCE_CANDIDATES,
        DEADLINE_REMINDERS,
    ),
    DefaultRule(
        DECLARATION,
        Schedule("quarterly", "period_end", offset_days=10),
        None,
        AUDIENCE_PARTY,
        DEADLINE_REMINDERS,
    ),
)


# -- what a secretary types to change a rule ------------------------------------------
@dataclass(frozen=True)
class WhenChange:
    """A parsed "day/time" edit: any part may be absent (kept as it is)."""

    nth: int | None = None
    weekday: int | None = None
    day: int | None = None
    offset_days: int | None = None
    on_date: date | None = None
    event_time: str | None = None


_NTH_WEEKDAY = re.compile(r"^(-1|[1-4])\s*[/\s]\s*([1-7])$")
_DAY = re.compile(r"^[dD日](\d{1,2})$")
_OFFSET = re.compile(r"^([+-]\d{1,2})$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_when(text: str) -> WhenChange:
    """``4 5 14:30`` (4th Friday, 14:30; weekday 1 = Monday … 7 = Sunday; -1 = last),
    ``D15 09:00`` (15th of the month), ``+10`` (days after the period's end),
    ``2026-05-20 15:00`` (a date), or only ``14:30``. Raises ValueError."""
    parts = text.strip().replace("，", " ").replace(",", " ").split()
    if not parts or len(parts) > 3:
        raise ValueError(text)
    event_time: str | None = None
    if re.fullmatch(r"\d{1,2}[:：]\d{2}", parts[-1]):
        event_time = parse_hhmm(parts[-1]).strftime("%H:%M")
        parts = parts[:-1]
    rest = " ".join(parts)
    if not rest:
        if event_time is None:
            raise ValueError(text)
        return WhenChange(event_time=event_time)
    if m := _NTH_WEEKDAY.match(rest):
        return WhenChange(nth=int(m[1]), weekday=int(m[2]) - 1, event_time=event_time)
    if m := _DAY.match(rest):
        day = int(m[1])
        if not 1 <= day <= 31:
            raise ValueError(text)
        return WhenChange(day=day, event_time=event_time)
    if m := _OFFSET.match(rest):
        offset = int(m[1])
        if not -60 <= offset <= 60:
            raise ValueError(text)
        return WhenChange(offset_days=offset, event_time=event_time)
    if m := _DATE.match(rest):
        return WhenChange(on_date=date(int(m[1]), int(m[2]), int(m[3])), event_time=event_time)
    raise ValueError(text)


def parse_reminder_times(text: str) -> list[tuple[int, str]]:
    """``1 18:00, 0 09:00`` → [(1, "18:00"), (0, "09:00")]: days before and local time.
    Raises ValueError."""
    items = [p.strip() for p in re.split(r"[,，;；\n]", text) if p.strip()]
    if not items or len(items) > 5:
        raise ValueError(text)
    result: list[tuple[int, str]] = []
    for item in items:
        match = re.fullmatch(r"(\d{1,2})\s*[@\s]\s*(\d{1,2}[:：]\d{2})", item)
        if match is None:
            raise ValueError(text)
        days = int(match[1])
        if days > 60:
            raise ValueError(text)
        pair = (days, parse_hhmm(match[2]).strftime("%H:%M"))
        if pair not in result:
            result.append(pair)
    return result
