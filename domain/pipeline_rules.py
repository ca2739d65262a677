# i18n-domain: pipeline
"""The admission pipeline (发展党员) as data and pure rules: the five stages, their
procedures in order with earliest and latest dates, working days for public notices
(公示) and the thresholds of the assessment poll and the branch meeting votes.

Sources: 《中国共产党发展党员工作细则》 (the standard 5 stages, "5个步骤25道程序", seed 002)
and seed 003's quantified assessment (score ≥ 80; a poll of ≥ 80 % of the members, where
"excellent" below 80 % or "poor" above 10 % blocks; at least three activists per
admission; a notice of seven working days). No I/O here."""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from domain.roles import PersonStatus
from locales.i18n import N_

#: Working days of a public notice (公示期为七个工作日, seed 003).
NOTICE_WORKING_DAYS = 7
#: Pass marks.
SCORE_PASS = 80  # quantified daily performance (seed 003) and the training exam (seed 000)
SHORT_COURSE_HOURS = 24  # 集中培训 ≥ 3 days or 24 hours
MIN_ACTIVISTS = 3  # at least three activists considered per admission (seed 003)
MIN_THOUGHT_REPORTS = 2  # one every half year over the activist year
MAX_EXTENSION_MONTHS = 12  # the probation may be extended by up to one year


class Stage(enum.IntEnum):
    APPLICATION = 1
    ACTIVIST = 2
    TARGET = 3
    PROBATIONARY = 4
    FULL = 5

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: Mapping[Stage, str] = {
    Stage.APPLICATION: N_("Stage 1 · application"),
    Stage.ACTIVIST: N_("Stage 2 · activist"),
    Stage.TARGET: N_("Stage 3 · development target"),
    Stage.PROBATIONARY: N_("Stage 4 · probationary member"),
    Stage.FULL: N_("Stage 5 · full membership"),
}


class Input(enum.StrEnum):
    """What the secretary gives when recording a procedure."""

    NOTE = "note"  # an optional note or document
    PEOPLE = "people"  # two people of the branch (contacts, introducers)
    SCORE = "score"  # a score out of 100, pass mark 80
    HOURS = "hours"  # hours of study (or "3天")
    NOTICE = "notice"  # a public notice posted to the members: 7 working days
    POLL = "poll"  # a vote in chat (/vote)


class PollKind(enum.StrEnum):
    ASSESSMENT = "assessment"  # 民主测评: secret, excellent / average / poor
    MEETING = "meeting"  # 支部党员大会表决: for / against / abstain
    EXTEND = "extend"  # the meeting's vote to extend the probation


@dataclass(frozen=True)
class StepDef:
    code: str
    stage: Stage
    label: str  # msgid
    input: Input = Input.NOTE
    sets_status: PersonStatus | None = None
    poll: PollKind | None = None
    #: PEOPLE steps: the people must be full members.
    full_members_only: bool = False


STEPS: tuple[StepDef, ...] = (
    StepDef("apply", Stage.APPLICATION, N_("Application letter handed in (入党申请书)")),
    StepDef("talk", Stage.APPLICATION, N_("Talk with the applicant (派人谈话)")),
    StepDef("recommend", Stage.ACTIVIST, N_("Recommendation by members or mass organisations")),
    StepDef(
        "activist",
        Stage.ACTIVIST,
        N_("Committee decides: activist (确定为入党积极分子)"),
        sets_status=PersonStatus.ACTIVIST,
    ),
    StepDef("activist_filed", Stage.ACTIVIST, N_("Activist reported to the higher committee")),
    StepDef(
        "contacts", Stage.ACTIVIST, N_("Two training contacts assigned (培养联系人)"), Input.PEOPLE
    ),
    StepDef("training", Stage.ACTIVIST, N_("Training course and exam (pass mark 80)"), Input.SCORE),
    StepDef("opinions", Stage.TARGET, N_("Opinions of the party group, contacts and masses")),
    StepDef("score", Stage.TARGET, N_("Quantified daily performance (≥ 80)"), Input.SCORE),
    StepDef(
        "assessment",
        Stage.TARGET,
        N_("Democratic assessment poll (民主测评)"),
        Input.POLL,
        poll=PollKind.ASSESSMENT,
    ),
    StepDef(
        "target",
        Stage.TARGET,
        N_("Committee decides: development target (确定为发展对象)"),
        sets_status=PersonStatus.TARGET,
    ),
    StepDef(
        "target_filed", Stage.TARGET, N_("Development target reported to the higher committee")
    ),
    StepDef(
        "introducers",
        Stage.TARGET,
        N_("Two introducers, full members (入党介绍人)"),
        Input.PEOPLE,
        full_members_only=True,
    ),
    StepDef("review", Stage.TARGET, N_("Political review (政治审查)")),
    StepDef("short_course", Stage.TARGET, N_("Short training: 3 days or 24 hours"), Input.HOURS),
    StepDef("notice", Stage.TARGET, N_("Public notice, 7 working days (公示)"), Input.NOTICE),
    StepDef("prereview", Stage.TARGET, N_("Pre-review by the higher committee (预审)")),
    StepDef("form", Stage.PROBATIONARY, N_("Application form filled in (入党志愿书)")),
    StepDef(
        "meeting",
        Stage.PROBATIONARY,
        N_("Branch general meeting votes on admission"),
        Input.POLL,
        poll=PollKind.MEETING,
    ),
    StepDef("talk_higher", Stage.PROBATIONARY, N_("Talk by the higher committee")),
    StepDef(
        "approval",
        Stage.PROBATIONARY,
        N_("Higher committee approves: probationary member"),
        sets_status=PersonStatus.PROBATIONARY,
    ),
    StepDef("oath", Stage.PROBATIONARY, N_("Admission oath (入党宣誓)")),
    StepDef("full_apply", Stage.FULL, N_("Application for full membership (转正申请)")),
    StepDef(
        "full_notice", Stage.FULL, N_("Public notice, 7 working days (转正公示)"), Input.NOTICE
    ),
    StepDef(
        "full_meeting",
        Stage.FULL,
        N_("Branch general meeting votes on full membership"),
        Input.POLL,
        poll=PollKind.MEETING,
    ),
    StepDef(
        "full_approval",
        Stage.FULL,
        N_("Higher committee approves: full member"),
        sets_status=PersonStatus.MEMBER,
    ),
    StepDef("archive", Stage.FULL, N_("Documents filed in the personnel file (归档)")),
)
STEP_BY_CODE: Mapping[str, StepDef] = {s.code: s for s in STEPS}
ORDER: Mapping[str, int] = {s.code: i for i, s in enumerate(STEPS)}
#: Steps the probation extension re-opens (the year-end application comes again).
REOPENED_BY_EXTENSION = ("full_apply", "full_notice")
EXTEND_LABEL = N_("Probation extended (延长预备期)")
POLL_LABELS: Mapping[PollKind, str] = {
    PollKind.ASSESSMENT: N_("democratic assessment"),
    PollKind.MEETING: N_("branch meeting vote"),
    PollKind.EXTEND: N_("vote on extending the probation"),
}


# -- dates -----------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_working_day(day: date) -> bool:
    """A Chinese working day: ``chinesecalendar`` knows the public holidays and the
    weekend days made working days for the years the State Council has published; for a
    year it does not know, Monday to Friday."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def working_days_end(start: date, count: int = NOTICE_WORKING_DAYS) -> date:
    """The last day of a notice of ``count`` working days starting on ``start`` (the
    start day counts when it is a working day)."""
    if count < 1:
        raise ValueError(count)
    day = start
    seen = 0
    while True:
        if is_working_day(day):
            seen += 1
            if seen == count:
                return day
        day += timedelta(days=1)


def working_days_between(start: date, end: date) -> int:
    """Working days from ``start`` to ``end``, both included."""
    return sum(
        1 for n in range((end - start).days + 1) if is_working_day(start + timedelta(days=n))
    )


# -- thresholds ------------------------------------------------------------------------
@dataclass(frozen=True)
class PollOutcome:
    passed: bool
    #: msgids of the rules not met, formatted with ``params``.
    failures: tuple[str, ...]
    params: Mapping[str, int]


@dataclass(frozen=True)
class Masses:
    """The non-members' (群众) paper ballots of the assessment, as the secretary counted
    them: how many were asked, and the three choices."""

    asked: int
    excellent: int
    average: int
    poor: int

    @property
    def cast(self) -> int:
        return self.excellent + self.average + self.poor


def parse_masses(text: str) -> Masses | None:
    """``40 9 1 0`` (asked, excellent, average, poor); None if unreadable or impossible."""
    parts = text.replace(",", " ").replace("，", " ").replace("、", " ").split()
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        return None
    masses = Masses(*(int(p) for p in parts))
    return masses if masses.cast <= masses.asked else None


def assessment_outcome(
    entitled: int, excellent: int, average: int, poor: int, masses: Masses | None = None
) -> PollOutcome:
    """Seed 003: at least 80 % of the members and (``masses`` given) at least 20 % of the
    non-members asked take part; "excellent" at least 80 % and "poor" at most 10 % of all
    ballots. Integer arithmetic, no rounding."""
    cast = excellent + average + poor
    failures = []
    if entitled <= 0 or cast * 100 < 80 * entitled:
        failures.append(N_("fewer than 80% of the members took part ({cast} of {entitled})"))
    if masses is not None:
        if masses.asked <= 0 or masses.cast * 100 < 20 * masses.asked:
            failures.append(N_("fewer than 20% of the non-members took part ({mcast} of {masked})"))
        excellent += masses.excellent
        average += masses.average
        poor += masses.poor
    ballots = excellent + average + poor
    if ballots == 0 or excellent * 100 < 80 * ballots:
        failures.append(N_("“excellent” below 80% ({excellent} of {ballots})"))
    if ballots and poor * 100 > 10 * ballots:
        failures.append(N_("“poor” above 10% ({poor} of {ballots})"))
    params = {
        "entitled": entitled,
        "cast": cast,
        "ballots": ballots,
        "excellent": excellent,
        "average": average,
        "poor": poor,
        "masked": masses.asked if masses else 0,
        "mcast": masses.cast if masses else 0,
    }
    return PollOutcome(not failures, tuple(failures), params)


def meeting_outcome(entitled: int, yes: int, no: int, abstain: int) -> PollOutcome:
    """The branch general meeting: more than half of the full members with voting rights
    present (quorum), and more than half of them (of all entitled, not of those present)
    in favour."""
    cast = yes + no + abstain
    failures = []
    if entitled <= 0 or cast * 2 <= entitled:
        failures.append(N_("no quorum: {cast} of {entitled} voted, more than half needed"))
    if yes * 2 <= entitled:
        failures.append(N_("{yes} in favour: more than half of {entitled} needed"))
    params = {"entitled": entitled, "cast": cast, "yes": yes, "no": no, "abstain": abstain}
    return PollOutcome(not failures, tuple(failures), params)


# -- order and dates of the procedures -------------------------------------------------
@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about one candidate's file."""

    done: Mapping[str, date]  # step code → date recorded (current, not superseded)
    notice_end: Mapping[str, date]  # notice step → its last day
    extension_months: int = 0


@dataclass(frozen=True)
class Window:
    earliest: date | None
    latest: date | None
    #: msgid explaining the earliest date, with {since} (a date) and {earliest}.
    reason: str | None = None


def probation_end(facts: CaseFacts) -> date | None:
    start = facts.done.get("meeting")
    if start is None:
        return None
    return add_months(start, 12 + facts.extension_months)


def window(code: str, facts: CaseFacts) -> Window:
    """The earliest and latest date of procedure ``code``, from what was recorded."""
    d = facts.done
    if code == "talk" and "apply" in d:
        return Window(d["apply"], add_months(d["apply"], 1))
    if code == "opinions" and "activist" in d:
        return Window(
            add_months(d["activist"], 12),
            None,
            N_("Too early: activist since {since}, development target possible from {earliest}."),
        )
    if code == "prereview" and "notice" in facts.notice_end:
        return Window(
            facts.notice_end["notice"] + timedelta(days=1),
            None,
            N_(
                "Too early: the public notice ends {end}, "
                "the pre-review is possible from {earliest}."
            ),
        )
    if code == "approval" and "meeting" in d:
        return Window(d["meeting"], add_months(d["meeting"], 3))
    end = probation_end(facts)
    if code == "full_apply" and end is not None:
        return Window(
            add_months(end, -1),
            end,
            N_(
                "Too early: the probation since {since} ends {end}, "
                "the application is possible from {earliest}."
            ),
        )
    if code == "full_meeting" and end is not None:
        earliest = end
        if "full_notice" in facts.notice_end:
            earliest = max(end, facts.notice_end["full_notice"] + timedelta(days=1))
        return Window(
            earliest,
            add_months(end, 3),
            N_(
                "Too early: the probation since {since} ends {end}, "
                "the vote is possible from {earliest}."
            ),
        )
    return Window(None, None)


def since_of(code: str, facts: CaseFacts) -> date | None:
    """The date a waiting period of ``code`` counts from."""
    source = {
        "opinions": "activist",
        "prereview": "notice",
        "full_apply": "meeting",
        "full_meeting": "meeting",
    }.get(code)
    return facts.done.get(source) if source else None


def next_step(facts: CaseFacts) -> StepDef | None:
    """The first procedure not recorded yet (they are done in order)."""
    for step in STEPS:
        if step.code not in facts.done:
            return step
    return None


def stage_of(facts: CaseFacts) -> Stage:
    step = next_step(facts)
    return step.stage if step is not None else Stage.FULL


def status_after(code: str) -> PersonStatus | None:
    return STEP_BY_CODE[code].sets_status


@dataclass(frozen=True)
class Refusal:
    msgid: str
    params: Mapping[str, str]


def check_order(code: str, facts: CaseFacts, today: date) -> Refusal | None:
    """Why ``code`` cannot be recorded on ``today``, or None. Out of order names the
    procedure that comes first; too early names the rule and the earliest date."""
    if code not in STEP_BY_CODE:
        return Refusal(N_("Unknown procedure."), {})
    if code in facts.done:
        return Refusal(
            N_("This procedure was already recorded on {date}."),
            {"date": facts.done[code].isoformat()},
        )
    first = next_step(facts)
    if first is not None and first.code != code:
        return Refusal(
            N_("Out of order: “{missing_label}” comes first."), {"missing_label": first.label}
        )
    rule = window(code, facts)
    if rule.earliest is not None and today < rule.earliest:
        since = since_of(code, facts)
        end = probation_end(facts)
        if code == "prereview":
            end = facts.notice_end.get("notice")
        return Refusal(
            rule.reason or N_("Too early: possible from {earliest}."),
            {
                "since": since.isoformat() if since else "",
                "end": end.isoformat() if end else "",
                "earliest": rule.earliest.isoformat(),
            },
        )
    return None


def parse_hours(text: str) -> int | None:
    """``24``, ``24小时``, ``3天`` (a day of study counts 8 hours); None if unreadable."""
    cleaned = text.strip().lower().replace(" ", "")
    for suffix, factor in (("小时", 1), ("h", 1), ("天", 8), ("日", 8), ("d", 8), ("", 1)):
        if cleaned.endswith(suffix):
            number = cleaned[: len(cleaned) - len(suffix)] if suffix else cleaned
            if number.isascii() and number.isdigit() and 0 < len(number) <= 4:
                return int(number) * factor
    return None


def parse_score(text: str) -> int | None:
    cleaned = text.strip().removesuffix("分")
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= 3 and int(cleaned) <= 100:
        return int(cleaned)
    return None
