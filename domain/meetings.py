"""Organisational life (组织生活): meetings, notices, leave, check-in, roll call,
closing a meeting (attendance points), compliance per cycle and overdue alerts.
Minutes live in ``domain.meetings_minutes``; the pure rules in ``domain.meetings_rules``."""

# i18n-domain: meetings

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from domain import meetings_rules as rules
from domain.base import Service
from domain.errors import Conflict, NotAllowed, NotFound
from domain.meetings_access import member_branch, secretary_branch
from domain.points import PointsService
from domain.review import ensure_not_author
from domain.roles import PersonStatus, Role
from domain.roster_flags import register_flag_column
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Appraisal,
    Branch,
    LeadingCadre,
    Meeting,
    MeetingAttendance,
    Person,
    TelegramAccount,
)

MAX_REASON = 500

#: Days before a meeting its notice goes out (branch settings override them).
NOTICE_DAYS = 1
CADRE_NOTICE_DAYS = 3
#: How far back a meeting that was held may still be entered.
RECORD_BACK_DAYS = 60


@dataclass(frozen=True)
class MeetingInfo:
    id: int
    branch_id: int
    kind: str
    title: str
    starts_at: datetime
    local_start: datetime
    place: str | None
    party_group: str | None
    chair_person_id: int | None
    chair_name: str | None
    minutes_person_id: int | None
    minutes_name: str | None
    status: str
    lecturer_person_id: int | None = None
    lecturer_name: str | None = None
    #: The democratic appraisal on this (组织生活会) meeting's agenda: its year and
    #: deadline (local), when an appraisal is linked to it (``appraisals.meeting_id``).
    appraisal_year: int | None = None
    appraisal_deadline: datetime | None = None


@dataclass(frozen=True)
class AttendeeInfo:
    attendance_id: int
    person_id: int
    name: str
    telegram_user_id: int | None
    response: str
    leave_status: str | None
    leave_reason: str | None
    checked_in_at: datetime | None
    late: bool

    @property
    def outcome(self) -> str:
        return rules.outcome(self.checked_in_at is not None, self.leave_status)


@dataclass(frozen=True)
class Notice:
    """A notice due to one person (the handler renders and queues it)."""

    meeting: MeetingInfo
    attendance_id: int
    telegram_user_id: int


@dataclass(frozen=True)
class LeaveRequest:
    meeting: MeetingInfo
    attendance_id: int
    person_name: str
    reason: str
    secretaries: list[int]  # who decides (telegram ids)


@dataclass(frozen=True)
class LeaveDecision:
    meeting: MeetingInfo
    approved: bool
    telegram_user_id: int | None
    person_name: str


@dataclass(frozen=True)
class CheckIn:
    meeting: MeetingInfo
    late: bool
    already: bool


@dataclass(frozen=True)
class CloseResult:
    meeting: MeetingInfo
    present: int
    on_leave: int
    absent: int
    granted: int


@dataclass(frozen=True)
class PeriodStatus:
    kind: str
    period: rules.Period
    state: str
    present: int
    invited: int


@dataclass(frozen=True)
class Alert:
    branch_id: int
    kind: str
    period: rules.Period
    telegram_user_id: int


register_flag_column(
    "leading_cadre",
    ("leading cadre", "领导干部", "党员领导干部", "領導幹部"),
    LeadingCadre,
    action="meeting.cadre",
    error=N_("Line {line}: leading cadre “{value}” must be 是 or 否."),
)


class MeetingService(Service):
    # -- helpers ----------------------------------------------------------------------
    _member = staticmethod(member_branch)
    _secretary = staticmethod(secretary_branch)

    async def _branch(self, branch_id: int) -> Branch:
        branch = await self.session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(N_("This meeting does not exist."))
        return branch

    async def _info(self, m: Meeting) -> MeetingInfo:
        branch = await self._branch(m.branch_id)
        names = await repo.person_names(
            self.session, {m.chair_person_id, m.minutes_person_id, m.lecturer_person_id}
        )
        zone = ZoneInfo(branch.timezone)
        appraisal = (
            await self.session.execute(
                select(Appraisal.year, Appraisal.deadline).where(Appraisal.meeting_id == m.id)
            )
        ).first()
        return MeetingInfo(
            id=m.id,
            branch_id=m.branch_id,
            kind=m.kind,
            title=m.title,
            starts_at=m.starts_at,
            local_start=m.starts_at.astimezone(zone),
            place=m.place,
            party_group=m.party_group,
            chair_person_id=m.chair_person_id,
            chair_name=names.get(m.chair_person_id or 0),
            minutes_person_id=m.minutes_person_id,
            minutes_name=names.get(m.minutes_person_id or 0),
            status=m.status,
            lecturer_person_id=m.lecturer_person_id,
            lecturer_name=names.get(m.lecturer_person_id or 0),
            appraisal_year=appraisal[0] if appraisal else None,
            appraisal_deadline=appraisal[1].astimezone(zone) if appraisal else None,
        )

    async def _meeting(self, viewer: Viewer, meeting_id: int) -> Meeting:
        branch_id = self._member(viewer)
        m = await self.session.get(Meeting, meeting_id)
        if m is None or m.branch_id != branch_id:
            raise NotFound(N_("This meeting does not exist."))
        return m

    async def _own_attendance(self, viewer: Viewer, m: Meeting) -> MeetingAttendance:
        row = await self.session.scalar(
            select(MeetingAttendance).where(
                MeetingAttendance.meeting_id == m.id,
                MeetingAttendance.person_id == viewer.person_id,
            )
        )
        if row is None:
            raise NotAllowed(N_("This meeting does not concern you."))
        return row

    async def _visible(self, viewer: Viewer, meeting_id: int) -> Meeting:
        """A meeting whose record (attendance, minutes) the viewer may read: the
        secretary, reviewers, the people it concerns (a committee meeting's minutes are
        not every member's)."""
        m = await self._meeting(viewer, meeting_id)
        if not viewer.is_reviewer and viewer.person_id not in (
            m.chair_person_id,
            m.minutes_person_id,
        ):
            await self._own_attendance(viewer, m)
        return m

    @staticmethod
    def _open(m: Meeting) -> None:
        if m.status != "scheduled":
            raise Conflict(N_("This meeting is closed."))

    async def _secretaries(self, branch_id: int) -> list[int]:
        rows = await repo.branch_members(self.session, branch_id, roles=[Role.SECRETARY])
        return [r.account.telegram_user_id for r in rows if r.account is not None]

    async def _secretary_ids(self, branch_id: int) -> set[int]:
        rows = await repo.branch_members(self.session, branch_id, roles=[Role.SECRETARY])
        return {r.person.id for r in rows}

    async def _leave_deciders(self, branch_id: int, person_id: int) -> list[int]:
        """Who decides this person's leave (Telegram ids): the secretary; for the
        secretary's own, the reviewers (nobody decides their own case)."""
        if person_id not in await self._secretary_ids(branch_id):
            return await self._secretaries(branch_id)
        rows = await repo.branch_reviewers(self.session, branch_id)
        return [
            r.account.telegram_user_id
            for r in rows
            if r.account is not None and r.person.id != person_id
        ]

    async def info(self, viewer: Viewer, meeting_id: int) -> MeetingInfo:
        return await self._info(await self._meeting(viewer, meeting_id))

    # -- scheduling -------------------------------------------------------------------
    async def _invitees(self, branch_id: int, audience: str, group: str | None) -> list[int]:
        party = [PersonStatus.MEMBER, PersonStatus.PROBATIONARY]
        if audience == rules.AUDIENCE_COMMITTEE:
            rows = await repo.branch_members(
                self.session, branch_id, roles=[Role.COMMITTEE, Role.SECRETARY]
            )
        else:
            rows = await repo.branch_members(self.session, branch_id, statuses=party)
            if audience == rules.AUDIENCE_GROUP and group is not None:
                rows = [r for r in rows if r.membership.party_group == group]
        return [r.person.id for r in rows]

    async def create(self, viewer: Viewer, new: rules.NewMeeting) -> tuple[MeetingInfo, int]:
        """Schedule a meeting (secretary); the people concerned are fixed now. Returns
        the meeting and how many it concerns."""
        branch_id = self._secretary(viewer)
        branch = await self._branch(branch_id)
        starts_at = datetime.combine(new.day, new.at, tzinfo=ZoneInfo(branch.timezone))
        # A meeting held recently may be entered afterwards (roll call by the chair).
        if starts_at < self.clock.now() - timedelta(days=RECORD_BACK_DAYS):
            raise Conflict(N_("This date is more than {n} days ago."), n=RECORD_BACK_DAYS)
        audience = rules.KIND_AUDIENCE[new.kind]
        invitees = await self._invitees(branch_id, audience, new.party_group)
        if not invitees:
            raise Conflict(N_("Nobody in the branch is concerned by this meeting."))
        now = self.clock.now()
        m = Meeting(
            branch_id=branch_id,
            kind=new.kind,
            title=new.title,
            starts_at=starts_at,
            place=new.place,
            audience=audience,
            party_group=new.party_group,
            chair_person_id=viewer.person_id,
            minutes_person_id=viewer.person_id,
            lecturer_person_id=viewer.person_id if new.kind == rules.LECTURE else None,
            status="scheduled",
            created_by_person_id=viewer.person_id,
            created_at=now,
        )
        self.session.add(m)
        await self.session.flush()
        for pid in invitees:
            self.session.add(MeetingAttendance(meeting_id=m.id, person_id=pid, updated_at=now))
        await self.session.flush()
        await self.audit(
            "meeting.create",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            kind=new.kind,
            title=new.title,
            starts_at=starts_at.isoformat(),
            invited=len(invitees),
        )
        return await self._info(m), len(invitees)

    async def people(self, viewer: Viewer, page: int, per_page: int) -> repo.MemberPage:
        """A page of the branch's current members (secretary), by name (cut in SQL)."""
        branch_id = self._secretary(viewer)
        return await repo.branch_member_page(self.session, branch_id, page, per_page)

    async def assign(
        self, viewer: Viewer, meeting_id: int, role: str, person_id: int
    ) -> MeetingInfo:
        """Name the chair, the minute-taker or the lecturer (secretary)."""
        branch_id = self._secretary(viewer)
        m = await self._meeting(viewer, meeting_id)
        self._open(m)
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This person is not a member of your branch."))
        column = {"c": "chair_person_id", "m": "minutes_person_id", "l": "lecturer_person_id"}
        if role not in column or (role == "l" and m.kind != rules.LECTURE):
            raise NotFound(N_("This meeting does not exist."))
        setattr(m, column[role], person_id)
        await self.session.flush()
        await self.audit(
            "meeting.assign",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            role=column[role],
            person=person_id,
        )
        return await self._info(m)

    # -- notices ----------------------------------------------------------------------
    async def due_notices(self, limit: int = 500) -> list[Notice]:
        """Notices due now: ``NOTICE_DAYS`` before the start, ``CADRE_NOTICE_DAYS`` for
        leading cadres (branch settings ``meeting_notice_days`` / ``cadre_notice_days``).
        Marked as sent by ``mark_notified`` in the same transaction as their delivery."""
        now = self.clock.now()
        horizon = now + timedelta(days=62)
        rows = (
            await self.session.execute(
                select(Meeting, MeetingAttendance, TelegramAccount.telegram_user_id, Branch)
                .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
                .join(TelegramAccount, TelegramAccount.person_id == MeetingAttendance.person_id)
                .join(Branch, Branch.id == Meeting.branch_id)
                .where(
                    Meeting.status == "scheduled",
                    Meeting.starts_at > now,
                    Meeting.starts_at <= horizon,
                    MeetingAttendance.notified_at.is_(None),
                )
                .order_by(Meeting.starts_at, MeetingAttendance.id)
            )
        ).all()
        cadres = set(
            (
                await self.session.scalars(
                    select(LeadingCadre.person_id).where(
                        LeadingCadre.person_id.in_({a.person_id for _m, a, _t, _b in rows})
                    )
                )
            ).all()
        )
        found: list[Notice] = []
        infos: dict[int, MeetingInfo] = {}
        for m, att, telegram_id, branch in rows:
            settings: dict[str, Any] = branch.settings or {}
            days = int(
                settings.get("cadre_notice_days", CADRE_NOTICE_DAYS)
                if att.person_id in cadres
                else settings.get("meeting_notice_days", NOTICE_DAYS)
            )
            if now < m.starts_at - timedelta(days=days):
                continue
            if m.id not in infos:
                infos[m.id] = await self._info(m)
            found.append(Notice(infos[m.id], att.id, telegram_id))
            if len(found) >= limit:
                break
        return found

    async def mark_notified(self, attendance_id: int) -> bool:
        result = await self.session.execute(
            update(MeetingAttendance)
            .where(MeetingAttendance.id == attendance_id, MeetingAttendance.notified_at.is_(None))
            .values(notified_at=self.clock.now())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- answers ----------------------------------------------------------------------
    async def attend(self, viewer: Viewer, meeting_id: int) -> tuple[MeetingInfo, bool]:
        """The member will attend; (meeting, changed). A pending leave is withdrawn."""
        m = await self._meeting(viewer, meeting_id)
        self._open(m)
        att = await self._own_attendance(viewer, m)
        if att.response == "attend":
            return await self._info(m), False
        if att.leave_status == "approved":
            raise Conflict(N_("Your leave was approved; ask the secretary to change it."))
        att.response, att.leave_status, att.updated_at = "attend", None, self.clock.now()
        await self.session.flush()
        await self.audit("meeting.attend", actor=viewer, subject_type="meeting", subject_id=m.id)
        return await self._info(m), True

    async def check_leave(self, viewer: Viewer, meeting_id: int) -> MeetingInfo:
        """Whether the member may ask for leave now (before the reason is typed)."""
        m = await self._meeting(viewer, meeting_id)
        self._open(m)
        att = await self._own_attendance(viewer, m)
        if att.leave_status in ("pending", "approved"):
            raise Conflict(N_("You have already asked for leave."))
        if att.checked_in_at is not None:
            raise Conflict(N_("You have already checked in."))
        return await self._info(m)

    async def ask_leave(self, viewer: Viewer, meeting_id: int, reason: str) -> LeaveRequest:
        reason = reason.strip()
        if not reason:
            raise Conflict(N_("Please give a reason."))
        if len(reason) > MAX_REASON:
            raise Conflict(N_("The reason is too long (at most {n} characters)."), n=MAX_REASON)
        info = await self.check_leave(viewer, meeting_id)
        m = await self._meeting(viewer, meeting_id)
        att = await self._own_attendance(viewer, m)
        att.response, att.leave_status, att.leave_reason = "leave", "pending", reason
        att.updated_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "meeting.leave.ask",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            reason=reason,
        )
        return LeaveRequest(
            info,
            att.id,
            viewer.full_name or "",
            reason,
            await self._leave_deciders(m.branch_id, att.person_id),
        )

    async def decide_leave(
        self, viewer: Viewer, attendance_id: int, approve: bool
    ) -> LeaveDecision:
        if not viewer.is_reviewer or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        branch_id = viewer.branch_id
        att = await self.session.get(MeetingAttendance, attendance_id)
        m = None if att is None else await self.session.get(Meeting, att.meeting_id)
        if att is None or m is None or m.branch_id != branch_id:
            raise NotFound(N_("This meeting does not exist."))
        # The secretary decides the members' leave; a reviewer the secretary's own.
        if not viewer.is_secretary and att.person_id not in await self._secretary_ids(branch_id):
            raise NotAllowed(N_("Only the branch secretary can do this."))
        await ensure_not_author(
            self,
            viewer,
            att.person_id,
            branch_id=branch_id,
            subject_type="meeting",
            subject_id=m.id,
        )
        if att.leave_status != "pending":
            raise Conflict(N_("This leave request was already decided or withdrawn."))
        att.leave_status = "approved" if approve else "refused"
        att.leave_decided_by_person_id = viewer.person_id
        att.updated_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "meeting.leave.approve" if approve else "meeting.leave.refuse",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            person=att.person_id,
        )
        account = await self.session.scalar(
            select(TelegramAccount.telegram_user_id).where(
                TelegramAccount.person_id == att.person_id
            )
        )
        name = (await repo.person_names(self.session, {att.person_id})).get(att.person_id, "")
        return LeaveDecision(await self._info(m), approve, account, name)

    # -- check-in and roll call --------------------------------------------------------
    async def check_in(self, viewer: Viewer, meeting_id: int) -> CheckIn:
        m = await self._meeting(viewer, meeting_id)
        self._open(m)
        att = await self._own_attendance(viewer, m)
        info = await self._info(m)
        if att.checked_in_at is not None:
            return CheckIn(info, att.late, True)
        now = self.clock.now()
        state = rules.checkin_state(m.starts_at, now)
        if state == rules.EARLY:
            raise Conflict(
                N_("Check-in opens {minutes} minutes before the start."),
                minutes=int(rules.CHECKIN_BEFORE.total_seconds() // 60),
            )
        if state == rules.CLOSED:
            raise Conflict(N_("Check-in is closed; ask the chair to record your attendance."))
        att.checked_in_at, att.late, att.updated_at = now, state == rules.LATE, now
        await self.session.flush()
        await self.audit(
            "meeting.checkin", actor=viewer, subject_type="meeting", subject_id=m.id, late=att.late
        )
        return CheckIn(info, att.late, False)

    def _may_run(self, viewer: Viewer, m: Meeting) -> None:
        if not (viewer.is_secretary or viewer.person_id == m.chair_person_id):
            raise NotAllowed(N_("Only the chair or the secretary can do this."))

    async def check_run(self, viewer: Viewer, meeting_id: int) -> MeetingInfo:
        m = await self._meeting(viewer, meeting_id)
        self._may_run(viewer, m)
        return await self._info(m)

    async def tick(self, viewer: Viewer, meeting_id: int, person_id: int) -> bool:
        """The chair marks a person present (or, again, not present); the new state."""
        m = await self._meeting(viewer, meeting_id)
        self._may_run(viewer, m)
        self._open(m)
        att = await self.session.scalar(
            select(MeetingAttendance).where(
                MeetingAttendance.meeting_id == m.id, MeetingAttendance.person_id == person_id
            )
        )
        if att is None:
            raise NotFound(N_("This meeting does not exist."))
        now = self.clock.now()
        if att.checked_in_at is None:  # the chair's tick: present, lateness not judged
            att.checked_in_at, att.checked_by_person_id, att.late = now, viewer.person_id, False
        else:
            att.checked_in_at, att.checked_by_person_id, att.late = None, None, False
        att.updated_at = now
        await self.session.flush()
        await self.audit(
            "meeting.tick",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            person=person_id,
            present=att.checked_in_at is not None,
        )
        return att.checked_in_at is not None

    async def attendees(self, meeting_id: int) -> list[AttendeeInfo]:
        return (await self.attendees_of([meeting_id])).get(meeting_id, [])

    async def attendees_of(self, meeting_ids: list[int]) -> dict[int, list[AttendeeInfo]]:
        """The attendees of several meetings in one query, by meeting id (a meeting
        without attendees is absent)."""
        if not meeting_ids:
            return {}
        rows = (
            await self.session.execute(
                select(MeetingAttendance, Person.full_name, TelegramAccount.telegram_user_id)
                .join(Person, Person.id == MeetingAttendance.person_id)
                .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
                .where(MeetingAttendance.meeting_id.in_(meeting_ids))
                .order_by(Person.full_name, Person.id)
            )
        ).all()
        result: dict[int, list[AttendeeInfo]] = {}
        for a, name, tid in rows:
            result.setdefault(a.meeting_id, []).append(
                AttendeeInfo(
                    a.id,
                    a.person_id,
                    name,
                    tid,
                    a.response,
                    a.leave_status,
                    a.leave_reason,
                    a.checked_in_at,
                    a.late,
                )
            )
        return result

    async def record(
        self, viewer: Viewer, meeting_id: int
    ) -> tuple[MeetingInfo, list[AttendeeInfo]]:
        m = await self._visible(viewer, meeting_id)
        return await self._info(m), await self.attendees(m.id)

    # -- closing ----------------------------------------------------------------------
    async def close(self, viewer: Viewer, meeting_id: int) -> CloseResult:
        """The meeting was held: attendance is final and earns points (once per meeting
        and person: the ledger's unique source key)."""
        m = await self._meeting(viewer, meeting_id)
        self._may_run(viewer, m)
        if m.status != "scheduled":
            raise Conflict(N_("This meeting is already closed."))
        if self.clock.now() < m.starts_at:
            raise Conflict(N_("A meeting can be closed once it has started."))
        m.status, m.closed_at = "held", self.clock.now()
        await self.session.flush()
        points = PointsService(self.session, self.clock)
        day = m.starts_at.astimezone(ZoneInfo((await self._branch(m.branch_id)).timezone)).date()
        counts = {rules.PRESENT: 0, rules.ON_LEAVE: 0, rules.ABSENT: 0}
        granted = 0
        for a in await self.attendees(m.id):
            result = a.outcome
            counts[result] += 1
            item = rules.points_item(m.kind, result)
            if item is None:
                continue
            entry = await points.grant_system(
                a.person_id,
                item,
                occurred_on=day,
                source="meeting",
                source_ref=f"{m.id}:{a.person_id}",
                note=m.title,
            )
            granted += entry is not None
        if m.kind == rules.LECTURE and m.lecturer_person_id is not None:
            entry = await points.grant_system(
                m.lecturer_person_id,
                rules.LECTURER_ITEM,
                occurred_on=day,
                source="meeting",
                source_ref=f"{m.id}:lecturer",
                note=m.title,
            )
            granted += entry is not None
        await self.audit(
            "meeting.close",
            actor=viewer,
            subject_type="meeting",
            subject_id=m.id,
            present=counts[rules.PRESENT],
            leave=counts[rules.ON_LEAVE],
            absent=counts[rules.ABSENT],
        )
        return CloseResult(
            await self._info(m),
            counts[rules.PRESENT],
            counts[rules.ON_LEAVE],
            counts[rules.ABSENT],
            granted,
        )

    async def cancel(self, viewer: Viewer, meeting_id: int) -> tuple[MeetingInfo, list[int]]:
        """Call a scheduled meeting off (secretary); those already notified are told:
        their Telegram ids."""
        self._secretary(viewer)
        m = await self._meeting(viewer, meeting_id)
        self._open(m)
        m.status = "cancelled"
        await self.session.flush()
        await self.audit("meeting.cancel", actor=viewer, subject_type="meeting", subject_id=m.id)
        told = (
            await self.session.scalars(
                select(TelegramAccount.telegram_user_id)
                .join(MeetingAttendance, MeetingAttendance.person_id == TelegramAccount.person_id)
                .where(
                    MeetingAttendance.meeting_id == m.id,
                    MeetingAttendance.notified_at.is_not(None),
                    TelegramAccount.person_id != viewer.person_id,
                )
            )
        ).all()
        return await self._info(m), list(told)

    # -- views ------------------------------------------------------------------------
    async def upcoming(self, viewer: Viewer, limit: int = 10) -> list[MeetingInfo]:
        """Scheduled meetings of the viewer's branch; for a member, those concerning them."""
        branch_id = self._member(viewer)
        stmt = (
            select(Meeting)
            .where(Meeting.branch_id == branch_id, Meeting.status == "scheduled")
            .order_by(Meeting.starts_at)
            .limit(limit)
        )
        if not viewer.is_secretary:
            stmt = stmt.join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id).where(
                MeetingAttendance.person_id == viewer.person_id
            )
        return [await self._info(m) for m in (await self.session.scalars(stmt)).all()]

    async def my_year(self, viewer: Viewer, year: int) -> dict[str, int]:
        """The member's attendance of held meetings this year: present/leave/absent."""
        branch_id = self._member(viewer)
        branch = await self._branch(branch_id)
        zone = ZoneInfo(branch.timezone)
        rows = (
            await self.session.execute(
                select(Meeting.starts_at, MeetingAttendance)
                .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
                .where(
                    Meeting.branch_id == branch_id,
                    Meeting.status == "held",
                    MeetingAttendance.person_id == viewer.person_id,
                )
            )
        ).all()
        counts = {rules.PRESENT: 0, rules.ON_LEAVE: 0, rules.ABSENT: 0}
        for starts_at, a in rows:
            if starts_at.astimezone(zone).year == year:
                counts[rules.outcome(a.checked_in_at is not None, a.leave_status)] += 1
        return counts
