# i18n-domain: appraisal
"""What the parts of the appraisal service share: finding the branch's appraisal, who is
appraised, the scoring group's seats, the voting window and the rights checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.appraisal_rules import AppraisalSettings
from domain.base import Service
from domain.errors import Conflict, NotAllowed, NotFound
from domain.periods import local_today
from domain.roles import PersonStatus
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import (
    Appraisal,
    AppraisalGroupMember,
    Branch,
    Membership,
    Person,
    TelegramAccount,
)

OPEN, FINAL, PUBLISHED = "open", "final", "published"
COMMITTEE, MEMBER_REP, PUBLIC_REP = "committee", "member_rep", "public_rep"

NO_APPRAISAL = N_(
    "There is no appraisal open in your branch. The secretary opens it with /appraisal."
)
SECRETARY_ONLY = N_("Only the branch secretary can do this.")
GROUP_ONLY = N_("Only members of the scoring group can do this.")
NOT_APPRAISED = N_("This member is not appraised in your branch.")
FINALISED = N_("The appraisal has been finalised; it can no longer change.")


@dataclass(frozen=True)
class AppraisalInfo:
    id: int
    branch_id: int
    branch_name: str
    timezone: str
    year: int
    status: str
    opens_on: date
    deadline: datetime
    settings: AppraisalSettings
    meeting_id: int | None

    def local_deadline(self) -> datetime:
        return self.deadline.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class AppraisedMember:
    person_id: int
    name: str
    status: PersonStatus
    telegram_user_id: int | None
    started: bool


@dataclass(frozen=True)
class Seat:
    """One seat of the scoring group."""

    id: int
    kind: str
    person_id: int | None
    name: str
    code: str | None
    telegram_user_id: int | None


def end_of_day(day: date, timezone: str) -> datetime:
    """The last second of ``day`` in the branch's time zone (aware)."""
    return datetime.combine(day, time(23, 59, 59), ZoneInfo(timezone))


def default_period(today: date, timezone: str) -> tuple[date, datetime]:
    """December of this year (seed 002: the appraisal is in the fourth quarter); a
    later start when opened in December."""
    opens = max(date(today.year, 12, 1), today)
    return opens, end_of_day(date(today.year, 12, 31), timezone)


class AppraisalCore(Service):
    # -- finding things ---------------------------------------------------------------
    async def _branch(self, branch_id: int) -> Branch:
        branch = await self.session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(NO_APPRAISAL)
        return branch

    def _info(self, row: Appraisal, branch: Branch) -> AppraisalInfo:
        return AppraisalInfo(
            id=row.id,
            branch_id=row.branch_id,
            branch_name=branch.name,
            timezone=branch.timezone,
            year=row.year,
            status=row.status,
            opens_on=row.opens_on,
            deadline=row.deadline,
            settings=AppraisalSettings.from_json(row.settings),
            meeting_id=row.meeting_id,
        )

    async def _latest_row(self, branch_id: int) -> Appraisal | None:
        return (
            await self.session.scalars(
                select(Appraisal)
                .where(Appraisal.branch_id == branch_id)
                .order_by(Appraisal.year.desc())
                .limit(1)
            )
        ).first()

    async def _row(self, branch_id: int) -> tuple[Appraisal, AppraisalInfo]:
        """The branch's latest appraisal (open, final or published)."""
        row = await self._latest_row(branch_id)
        if row is None:
            raise NotFound(NO_APPRAISAL)
        return row, self._info(row, await self._branch(branch_id))

    async def current(self, viewer: Viewer) -> AppraisalInfo | None:
        if viewer.branch_id is None:
            return None
        row = await self._latest_row(viewer.branch_id)
        return None if row is None else self._info(row, await self._branch(viewer.branch_id))

    def _secretary(self, viewer: Viewer) -> int:
        if not viewer.is_secretary or viewer.branch_id is None:
            raise NotAllowed(SECRETARY_ONLY)
        return viewer.branch_id

    @staticmethod
    def _editable(row: Appraisal) -> None:
        if row.status != OPEN:
            raise Conflict(FINALISED)

    def _window(self, row: Appraisal, info: AppraisalInfo) -> None:
        """Votes, grades and self-assessments are taken from the opening day until the
        deadline, while the appraisal is open."""
        self._editable(row)
        now = self.clock.now()
        if now > row.deadline:
            raise Conflict(N_("The appraisal is closed: the deadline has passed."))
        if local_today(now, info.timezone) < row.opens_on:
            raise Conflict(N_("The appraisal opens on {day}."), day=row.opens_on.isoformat())

    # -- people -----------------------------------------------------------------------
    async def appraised(self, branch_id: int) -> list[AppraisedMember]:
        """Who is appraised (and votes): the branch's current full and probationary
        members, by name. Non-member representatives have no membership: never here."""
        rows = (
            await self.session.execute(
                select(
                    Person.id,
                    Person.full_name,
                    Person.status,
                    TelegramAccount.telegram_user_id,
                    TelegramAccount.started_at,
                )
                .join(Membership, Membership.person_id == Person.id)
                .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
                .where(
                    Membership.branch_id == branch_id,
                    Membership.ended_at.is_(None),
                    Person.status.in_([PersonStatus.MEMBER, PersonStatus.PROBATIONARY]),
                )
                .order_by(Person.full_name, Person.id)
            )
        ).all()
        return [
            AppraisedMember(pid, name, status, tid, started is not None)
            for pid, name, status, tid, started in rows
        ]

    async def _appraised_voter(self, viewer: Viewer) -> tuple[Appraisal, AppraisalInfo]:
        """The viewer's branch appraisal, if the viewer is appraised (and may vote)."""
        if viewer.branch_id is None or viewer.person_id is None:
            raise NotAllowed(N_("Only members of a branch can do this."))
        if viewer.status is None or not viewer.status.is_party_member:
            raise NotAllowed(N_("Only full and probationary members take part in the appraisal."))
        return await self._row(viewer.branch_id)

    # -- the scoring group --------------------------------------------------------------
    async def seats(self, appraisal_id: int) -> list[Seat]:
        rows = await self.session.scalars(
            select(AppraisalGroupMember)
            .where(AppraisalGroupMember.appraisal_id == appraisal_id)
            .order_by(AppraisalGroupMember.kind, AppraisalGroupMember.name, AppraisalGroupMember.id)
        )
        return [Seat(r.id, r.kind, r.person_id, r.name, r.code, r.telegram_user_id) for r in rows]

    async def seat_of(self, viewer: Viewer, appraisal_id: int) -> AppraisalGroupMember | None:
        """The viewer's seat in this appraisal's group: by person for members, by
        Telegram account for a non-member representative."""
        column = AppraisalGroupMember
        if viewer.person_id is not None:
            condition = column.person_id == viewer.person_id
        else:
            condition = (column.telegram_user_id == viewer.telegram_user_id) & (
                column.kind == PUBLIC_REP
            )
        return (
            await self.session.scalars(
                select(column).where(column.appraisal_id == appraisal_id, condition).limit(1)
            )
        ).first()

    async def representative_seats(self, telegram_user_id: int) -> list[tuple[Seat, int]]:
        """A non-member representative's seats and the branch of each (latest first)."""
        rows = (
            await self.session.execute(
                select(AppraisalGroupMember, Appraisal.branch_id)
                .join(Appraisal, Appraisal.id == AppraisalGroupMember.appraisal_id)
                .where(
                    AppraisalGroupMember.telegram_user_id == telegram_user_id,
                    AppraisalGroupMember.kind == PUBLIC_REP,
                )
                .order_by(Appraisal.id.desc())
            )
        ).all()
        return [
            (Seat(r.id, r.kind, r.person_id, r.name, r.code, r.telegram_user_id), branch_id)
            for r, branch_id in rows
        ]

    async def is_representative(self, telegram_user_id: int) -> bool:
        return bool(await self.representative_seats(telegram_user_id))

    async def _grader(
        self, viewer: Viewer, branch_id: int
    ) -> tuple[Appraisal, AppraisalInfo, AppraisalGroupMember]:
        row, info = await self._row(branch_id)
        seat = await self.seat_of(viewer, row.id)
        if seat is None:
            raise NotAllowed(GROUP_ONLY)
        return row, info, seat

    async def grader_branch(self, viewer: Viewer) -> int:
        """The branch whose appraisal the viewer grades as a member of its group."""
        if viewer.branch_id is not None:
            return viewer.branch_id
        seats = await self.representative_seats(viewer.telegram_user_id)
        if not seats:
            raise NotAllowed(GROUP_ONLY)
        return seats[0][1]

    @staticmethod
    def local_now(info: AppraisalInfo, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(info.timezone))

    @staticmethod
    def days_left(info: AppraisalInfo, now: datetime) -> timedelta:
        return info.deadline - now
