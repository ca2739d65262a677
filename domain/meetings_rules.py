"""Organisational life as pure rules: meeting kinds, who they concern, the check-in
window, the periods each kind must be held in (seed 002) and what attendance is worth
in the points scheme. No database, no clock: everything is passed in."""

# i18n-domain: meetings

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain.periods import Quarter
from locales.i18n import N_

PARTY_CONGRESS = "party_congress"  # 党员大会
COMMITTEE = "committee"  # 支委会
GROUP = "group"  # 党小组会
LECTURE = "lecture"  # 党课
THEME_DAY = "theme_day"  # 主题党日
LIFE_MEETING = "life_meeting"  # 组织生活会

KINDS = (PARTY_CONGRESS, COMMITTEE, GROUP, LECTURE, THEME_DAY, LIFE_MEETING)

KIND_LABELS: dict[str, str] = {
    PARTY_CONGRESS: N_("Branch general meeting"),
    COMMITTEE: N_("Branch committee meeting"),
    GROUP: N_("Party group meeting"),
    LECTURE: N_("Party lecture"),
    THEME_DAY: N_("Theme Party day"),
    LIFE_MEETING: N_("Organisational life meeting"),
}

#: What a secretary may type for a kind (Chinese first).
KIND_ALIASES: dict[str, str] = {
    "党员大会": PARTY_CONGRESS,
    "支部党员大会": PARTY_CONGRESS,
    "黨員大會": PARTY_CONGRESS,
    "支委会": COMMITTEE,
    "支委會": COMMITTEE,
    "党小组会": GROUP,
    "黨小組會": GROUP,
    "党课": LECTURE,
    "黨課": LECTURE,
    "主题党日": THEME_DAY,
    "主題黨日": THEME_DAY,
    "组织生活会": LIFE_MEETING,
    "組織生活會": LIFE_MEETING,
    **{k: k for k in KINDS},
    "congress": PARTY_CONGRESS,
}

AUDIENCE_PARTY = "party_members"
AUDIENCE_COMMITTEE = "committee"
AUDIENCE_GROUP = "group"

#: Who a kind concerns by default: the committee meets alone; a party group's meeting
#: concerns that group; everything else the branch's Party members.
KIND_AUDIENCE: dict[str, str] = {
    PARTY_CONGRESS: AUDIENCE_PARTY,
    COMMITTEE: AUDIENCE_COMMITTEE,
    GROUP: AUDIENCE_GROUP,
    LECTURE: AUDIENCE_PARTY,
    THEME_DAY: AUDIENCE_PARTY,
    LIFE_MEETING: AUDIENCE_PARTY,
}

# -- check-in ---------------------------------------------------------------------------
CHECKIN_BEFORE = timedelta(minutes=30)
CHECKIN_AFTER = timedelta(minutes=30)

EARLY, ON_TIME, LATE, CLOSED = "early", "on_time", "late", "closed"


def checkin_state(
    starts_at: datetime,
    now: datetime,
    before: timedelta = CHECKIN_BEFORE,
    after: timedelta = CHECKIN_AFTER,
) -> str:
    """Where ``now`` falls: before the window (``early``), in it up to the start
    (``on_time``), after the start but in it (``late``), or after it (``closed``)."""
    if now < starts_at - before:
        return EARLY
    if now <= starts_at:
        return ON_TIME
    if now <= starts_at + after:
        return LATE
    return CLOSED


# -- attendance and points --------------------------------------------------------------
PRESENT, ON_LEAVE, ABSENT = "present", "leave", "absent"


def outcome(checked_in: bool, leave_status: str | None) -> str:
    """Present (checked in or ticked by the chair), on approved leave, or absent."""
    if checked_in:
        return PRESENT
    if leave_status == "approved":
        return ON_LEAVE
    return ABSENT


#: Catalogue items (domain/data/default_catalogue.yaml) per kind and outcome.
CREDIT_ITEMS: dict[str, str] = {
    PARTY_CONGRESS: "study_three_meetings",
    COMMITTEE: "study_three_meetings",
    GROUP: "study_three_meetings",
    LECTURE: "study_three_meetings",
    THEME_DAY: "act_theme_party_day",
    LIFE_MEETING: "act_org_life_meeting",
}
ABSENCE_ITEM = "disc_absent_without_leave"
#: The lecturer of a Party lecture is credited for giving it.
LECTURER_ITEM = "study_give_party_lecture"


def points_item(kind: str, result: str) -> str | None:
    """The catalogue item an outcome earns (None: nothing, e.g. approved leave)."""
    if result == PRESENT:
        return CREDIT_ITEMS.get(kind)
    if result == ABSENT:
        return ABSENCE_ITEM
    return None


# -- cycles (seed 002) ------------------------------------------------------------------
LECTURE_PLAN_MONTHS = (3, 5, 7, 9, 11, 12)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    key: str  # "2026Q3", "2026-10", "2026"


def _month(year: int, month: int) -> Period:
    return Period(
        date(year, month, 1),
        date(year, month, _cal.monthrange(year, month)[1]),
        f"{year}-{month:02d}",
    )


def required_periods(kind: str, year: int) -> list[Period]:
    """The periods of ``year`` in which a meeting of ``kind`` must be held: the general
    meeting every quarter; committee, party group and theme day every month; a lecture
    in each plan month; the organisational life meeting once a year."""
    if kind == PARTY_CONGRESS:
        quarters = [Quarter(year, q) for q in range(1, 5)]
        return [Period(q.start, q.end, str(q)) for q in quarters]
    if kind in (COMMITTEE, GROUP, THEME_DAY):
        return [_month(year, m) for m in range(1, 13)]
    if kind == LECTURE:
        return [_month(year, m) for m in LECTURE_PLAN_MONTHS]
    if kind == LIFE_MEETING:
        return [Period(date(year, 1, 1), date(year, 12, 31), str(year))]
    raise ValueError(kind)


HELD, NOT_HELD, OPEN, UPCOMING = "held", "not_held", "open", "upcoming"


def period_state(period: Period, held: bool, today: date) -> str:
    """Held; not held (the period is over); open (running, not held yet); upcoming."""
    if held:
        return HELD
    if today > period.end:
        return NOT_HELD
    if today >= period.start:
        return OPEN
    return UPCOMING


ALERT_DAYS = 7


def alert_due(period: Period, held: bool, today: date, days: int = ALERT_DAYS) -> bool:
    """The secretary is alerted once when a period is about to end (its last ``days``
    days) with its meeting not held."""
    return not held and period.end - timedelta(days=days - 1) <= today <= period.end


# -- what a secretary types ------------------------------------------------------------
MAX_TITLE = 120
MAX_PLACE = 200


@dataclass(frozen=True)
class NewMeeting:
    kind: str
    day: date
    at: time
    title: str
    place: str | None = None
    party_group: str | None = None


_NEW = re.compile(
    r"^(?P<kind>\S+)\s+(?P<day>\d{4}-\d{1,2}-\d{1,2})\s+(?P<at>\d{1,2}[:：]\d{2})"
    r"(?:\s+#(?P<group>\S{1,64}))?\s+(?P<title>[^|｜]+?)\s*(?:[|｜]\s*(?P<place>.+))?$",
    re.DOTALL,
)


def parse_new_meeting(text: str) -> NewMeeting:
    """``支委会 2026-06-01 16:00 六月支委会 | 会议室 301`` (kind, date, time, title and an
    optional place or online link; a party group meeting may name its group as
    ``#第一党小组`` after the time). Raises ValueError."""
    match = _NEW.match(text.strip())
    if match is None:
        raise ValueError(text)
    kind = KIND_ALIASES.get(match["kind"]) or KIND_ALIASES.get(match["kind"].lower())
    if kind is None:
        raise ValueError(text)
    y, m, d = (int(x) for x in match["day"].split("-"))
    day = date(y, m, d)
    hh, mm = (int(x) for x in re.split("[:：]", match["at"]))
    if not (0 <= hh <= 23 and 0 <= mm <= 59):
        raise ValueError(text)
    title = match["title"].strip()
    place = (match["place"] or "").strip() or None
    if not title or len(title) > MAX_TITLE or (place is not None and len(place) > MAX_PLACE):
        raise ValueError(text)
    group = match["group"] if kind == GROUP else None
    return NewMeeting(kind, day, time(hh, mm), title, place, group)
