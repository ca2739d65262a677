# i18n-domain: appraisal
"""The democratic appraisal's 组织生活会 (seed 002: the appraisal is held together with
the organisational life meeting in the fourth quarter): the secretary schedules the
year's life meeting from ``/appraisal`` (through ``MeetingService.create``, so notices,
check-in, roll call, points and compliance work as for any meeting) or picks one already
scheduled; the link is ``appraisals.meeting_id``. The appraisal's screens show the
meeting and its attendance; the meeting's notice and record show the appraisal on the
agenda (``MeetingService`` reads the link back, see ``MeetingInfo.appraisal_year``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select

from domain import meetings_rules as mrules
from domain.appraisal import AppraisalService
from domain.appraisal_base import AppraisalInfo
from domain.errors import Conflict, NotFound
from domain.meetings import AttendeeInfo, MeetingInfo, MeetingService
from domain.periods import local_today
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import Appraisal, Meeting

#: When the meeting the button schedules starts (local time).
MEETING_TIME = time(14, 30)
#: The title the button gives it (the secretary can rename it with the meetings feature).
MEETING_TITLE = "{year}年度组织生活会暨民主评议党员"


@dataclass(frozen=True)
class LinkedMeeting:
    """The appraisal's meeting with its attendance (fixed when it was scheduled)."""

    meeting: MeetingInfo
    attendees: list[AttendeeInfo]

    @property
    def held(self) -> bool:
        return self.meeting.status == "held"

    def count(self, outcome: str) -> int:
        return sum(a.outcome == outcome for a in self.attendees)

    def outcome_of(self, person_id: int) -> str | None:
        """present / on_leave / absent, or None: not concerned."""
        return next((a.outcome for a in self.attendees if a.person_id == person_id), None)


def proposed_day(info: AppraisalInfo, today: date) -> date:
    """The day the button schedules the meeting on: the appraisal's last day (the
    meeting closes the appraisal), or tomorrow when that has passed."""
    last = info.local_deadline().date()
    return last if last > today else today + timedelta(days=1)


class AppraisalMeetingService(AppraisalService):
    def _meetings(self) -> MeetingService:
        return MeetingService(self.session, self.clock)

    async def linked(self, viewer: Viewer) -> LinkedMeeting | None:
        """The meeting of the branch's latest appraisal (a member of the branch)."""
        info = await self.current(viewer)
        if info is None or info.meeting_id is None:
            return None
        meetings = self._meetings()
        try:
            meeting = await meetings.info(viewer, info.meeting_id)
        except NotFound:
            return None
        return LinkedMeeting(meeting, await meetings.attendees(meeting.id))

    async def life_meetings(self, viewer: Viewer) -> tuple[AppraisalInfo, list[MeetingInfo]]:
        """The appraisal and the branch's life meetings of its year that it can be
        linked to (scheduled or held, not called off), by date (secretary)."""
        branch_id = self._secretary(viewer)
        _row, info = await self._row(branch_id)
        rows = (
            await self.session.scalars(
                select(Meeting)
                .where(
                    Meeting.branch_id == branch_id,
                    Meeting.kind == mrules.LIFE_MEETING,
                    Meeting.status != "cancelled",
                )
                .order_by(Meeting.starts_at, Meeting.id)
            )
        ).all()
        meetings = self._meetings()
        found = [await meetings.info(viewer, m.id) for m in rows]
        return info, [m for m in found if m.local_start.year == info.year]

    async def pick(self, viewer: Viewer, meeting_id: int) -> tuple[MeetingInfo, bool]:
        """Link the appraisal to one of the year's life meetings (secretary, audited by
        ``link_meeting``). Returns the meeting and whether the link changed (a double
        tap changes nothing)."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        self._editable(row)
        _info, choices = await self.life_meetings(viewer)
        meeting = next((m for m in choices if m.id == meeting_id), None)
        if meeting is None:
            # a forged or stale id: audited as a refusal
            raise NotFound(N_("This is not an organisational life meeting of your branch."))
        if info.meeting_id == meeting.id:
            return meeting, False
        await self._unique(meeting.id, row.id)
        await self.link_meeting(viewer, meeting.id)
        return meeting, True

    async def _unique(self, meeting_id: int, appraisal_id: int) -> None:
        other = await self.session.scalar(
            select(Appraisal.year).where(
                Appraisal.meeting_id == meeting_id, Appraisal.id != appraisal_id
            )
        )
        if other is not None:
            raise Conflict(
                N_("This meeting already holds the democratic appraisal of {year}."), year=other
            )

    async def schedule(self, viewer: Viewer) -> tuple[MeetingInfo, int]:
        """Schedule the year's life meeting and link it (secretary; both audited).
        Returns the meeting and how many it concerns. Refused when a meeting is linked
        already (a double tap schedules one meeting)."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        self._editable(row)
        if info.meeting_id is not None:
            linked = await self.linked(viewer)
            if linked is not None and linked.meeting.status != "cancelled":
                raise Conflict(
                    N_("The appraisal is already linked to meeting No. {id}."),
                    id=info.meeting_id,
                )
        today = local_today(self.clock.now(), info.timezone)
        new = mrules.NewMeeting(
            kind=mrules.LIFE_MEETING,
            day=proposed_day(info, today),
            at=MEETING_TIME,
            title=MEETING_TITLE.format(year=info.year),
        )
        meetings = self._meetings()
        meeting, invited = await meetings.create(viewer, new)
        await self.link_meeting(viewer, meeting.id)
        return await meetings.info(viewer, meeting.id), invited  # with the agenda now

    async def unlink(self, viewer: Viewer) -> bool:
        """Remove the link (secretary, audited); False when there was none."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        self._editable(row)
        if info.meeting_id is None:
            return False
        await self.link_meeting(viewer, None)
        return True
