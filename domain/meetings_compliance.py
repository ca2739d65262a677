"""Cycle compliance of organisational life: per kind and period, whether the required
meeting was held (and how many came), whether the secretary gave a Party lecture this
year, and the one-time overdue alert to the secretary near a period's end."""

# i18n-domain: meetings

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import meetings_rules as rules
from domain.meetings import Alert, AttendeeInfo, MeetingInfo, MeetingService, PeriodStatus
from domain.meetings_access import reviewer_branch
from domain.periods import local_today
from domain.roles import Role
from domain.viewer import Viewer
from store import repositories as repo
from store.models import Branch, Meeting, MeetingAlert, MeetingMinutes


class ComplianceService(MeetingService):
    async def _held(self, branch_id: int, year: int) -> list[tuple[Meeting, date, int, int]]:
        """Held meetings of a year: (meeting, local date, present, invited)."""
        branch = await self._branch(branch_id)
        zone = ZoneInfo(branch.timezone)
        meetings = (
            await self.session.scalars(
                select(Meeting).where(Meeting.branch_id == branch_id, Meeting.status == "held")
            )
        ).all()
        dated = [(m, m.starts_at.astimezone(zone).date()) for m in meetings]
        inside = [(m, day) for m, day in dated if day.year == year]
        attendees = await self.attendees_of([m.id for m, _ in inside])
        result = []
        for m, day in inside:
            people = attendees.get(m.id, [])
            present = sum(a.outcome == rules.PRESENT for a in people)
            result.append((m, day, present, len(people)))
        return result

    async def compliance(self, viewer: Viewer, year: int) -> tuple[list[PeriodStatus], bool]:
        """Per kind and period of ``year``: held or not (secretary); and whether the
        secretary gave a Party lecture this year."""
        branch_id = self._secretary(viewer)
        branch = await self._branch(branch_id)
        today = local_today(self.clock.now(), branch.timezone)
        held = await self._held(branch_id, year)
        statuses = []
        for kind in rules.KINDS:
            for period in rules.required_periods(kind, year):
                inside = [
                    h for h in held if h[0].kind == kind and period.start <= h[1] <= period.end
                ]
                state = rules.period_state(period, bool(inside), today)
                if state == rules.UPCOMING:
                    continue
                best = max(inside, key=lambda h: h[2], default=None)
                statuses.append(
                    PeriodStatus(
                        kind, period, state, best[2] if best else 0, best[3] if best else 0
                    )
                )
        secretaries = {
            r.person.id
            for r in await repo.branch_members(self.session, branch_id, roles=[Role.SECRETARY])
        }
        lectured = any(
            h[0].kind == rules.LECTURE and h[0].lecturer_person_id in secretaries for h in held
        )
        return statuses, lectured

    # -- overdue alerts (periodic) ------------------------------------------------------
    async def branch_ids(self) -> list[int]:
        return list((await self.session.scalars(select(Branch.id).order_by(Branch.id))).all())

    async def due_alerts(self, branch_id: int) -> list[Alert]:
        """Periods about to end with their meeting not held, not yet alerted: each is
        recorded (unique per branch, kind and period) and returned once."""
        branch = await self._branch(branch_id)
        today = local_today(self.clock.now(), branch.timezone)
        held = await self._held(branch_id, today.year)
        secretaries = await self._secretaries(branch_id)
        if not secretaries:
            return []
        alerts: list[Alert] = []
        for kind in rules.KINDS:
            for period in rules.required_periods(kind, today.year):
                done = any(h[0].kind == kind and period.start <= h[1] <= period.end for h in held)
                if not rules.alert_due(period, done, today):
                    continue
                try:
                    async with self.session.begin_nested():
                        self.session.add(
                            MeetingAlert(
                                branch_id=branch_id,
                                kind=kind,
                                period=period.key,
                                telegram_user_id=secretaries[0],
                                sent_at=self.clock.now(),
                            )
                        )
                except IntegrityError:
                    continue
                await self.audit(
                    "meeting.overdue_alert",
                    branch_id=branch_id,
                    subject_type="meeting_kind",
                    subject_id=kind,
                    period=period.key,
                )
                alerts.extend(Alert(branch_id, kind, period, t) for t in secretaries)
        return alerts

    async def year_register(
        self, viewer: Viewer, year: int
    ) -> tuple[list[RegisterRow], list[tuple[int, str]]]:
        """The year's meetings for the register (组织生活记录本): each with its
        attendance and latest minutes, and the branch's members (the matrix columns).
        The secretary and reviewers only."""
        branch = await self._branch(reviewer_branch(viewer))
        zone = ZoneInfo(branch.timezone)
        meetings = (
            await self.session.scalars(
                select(Meeting)
                .where(Meeting.branch_id == branch.id, Meeting.status != "cancelled")
                .order_by(Meeting.starts_at, Meeting.id)
            )
        ).all()
        meetings = [m for m in meetings if m.starts_at.astimezone(zone).year == year]
        attendees_by_meeting = await self.attendees_of([m.id for m in meetings])
        rows: list[RegisterRow] = []
        people: dict[int, str] = {}
        for m in meetings:
            attendees = attendees_by_meeting.get(m.id, [])
            for a in attendees:
                people.setdefault(a.person_id, a.name)
            minutes = await self.session.scalar(
                select(MeetingMinutes)
                .where(MeetingMinutes.meeting_id == m.id)
                .order_by(MeetingMinutes.version.desc())
                .limit(1)
            )
            rows.append(
                RegisterRow(
                    await self._info(m),
                    attendees,
                    minutes.text if minutes is not None else "",
                    minutes.version if minutes is not None else 0,
                    len(minutes.files or []) if minutes is not None else 0,
                )
            )
        await self.audit(
            "meeting.export", actor=viewer, subject_type="year", subject_id=year, meetings=len(rows)
        )
        return rows, sorted(people.items(), key=lambda p: (p[1], p[0]))


@dataclass(frozen=True)
class RegisterRow:
    meeting: MeetingInfo
    attendees: list[AttendeeInfo]
    minutes: str
    version: int
    files: int
