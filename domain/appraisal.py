# i18n-domain: appraisal
"""Democratic appraisal of Party members (民主评议党员), the points scheme's second part
(seed 001) in the fourth quarter (seed 002): the secretary opens the year's appraisal,
sets its weights and forms the scoring group; members assess themselves and grade one
another in secret; the group grades everyone; the results are combined with the daily
points, finalised, published (公示) and exported.

The service is split by sub-feature: ``appraisal_base`` (finding things, rights, the
window), ``appraisal_votes`` (self-assessments, ballots, group grades),
``appraisal_results`` (scores, decisions, finalisation, reminders) and this module
(opening, settings, the scoring group and its non-member representatives)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import appraisal_rules as rules
from domain.appraisal_base import (
    COMMITTEE,
    MEMBER_REP,
    PUBLIC_REP,
    AppraisalInfo,
    Seat,
    default_period,
    end_of_day,
)
from domain.appraisal_results import AppraisalResults
from domain.codes import PERSONAL_CODE_LENGTH, new_code
from domain.errors import Conflict, DomainError, NotFound
from domain.periods import local_today
from domain.roles import Role
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Appraisal,
    AppraisalGroupGrade,
    AppraisalGroupMember,
    BindCode,
    Branch,
    Person,
)


@dataclass(frozen=True)
class Overview:
    info: AppraisalInfo
    appraised: int
    selfs: int
    ballots: int
    seats: list[Seat]


@dataclass(frozen=True)
class JoinedSeat:
    name: str
    branch_name: str
    year: int


class AppraisalService(AppraisalResults):
    # -- opening and settings -----------------------------------------------------------
    async def open(self, viewer: Viewer) -> AppraisalInfo:
        """Open this year's appraisal with the branch's defaults; the committee (the
        secretary and committee members) form the scoring group."""
        branch_id = self._secretary(viewer)
        branch = await self._branch(branch_id)
        today = local_today(self.clock.now(), branch.timezone)
        opens, deadline = default_period(today, branch.timezone)
        now = self.clock.now()
        settings = rules.AppraisalSettings.from_json((branch.settings or {}).get("appraisal"))
        row = Appraisal(
            branch_id=branch_id,
            year=today.year,
            status="open",
            opens_on=opens,
            deadline=deadline,
            settings=settings.to_json(),
            salt=secrets.token_bytes(32),
            created_by_person_id=viewer.person_id,
            created_at=now,
        )
        self.session.add(row)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise Conflict(
                N_("The appraisal of {year} is already open."), year=today.year
            ) from None
        for member in await repo.branch_members(
            self.session, branch_id, roles=[Role.SECRETARY, Role.COMMITTEE]
        ):
            self.session.add(
                AppraisalGroupMember(
                    appraisal_id=row.id,
                    kind=COMMITTEE,
                    person_id=member.person.id,
                    name=member.person.full_name,
                    created_at=now,
                )
            )
        await self.session.flush()
        await self.audit(
            "appraisal.open",
            actor=viewer,
            subject_type="appraisal",
            subject_id=row.id,
            year=today.year,
            deadline=deadline.isoformat(),
        )
        return self._info(row, branch)

    async def overview(self, viewer: Viewer) -> Overview:
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        return Overview(
            info,
            len(await self.appraised(branch_id)),
            await self.self_count(row.id),
            await self.ballot_total(row.id),
            await self.seats(row.id),
        )

    async def set_value(self, viewer: Viewer, name: str, value: str) -> AppraisalInfo:
        """``/appraisal set NAME VALUE``: a weight, the 优秀 share, the length of a
        self-assessment, the group's mode (grades | scores), the opening day or the
        deadline (YYYY-MM-DD, local). Kept for next year as the branch's setting too."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        self._editable(row)
        settings = info.settings
        if name in ("opens", "deadline"):
            day = _parse_day(value)
            if day is None or day.year != row.year:
                raise DomainError(N_("Please give a date of {year} as YYYY-MM-DD."), year=row.year)
            opens = day if name == "opens" else row.opens_on
            deadline = end_of_day(day, info.timezone) if name == "deadline" else row.deadline
            if deadline < end_of_day(opens, info.timezone):  # checked before anything changes
                raise DomainError(N_("The appraisal cannot open after its deadline."))
            row.opens_on, row.deadline = opens, deadline
        elif name == "mode":
            if value not in ("grades", "scores"):
                raise DomainError(N_("The group grades with 'grades' or 'scores'."))
            graded = await self.session.scalar(
                select(AppraisalGroupGrade.id)
                .where(AppraisalGroupGrade.appraisal_id == row.id)
                .limit(1)
            )
            if graded is not None and value != settings.group_mode:
                raise Conflict(N_("The scoring group has started grading; its mode stays."))
            settings = rules.AppraisalSettings.from_json(
                {**settings.to_json(), "group_mode": value}
            )
        elif name in rules.SETTING_RANGES:
            low, high = rules.SETTING_RANGES[name]
            number = int(value) if value.isascii() and value.isdigit() else None
            if number is None or not low <= number <= high:
                raise DomainError(
                    N_("{name} must be a whole number from {low} to {high}."),
                    name=name,
                    low=low,
                    high=high,
                )
            settings = settings.with_value(name, number)
        else:
            raise DomainError(N_("Unknown setting {name}."), name=name)
        row.settings = settings.to_json()
        branch = await self.session.get(Branch, branch_id)
        assert branch is not None
        branch.settings = {**(branch.settings or {}), "appraisal": settings.to_json()}
        await self.session.flush()
        await self.audit(
            "appraisal.settings",
            actor=viewer,
            subject_type="appraisal",
            subject_id=row.id,
            name=name,
            value=value,
        )
        return self._info(row, await self._branch(branch_id))

    async def link_meeting(self, viewer: Viewer, meeting_id: int | None) -> None:
        """The seam for the 组织生活会 feature: one meeting record for this appraisal."""
        branch_id = self._secretary(viewer)
        row, _info = await self._row(branch_id)
        row.meeting_id = meeting_id
        await self.session.flush()
        await self.audit(
            "appraisal.meeting",
            actor=viewer,
            subject_type="appraisal",
            subject_id=row.id,
            meeting=meeting_id,
        )

    # -- the scoring group ------------------------------------------------------------
    async def group_candidates(self, viewer: Viewer) -> tuple[list[tuple[int, str]], set[int]]:
        """Members of the branch the secretary may seat (any current member), and the
        person ids seated now."""
        branch_id = self._secretary(viewer)
        row, _info = await self._row(branch_id)
        people = [
            (r.person.id, r.person.full_name)
            for r in await repo.branch_members(self.session, branch_id)
        ]
        seated = {s.person_id for s in await self.seats(row.id) if s.person_id is not None}
        return people, seated

    async def toggle_seat(self, viewer: Viewer, person_id: int) -> bool:
        """Seat a member of the branch in the scoring group (党员代表, or 支委) or
        unseat them; returns whether seated now. A seat that graded stays (its grades
        would be lost)."""
        branch_id = self._secretary(viewer)
        row, _info = await self._row(branch_id)
        self._editable(row)
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This member is not in your branch."))
        seat = (
            await self.session.scalars(
                select(AppraisalGroupMember).where(
                    AppraisalGroupMember.appraisal_id == row.id,
                    AppraisalGroupMember.person_id == person_id,
                )
            )
        ).first()
        if seat is not None:
            if await self._seat_graded(seat.id):
                raise Conflict(N_("{name} has already graded; the seat stays."), name=seat.name)
            await self.session.delete(seat)
            seated = False
        else:
            person = await self.session.get(Person, person_id)
            assert person is not None
            self.session.add(
                AppraisalGroupMember(
                    appraisal_id=row.id,
                    kind=COMMITTEE if membership.role is not Role.MEMBER else MEMBER_REP,
                    person_id=person_id,
                    name=person.full_name,
                    created_at=self.clock.now(),
                )
            )
            seated = True
        await self.session.flush()
        await self.audit(
            "appraisal.group",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            seated=seated,
        )
        return seated

    async def _seat_graded(self, seat_id: int) -> bool:
        return (
            await self.session.scalar(
                select(AppraisalGroupGrade.id)
                .where(AppraisalGroupGrade.grader_id == seat_id)
                .limit(1)
            )
        ) is not None

    async def add_public_rep(self, viewer: Viewer, name: str) -> Seat:
        """A non-member representative (群众代表) with a personal code: they join with
        ``/start CODE`` and may only grade in this appraisal's scoring group."""
        branch_id = self._secretary(viewer)
        row, _info = await self._row(branch_id)
        self._editable(row)
        name = " ".join(name.split())
        if not name or len(name) > 64:
            raise DomainError(N_("Please give the representative's name (at most 64 characters)."))
        code = await self._unique_code()
        seat = AppraisalGroupMember(
            appraisal_id=row.id, kind=PUBLIC_REP, name=name, code=code, created_at=self.clock.now()
        )
        self.session.add(seat)
        await self.session.flush()
        await self.audit(
            "appraisal.representative",
            actor=viewer,
            subject_type="appraisal_seat",
            subject_id=seat.id,
            name=name,
        )
        return Seat(seat.id, seat.kind, None, name, code, None)

    async def _unique_code(self) -> str:
        while True:
            code = new_code(PERSONAL_CODE_LENGTH)
            taken = await self.session.get(BindCode, code) or await repo.branch_by_code(
                self.session, code
            )
            used = await self.session.scalar(
                select(AppraisalGroupMember.id).where(AppraisalGroupMember.code == code)
            )
            if taken is None and used is None:
                return code

    async def join_with_code(self, viewer: Viewer, code: str) -> JoinedSeat | None:
        """``/start CODE`` with a representative's code: bind the Telegram account to
        the seat (no roster entry, no membership, no other rights). None: not such a
        code."""
        seat = (
            await self.session.scalars(
                select(AppraisalGroupMember).where(
                    AppraisalGroupMember.code == code, AppraisalGroupMember.kind == PUBLIC_REP
                )
            )
        ).first()
        if seat is None:
            return None
        row = await self.session.get(Appraisal, seat.appraisal_id)
        assert row is not None
        branch = await self._branch(row.branch_id)
        if seat.telegram_user_id not in (None, viewer.telegram_user_id):
            raise Conflict(
                N_(
                    "This personal code has already been used by another "
                    "account. Please ask your branch secretary."
                )
            )
        if viewer.is_member:
            raise Conflict(
                N_("This code is for a representative who is not a Party member of the branch.")
            )
        if seat.telegram_user_id is None:
            seat.telegram_user_id = viewer.telegram_user_id
            seat.joined_at = self.clock.now()
            await self.session.flush()
            await self.audit(
                "appraisal.representative.join",
                actor=viewer,
                branch_id=row.branch_id,
                subject_type="appraisal_seat",
                subject_id=seat.id,
            )
        return JoinedSeat(seat.name, branch.name, row.year)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
