"""Meetings as occurrences of the branch calendar's rules (domain/calendar.py): the
secretary's upcoming general, committee and party group meetings and theme Party days
that have no meeting yet, and scheduling one from its occurrence (once: a unique key on
rule and occurrence)."""

# i18n-domain: meetings

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import calendar as cal
from domain import meetings_rules as rules
from domain.errors import Conflict, NotFound
from domain.meetings import MeetingInfo, MeetingService
from domain.periods import local_today
from domain.reminders import schedule_of
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import CalendarRule, Meeting

#: Calendar kinds that are meetings, and the meeting kind each one is.
CALENDAR_KINDS: dict[str, str] = {
    cal.GENERAL_MEETING: rules.PARTY_CONGRESS,
    cal.COMMITTEE_MEETING: rules.COMMITTEE,
    cal.GROUP_MEETING: rules.GROUP,
    cal.THEME_DAY: rules.THEME_DAY,
}
DEFAULT_TIME = time(15, 0)


@dataclass(frozen=True)
class Suggestion:
    rule_id: int
    kind: str  # meeting kind
    day: date
    at: time
    title: str | None  # the rule's own title


class CalendarMeetingService(MeetingService):
    async def _rules(self, branch_id: int) -> list[CalendarRule]:
        return list(
            (
                await self.session.scalars(
                    select(CalendarRule)
                    .where(
                        CalendarRule.branch_id == branch_id,
                        CalendarRule.enabled.is_(True),
                        CalendarRule.kind.in_(list(CALENDAR_KINDS)),
                    )
                    .order_by(CalendarRule.id)
                )
            ).all()
        )

    @staticmethod
    def _at(rule: CalendarRule) -> time:
        return cal.parse_hhmm(rule.event_time) if rule.event_time else DEFAULT_TIME

    async def suggestions(self, viewer: Viewer, days: int = 45, limit: int = 8) -> list[Suggestion]:
        """The next calendar meetings with no meeting scheduled for them (secretary)."""
        branch_id = self._secretary(viewer)
        branch = await self._branch(branch_id)
        today = local_today(self.clock.now(), branch.timezone)
        found = []
        for rule in await self._rules(branch_id):
            taken = set(
                (
                    await self.session.scalars(
                        select(Meeting.occurrence).where(Meeting.calendar_rule_id == rule.id)
                    )
                ).all()
            )
            for day in cal.occurrences(schedule_of(rule), today, today + timedelta(days=days)):
                if day not in taken:
                    found.append(
                        Suggestion(
                            rule.id, CALENDAR_KINDS[rule.kind], day, self._at(rule), rule.title
                        )
                    )
        return sorted(found, key=lambda s: (s.day, s.at, s.rule_id))[:limit]

    async def schedule(
        self, viewer: Viewer, rule_id: int, day: date, title_for: Callable[[str, date], str]
    ) -> tuple[MeetingInfo, int]:
        """Schedule the meeting of one occurrence of a calendar rule (secretary); its
        title is the rule's own or ``title_for(kind, day)`` (in the secretary's language)."""
        branch_id = self._secretary(viewer)
        rule = await self.session.get(CalendarRule, rule_id)
        if rule is None or rule.branch_id != branch_id or rule.kind not in CALENDAR_KINDS:
            raise NotFound(N_("This calendar entry does not exist."))
        if cal.occurrences(schedule_of(rule), day, day) != [day]:
            raise NotFound(N_("This calendar entry does not exist."))
        existing = await self.session.scalar(
            select(Meeting.id).where(Meeting.calendar_rule_id == rule.id, Meeting.occurrence == day)
        )
        if existing is not None:
            raise Conflict(N_("This meeting is already scheduled: /meeting_{id}"), id=existing)
        kind = CALENDAR_KINDS[rule.kind]
        new = rules.NewMeeting(
            kind, day, self._at(rule), (rule.title or title_for(kind, day))[: rules.MAX_TITLE]
        )
        try:
            async with self.session.begin_nested():
                info, invited = await self.create(viewer, new)
                meeting = await self.session.get(Meeting, info.id)
                assert meeting is not None
                meeting.calendar_rule_id, meeting.occurrence = rule.id, day
                await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(N_("This meeting is already scheduled.")) from exc
        return info, invited
