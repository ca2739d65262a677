"""Party fees (党费): the amount table, members' payment reports, the secretary's
confirmations and queries, the payment register, arrears and the yearly export data.

The rules themselves (brackets, rounding, months) are in :mod:`domain.fee_rules`.
"""

# i18n-domain: fees

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from domain.base import Service
from domain.errors import Conflict, DomainError, NotAllowed, NotFound, RowError
from domain.fee_rules import (
    ARREARS_LEVELS,
    FeeBasis,
    FeeSchedule,
    Month,
    amount_for_month,
    month_range,
    monthly_fee,
    obligation_start,
    parse_basis,
    parse_money,
    schedule_from_settings,
    unpaid_streak,
)
from domain.membership import ROSTER_HOOKS, MembershipService
from domain.periods import local_today
from domain.review import ensure_not_author, reviewer_ids
from domain.roles import PersonStatus
from domain.roster import RosterError, RosterRow, register_column
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    AuditEntry,
    Branch,
    FeeArrearsAlert,
    FeeAssessment,
    FeeRegisterEntry,
    FeeSubmission,
    FeeSubmissionMonth,
    Membership,
    Person,
    TelegramAccount,
)
from store.models.fees import SubmissionStatus

PARTY_STATUSES = (PersonStatus.MEMBER, PersonStatus.PROBATIONARY)
MAX_REASON = 500
#: A second nudge for the same month within this time is refused (double taps).
NUDGE_COOLDOWN = timedelta(minutes=10)


@dataclass(frozen=True)
class MonthState:
    month: Month
    due: Decimal | None
    paid: Decimal = Decimal("0.00")  # net of the register's rows
    pending: Decimal = Decimal("0.00")  # reported, waiting for the secretary

    @property
    def is_paid(self) -> bool:
        return self.paid > 0

    @property
    def is_pending(self) -> bool:
        return not self.is_paid and self.pending > 0

    @property
    def is_owed(self) -> bool:
        return not self.is_paid and not self.is_pending


@dataclass(frozen=True)
class MemberFees:
    person_id: int
    name: str
    status: PersonStatus
    telegram_id: int | None
    basis: FeeBasis | None
    income: Decimal | None
    amount: Decimal | None  # the current monthly amount (None: not set yet)
    effective_month: Month | None
    start: Month | None  # first month owed (None: pays no fee)
    months: tuple[MonthState, ...]  # start .. the month looked at

    @property
    def owed(self) -> list[MonthState]:
        return [m for m in self.months if m.is_owed]

    @property
    def paid(self) -> list[MonthState]:
        return [m for m in self.months if m.is_paid]

    @property
    def pending(self) -> list[MonthState]:
        return [m for m in self.months if m.is_pending]

    @property
    def owed_total(self) -> Decimal | None:
        """Sum of what is owed; None when an owed month's amount is unknown."""
        owed = self.owed
        if any(m.due is None for m in owed):
            return None
        return sum((m.due for m in owed if m.due is not None), Decimal("0.00"))

    def state(self, month: Month) -> MonthState | None:
        for m in self.months:
            if m.month == month:
                return m
        return None


@dataclass(frozen=True)
class AssessmentInfo:
    person_id: int
    name: str
    basis: FeeBasis
    income: Decimal | None
    amount: Decimal
    effective_month: Month
    changed: bool


@dataclass(frozen=True)
class PaymentPlan:
    months: tuple[Month, ...]
    amounts: tuple[Decimal, ...]

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, Decimal("0.00"))


@dataclass(frozen=True)
class SubmissionInfo:
    id: int
    branch_id: int
    person_id: int
    member_name: str
    member_telegram_id: int | None
    months: tuple[Month, ...]
    total: Decimal
    status: SubmissionStatus
    photo_file_id: str | None
    reviewers: tuple[int, ...] = ()
    decided_by: str | None = None
    query_reason: str | None = None


@dataclass(frozen=True)
class MonthSummary:
    branch_name: str
    month: Month
    members: tuple[MemberFees, ...]

    def _states(self) -> list[tuple[MemberFees, MonthState]]:
        result = []
        for member in self.members:
            state = member.state(self.month)
            if state is not None:
                result.append((member, state))
        return result

    @property
    def due_total(self) -> Decimal:
        return sum((s.due for _, s in self._states() if s.due is not None), Decimal("0.00"))

    @property
    def confirmed_total(self) -> Decimal:
        return sum((s.paid for _, s in self._states() if s.is_paid), Decimal("0.00"))

    @property
    def pending_total(self) -> Decimal:
        return sum((s.pending for _, s in self._states() if s.is_pending), Decimal("0.00"))

    @property
    def liable(self) -> int:
        return len(self._states())

    @property
    def confirmed_count(self) -> int:
        return sum(1 for _, s in self._states() if s.is_paid)

    @property
    def pending_count(self) -> int:
        return sum(1 for _, s in self._states() if s.is_pending)

    @property
    def unpaid(self) -> list[tuple[MemberFees, MonthState]]:
        return [(m, s) for m, s in self._states() if s.is_owed]

    @property
    def unassessed(self) -> list[MemberFees]:
        return [m for m in self.members if m.start is not None and m.amount is None]


@dataclass(frozen=True)
class ArrearsAlertInfo:
    branch_id: int
    person_id: int
    name: str
    level: int
    since: Month
    months: int
    owed_total: Decimal | None
    reviewers: tuple[int, ...]
    urgent: bool


@dataclass(frozen=True)
class NudgeTarget:
    person_id: int
    telegram_id: int
    name: str
    month: Month
    amount: Decimal | None
    owed_months: int


@dataclass
class YearRegister:
    """What the yearly export shows (laid out like the paper forms)."""

    branch_name: str
    year: int
    members: list[MemberFees] = field(default_factory=list)
    #: person_id -> month -> net amount confirmed in the register
    paid: dict[int, dict[Month, Decimal]] = field(default_factory=dict)


# -- roster columns ---------------------------------------------------------------------


def _parse_basis_column(text: str) -> FeeBasis:
    basis = parse_basis(text)
    if basis is None:
        raise ValueError(
            N_(
                "Line {line}: unknown fee basis “{value}” (use employed, retired, student, "
                "none or fixed; 在职, 离退休, 学生, 无收入 or 固定)."
            )
        )
    return basis


def _parse_income_column(text: str) -> Decimal:
    value = parse_money(text)
    if value is None:
        raise ValueError(
            N_("Line {line}: monthly income “{value}” is not an amount in yuan like 4500.50.")
        )
    return value


register_column(
    "fee_basis",
    ("fee basis", "党费类别", "缴费类别", "收入类别", "收入类型", "党费基数类别"),
    _parse_basis_column,
)
register_column(
    "monthly_income",
    ("monthly income", "income", "月收入", "税后月收入", "月工资", "月工资收入", "工资收入"),
    _parse_income_column,
)


async def _roster_hook(
    service: MembershipService, person: Person, membership: Membership, row: RosterRow
) -> None:
    basis: FeeBasis | None = row.extra.get("fee_basis")
    income: Decimal | None = row.extra.get("monthly_income")
    if basis is None and income is None:
        return
    if basis is None:
        basis = FeeBasis.EMPLOYED
    if basis.needs_income and income is None:
        raise RosterError(
            [
                RowError(
                    row.line,
                    N_("Line {line}: fee basis “{value}” needs a monthly_income."),
                    {"value": basis.value},
                )
            ]
        )
    fees = FeeService(service.session, service.clock)
    await fees.record_assessment(
        membership.branch_id, person, basis, income, source="roster", actor=None
    )


if _roster_hook not in ROSTER_HOOKS:
    ROSTER_HOOKS.append(_roster_hook)


# -- the service ------------------------------------------------------------------------


class FeeService(Service):
    # -- settings and time --------------------------------------------------------
    async def _branch(self, branch_id: int) -> Branch:
        branch = await self.session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(N_("This branch no longer exists."))
        return branch

    def schedule_of(self, branch: Branch) -> FeeSchedule:
        return schedule_from_settings(branch.settings)

    async def schedule(self, branch_id: int) -> FeeSchedule:
        return self.schedule_of(await self._branch(branch_id))

    def today(self, branch: Branch) -> date:
        return local_today(self.clock.now(), branch.timezone)

    def current_month(self, branch: Branch) -> Month:
        return Month.of(self.today(branch))

    def _floor(self, branch: Branch) -> Month | None:
        fees = (branch.settings or {}).get("fees") or {}
        raw = fees.get("start_month") if isinstance(fees, dict) else None
        try:
            return Month.parse(raw) if raw else None
        except ValueError:
            return None

    @staticmethod
    def _require_reviewer(viewer: Viewer, branch_id: int | None = None) -> int:
        if not viewer.is_reviewer or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        if branch_id is not None and viewer.branch_id != branch_id:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        return viewer.branch_id

    # -- the amount table ---------------------------------------------------------
    async def _assessments(
        self, branch_id: int, person_ids: list[int] | None = None
    ) -> dict[int, list[FeeAssessment]]:
        stmt = select(FeeAssessment).where(FeeAssessment.branch_id == branch_id)
        if person_ids is not None:
            stmt = stmt.where(FeeAssessment.person_id.in_(person_ids))
        result: dict[int, list[FeeAssessment]] = defaultdict(list)
        for row in (await self.session.scalars(stmt.order_by(FeeAssessment.id))).all():
            result[row.person_id].append(row)
        return result

    async def record_assessment(
        self,
        branch_id: int,
        person: Person,
        basis: FeeBasis,
        income: Decimal | None,
        *,
        source: str,
        actor: Viewer | None,
    ) -> AssessmentInfo:
        """Add a line to the amount table unless it says what the current one says."""
        branch = await self._branch(branch_id)
        if not basis.needs_income:
            income = None
        elif income is None:
            raise DomainError(N_("Please give the monthly income for this fee basis."))
        amount = monthly_fee(basis, income, self.schedule_of(branch))
        rows = (await self._assessments(branch_id, [person.id])).get(person.id, [])
        month = self.current_month(branch)
        latest = rows[-1] if rows else None
        if latest is not None and latest.basis is basis and latest.income == income:
            return AssessmentInfo(
                person.id,
                person.full_name,
                basis,
                income,
                latest.amount,
                Month.parse(latest.effective_month),
                changed=False,
            )
        row = FeeAssessment(
            branch_id=branch_id,
            person_id=person.id,
            basis=basis,
            income=income,
            amount=amount,
            effective_month=month.key,
            source=source,
            set_by_person_id=actor.person_id if actor else None,
            created_at=self.clock.now(),
        )
        self.session.add(row)
        await self.session.flush()
        await self.audit(
            "fees.assess",
            actor=actor,
            branch_id=branch_id,
            subject_type="person",
            subject_id=person.id,
            basis=basis.value,
            income=None if income is None else str(income),
            amount=str(amount),
            effective_month=month.key,
            source=source,
        )
        return AssessmentInfo(person.id, person.full_name, basis, income, amount, month, True)

    async def set_basis(
        self, viewer: Viewer, person_id: int, basis: FeeBasis, income: Decimal | None
    ) -> AssessmentInfo:
        branch_id = self._require_reviewer(viewer)
        person = await self._branch_person(branch_id, person_id)
        return await self.record_assessment(
            branch_id, person, basis, income, source="chat", actor=viewer
        )

    async def _branch_person(self, branch_id: int, person_id: int) -> Person:
        person = await self.session.get(Person, person_id)
        membership = await repo.current_membership(self.session, person_id)
        if person is None or membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This member is not in your branch."))
        return person

    async def payers(
        self, viewer: Viewer, page: int, per_page: int
    ) -> tuple[repo.MemberPage, list[tuple[int, str, FeeBasis | None]]]:
        """A page of the Party members of the viewer's branch (who pay fees) with their
        basis, by name: the page is cut in SQL and only its members' assessments read."""
        branch_id = self._require_reviewer(viewer)
        found = await repo.branch_member_page(
            self.session, branch_id, page, per_page, statuses=PARTY_STATUSES
        )
        ids = [m.person_id for m in found.rows]
        assessments = await self._assessments(branch_id, ids)
        return found, [
            (
                m.person_id,
                m.name,
                assessments[m.person_id][-1].basis if m.person_id in assessments else None,
            )
            for m in found.rows
        ]

    async def person_name(self, viewer: Viewer, person_id: int) -> str:
        branch_id = self._require_reviewer(viewer)
        return (await self._branch_person(branch_id, person_id)).full_name

    # -- ledgers ------------------------------------------------------------------
    async def _paid(self, branch_id: int, person_ids: list[int]) -> dict[int, dict[Month, Decimal]]:
        """Net amount per person and month in the register, summed as Decimal here (not
        with SQL SUM, which SQLite would do in floating point)."""
        stmt = select(
            FeeRegisterEntry.person_id, FeeRegisterEntry.month, FeeRegisterEntry.amount
        ).where(
            FeeRegisterEntry.branch_id == branch_id,
            FeeRegisterEntry.person_id.in_(person_ids),
        )
        result: dict[int, dict[Month, Decimal]] = defaultdict(dict)
        for person_id, month, amount in (await self.session.execute(stmt)).all():
            key = Month.parse(month)
            result[person_id][key] = result[person_id].get(key, Decimal("0.00")) + amount
        return result

    async def _pending(
        self, branch_id: int, person_ids: list[int]
    ) -> dict[int, dict[Month, Decimal]]:
        stmt = (
            select(
                FeeSubmissionMonth.person_id, FeeSubmissionMonth.month, FeeSubmissionMonth.amount
            )
            .join(FeeSubmission, FeeSubmission.id == FeeSubmissionMonth.submission_id)
            .where(
                FeeSubmission.branch_id == branch_id,
                # the submission's person is the months' (ix_fee_submissions_branch_person)
                FeeSubmission.person_id.in_(person_ids),
                FeeSubmission.status == SubmissionStatus.PENDING,
                FeeSubmissionMonth.person_id.in_(person_ids),
                FeeSubmissionMonth.is_open.is_(True),
            )
        )
        result: dict[int, dict[Month, Decimal]] = defaultdict(dict)
        for person_id, month, amount in (await self.session.execute(stmt)).all():
            result[person_id][Month.parse(month)] = amount
        return result

    async def _member_fees(
        self,
        branch: Branch,
        rows: list[repo.MemberRow],
        until: Month,
        *,
        since: Month | None = None,
    ) -> list[MemberFees]:
        ids = [r.person.id for r in rows]
        assessments = await self._assessments(branch.id, ids)
        paid = await self._paid(branch.id, ids)
        pending = await self._pending(branch.id, ids)
        floor = self._floor(branch)
        result = []
        for r in rows:
            person = r.person
            start = obligation_start(
                is_party_member=person.status.is_party_member,
                probationary=person.status is PersonStatus.PROBATIONARY,
                admitted_on=person.admitted_on,
                membership_start=local_today(r.membership.started_at, branch.timezone),
                floor=floor,
            )
            table = [
                (Month.parse(a.effective_month), a.amount) for a in assessments.get(person.id, [])
            ]
            latest = assessments[person.id][-1] if assessments.get(person.id) else None
            months: list[MonthState] = []
            if start is not None:
                first = max(start, since) if since is not None else start
                for month in month_range(first, until):
                    months.append(
                        MonthState(
                            month,
                            amount_for_month(table, month),
                            paid.get(person.id, {}).get(month, Decimal("0.00")),
                            pending.get(person.id, {}).get(month, Decimal("0.00")),
                        )
                    )
            result.append(
                MemberFees(
                    person_id=person.id,
                    name=person.full_name,
                    status=person.status,
                    telegram_id=r.account.telegram_user_id if r.account else None,
                    basis=latest.basis if latest else None,
                    income=latest.income if latest else None,
                    amount=latest.amount if latest else None,
                    effective_month=Month.parse(latest.effective_month) if latest else None,
                    start=start,
                    months=tuple(months),
                )
            )
        return result

    async def _member_row(self, person_id: int) -> tuple[Branch, repo.MemberRow]:
        membership = await repo.current_membership(self.session, person_id)
        person = await self.session.get(Person, person_id)
        if membership is None or person is None:
            raise NotFound(N_("You are not on a branch roster."))
        branch = await self._branch(membership.branch_id)
        account = await repo.account_of_person(self.session, person_id)
        return branch, repo.MemberRow(person, membership, account)

    async def member_fees(self, person_id: int, until: Month | None = None) -> MemberFees:
        cached = self.prefetched.get((person_id, until)) if until is not None else None
        if cached is not None:
            return cached
        branch, row = await self._member_row(person_id)
        until = until or self.current_month(branch)
        return (await self._member_fees(branch, [row], until))[0]

    @property
    def prefetched(self) -> dict[tuple[int, Month], MemberFees]:
        """``member_fees`` read ahead for many members (:meth:`prefetch_member_fees`),
        kept for this unit of work only."""
        cache: dict[tuple[int, Month], MemberFees] | None = getattr(self, "_prefetched", None)
        if cache is None:
            cache = {}
            self._prefetched = cache
        return cache

    async def prefetch_member_fees(self, person_ids: list[int], until: Month) -> None:
        """Read ``member_fees(p, until)`` for many members at once (the fee-day reminder
        to a broadcast batch): a few queries per branch instead of six per member."""
        wanted = [p for p in set(person_ids) if (p, until) not in self.prefetched]
        if not wanted:
            return
        stmt = (
            select(Person, Membership, TelegramAccount)
            .join(Membership, Membership.person_id == Person.id)
            .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
            .where(Person.id.in_(wanted), Membership.ended_at.is_(None))
        )
        by_branch: dict[int, list[repo.MemberRow]] = defaultdict(list)
        for person, membership, account in (await self.session.execute(stmt)).all():
            by_branch[membership.branch_id].append(repo.MemberRow(person, membership, account))
        for branch_id, rows in by_branch.items():
            branch = await self._branch(branch_id)
            for fees in await self._member_fees(branch, rows, until):
                self.prefetched[(fees.person_id, until)] = fees

    async def my_fees(self, viewer: Viewer) -> MemberFees:
        if viewer.person_id is None:
            raise NotFound(N_("You are not on a branch roster."))
        return await self.member_fees(viewer.person_id)

    # -- payments -----------------------------------------------------------------
    async def plan_payment(
        self, viewer: Viewer, months: list[Month], *, lenient: bool = False
    ) -> PaymentPlan:
        """Check that the viewer may report these months as paid now. ``lenient``: leave
        out months of the list already paid or reported (a "pay all owed" button)."""
        if viewer.person_id is None:
            raise NotFound(N_("You are not on a branch roster."))
        if not months:
            raise DomainError(N_("There is nothing to pay."))
        fees = await self.member_fees(viewer.person_id)
        if fees.start is None:
            raise DomainError(N_("Only Party members pay Party fees."))
        if lenient:
            months = [m for m in months if (s := fees.state(m)) is not None and s.is_owed] or months
        amounts = []
        for month in sorted(set(months)):
            state = fees.state(month)
            if state is None:
                raise DomainError(N_("{month} is not a month you owe a fee for."), month=month.key)
            if state.is_paid:
                raise Conflict(N_("{month} is already paid."), month=month.key)
            if state.is_pending:
                raise Conflict(
                    N_("{month} is already reported and waits for the secretary."),
                    month=month.key,
                )
            if state.due is None:
                raise DomainError(
                    N_(
                        "Your monthly fee has not been set yet. Please ask the branch "
                        "secretary to set it."
                    )
                )
            amounts.append(state.due)
        return PaymentPlan(tuple(sorted(set(months))), tuple(amounts))

    async def submit(
        self,
        viewer: Viewer,
        months: list[Month],
        photo_file_id: str | None = None,
        *,
        lenient: bool = False,
    ) -> SubmissionInfo:
        plan = await self.plan_payment(viewer, months, lenient=lenient)
        assert viewer.person_id is not None and viewer.branch_id is not None
        submission = FeeSubmission(
            branch_id=viewer.branch_id,
            person_id=viewer.person_id,
            total=plan.total,
            photo_file_id=photo_file_id,
            status=SubmissionStatus.PENDING,
            created_at=self.clock.now(),
        )
        self.session.add(submission)
        await self.session.flush()
        for month, amount in zip(plan.months, plan.amounts, strict=True):
            self.session.add(
                FeeSubmissionMonth(
                    submission_id=submission.id,
                    person_id=viewer.person_id,
                    month=month.key,
                    amount=amount,
                    is_open=True,
                )
            )
        # The partial unique index on open months stops a concurrent duplicate (the
        # update then fails and is rolled back as a whole).
        await self.session.flush()
        await self.audit(
            "fees.submit",
            actor=viewer,
            subject_type="fee_submission",
            subject_id=submission.id,
            months=[m.key for m in plan.months],
            total=str(plan.total),
            photo=photo_file_id is not None,
        )
        # Nobody reviews their own payment (domain.review): not sent to its author.
        reviewers = await reviewer_ids(
            self.session, viewer.branch_id, author_person_id=viewer.person_id
        )
        return SubmissionInfo(
            id=submission.id,
            branch_id=submission.branch_id,
            person_id=viewer.person_id,
            member_name=viewer.full_name or viewer.display_name,
            member_telegram_id=viewer.telegram_user_id,
            months=plan.months,
            total=plan.total,
            status=submission.status,
            photo_file_id=photo_file_id,
            reviewers=tuple(reviewers),
        )

    async def _submission(self, viewer: Viewer, submission_id: int) -> FeeSubmission:
        submission = await self.session.get(FeeSubmission, submission_id)
        if submission is None:
            raise NotFound(N_("This payment report no longer exists."))
        if not viewer.is_reviewer or viewer.branch_id != submission.branch_id:
            await self.audit(
                "fees.denied",
                actor=viewer,
                branch_id=submission.branch_id,
                subject_type="fee_submission",
                subject_id=submission_id,
            )
            raise NotAllowed(N_("Only the branch secretary can do this."))
        if submission.status is not SubmissionStatus.PENDING:
            decider = (
                await self.session.get(Person, submission.decided_by_person_id)
                if submission.decided_by_person_id
                else None
            )
            name = decider.full_name if decider else "?"
            if submission.status is SubmissionStatus.CONFIRMED:
                raise Conflict(N_("Already confirmed by {name}."), name=name)
            raise Conflict(N_("Already queried by {name}."), name=name)
        await ensure_not_author(
            self,
            viewer,
            submission.person_id,
            branch_id=submission.branch_id,
            subject_type="fee_submission",
            subject_id=submission.id,
        )
        return submission

    async def _info(self, submission: FeeSubmission, decided_by: str | None) -> SubmissionInfo:
        months = (
            await self.session.scalars(
                select(FeeSubmissionMonth.month)
                .where(FeeSubmissionMonth.submission_id == submission.id)
                .order_by(FeeSubmissionMonth.month)
            )
        ).all()
        person = await self.session.get(Person, submission.person_id)
        account = await repo.account_of_person(self.session, submission.person_id)
        return SubmissionInfo(
            id=submission.id,
            branch_id=submission.branch_id,
            person_id=submission.person_id,
            member_name=person.full_name if person else "?",
            member_telegram_id=account.telegram_user_id if account else None,
            months=tuple(Month.parse(m) for m in months),
            total=submission.total,
            status=submission.status,
            photo_file_id=submission.photo_file_id,
            decided_by=decided_by,
            query_reason=submission.query_reason,
        )

    async def check_decidable(self, viewer: Viewer, submission_id: int) -> SubmissionInfo:
        """Rights and state check before asking the secretary for a query's reason."""
        return await self._info(await self._submission(viewer, submission_id), None)

    async def confirm(self, viewer: Viewer, submission_id: int) -> SubmissionInfo:
        submission = await self._submission(viewer, submission_id)
        now = self.clock.now()
        submission.status = SubmissionStatus.CONFIRMED
        submission.decided_at = now
        submission.decided_by_person_id = viewer.person_id
        items = (
            await self.session.scalars(
                select(FeeSubmissionMonth)
                .where(FeeSubmissionMonth.submission_id == submission.id)
                .order_by(FeeSubmissionMonth.month)
            )
        ).all()
        for item in items:
            self.session.add(
                FeeRegisterEntry(
                    branch_id=submission.branch_id,
                    person_id=submission.person_id,
                    month=item.month,
                    amount=item.amount,
                    submission_id=submission.id,
                    recorded_at=now,
                    recorded_by_person_id=viewer.person_id,
                )
            )
        await self.session.flush()
        await self.audit(
            "fees.confirm",
            actor=viewer,
            branch_id=submission.branch_id,
            subject_type="fee_submission",
            subject_id=submission.id,
            months=[i.month for i in items],
            total=str(submission.total),
        )
        return await self._info(submission, viewer.full_name or viewer.display_name)

    async def query(self, viewer: Viewer, submission_id: int, reason: str) -> SubmissionInfo:
        reason = reason.strip()
        if not reason:
            raise DomainError(N_("Please write what is unclear about this payment."))
        if len(reason) > MAX_REASON:
            raise DomainError(
                N_("Please keep the question under {max} characters."), max=MAX_REASON
            )
        submission = await self._submission(viewer, submission_id)
        submission.status = SubmissionStatus.QUERIED
        submission.decided_at = self.clock.now()
        submission.decided_by_person_id = viewer.person_id
        submission.query_reason = reason
        items = (
            await self.session.scalars(
                select(FeeSubmissionMonth).where(FeeSubmissionMonth.submission_id == submission.id)
            )
        ).all()
        for item in items:
            item.is_open = False  # the member may report these months again
        await self.session.flush()
        await self.audit(
            "fees.query",
            actor=viewer,
            branch_id=submission.branch_id,
            subject_type="fee_submission",
            subject_id=submission.id,
            reason=reason,
        )
        return await self._info(submission, viewer.full_name or viewer.display_name)

    async def correct(
        self, viewer: Viewer, entry_id: int, new_amount: Decimal, note: str
    ) -> FeeRegisterEntry:
        """Correct a register line: a new row with the difference, pointing at the old."""
        if isinstance(new_amount, float):
            raise TypeError("money must be a Decimal")
        entry = await self.session.get(FeeRegisterEntry, entry_id)
        if entry is None:
            raise NotFound(N_("This register entry does not exist."))
        self._require_reviewer(viewer, entry.branch_id)
        if new_amount < 0:
            raise DomainError(N_("An amount cannot be negative."))
        amounts = (
            await self.session.scalars(
                select(FeeRegisterEntry.amount).where(
                    FeeRegisterEntry.person_id == entry.person_id,
                    FeeRegisterEntry.month == entry.month,
                )
            )
        ).all()
        net = sum(amounts, Decimal("0.00"))
        difference = (new_amount - net).quantize(Decimal("0.01"))
        if difference == 0:
            raise Conflict(N_("The register already shows this amount."))
        correction = FeeRegisterEntry(
            branch_id=entry.branch_id,
            person_id=entry.person_id,
            month=entry.month,
            amount=difference,
            corrects_id=entry.id,
            note=note.strip()[:200] or None,
            recorded_at=self.clock.now(),
            recorded_by_person_id=viewer.person_id,
        )
        self.session.add(correction)
        if new_amount == 0:  # the month is unpaid again: let the member report it
            for item in (
                await self.session.scalars(
                    select(FeeSubmissionMonth).where(
                        FeeSubmissionMonth.person_id == entry.person_id,
                        FeeSubmissionMonth.month == entry.month,
                        FeeSubmissionMonth.is_open.is_(True),
                    )
                )
            ).all():
                item.is_open = False
        await self.session.flush()
        await self.audit(
            "fees.correct",
            actor=viewer,
            branch_id=entry.branch_id,
            subject_type="fee_register",
            subject_id=correction.id,
            corrects=entry.id,
            difference=str(difference),
            note=note,
        )
        return correction

    # -- the secretary's views ------------------------------------------------------
    async def month_summary(self, viewer: Viewer, month: Month | None = None) -> MonthSummary:
        branch = await self._branch(self._require_reviewer(viewer))
        return (await self.month_summaries(viewer, [month or self.current_month(branch)]))[0]

    async def month_summaries(self, viewer: Viewer, months: list[Month]) -> list[MonthSummary]:
        """The summaries of several months from one read of the branch (the dashboard's
        series): each month's figures are those of ``month_summary``; the members' owed
        months (``MemberFees.owed``) run to the last of ``months``."""
        branch_id = self._require_reviewer(viewer)
        branch = await self._branch(branch_id)
        rows = await repo.branch_members(self.session, branch_id, statuses=PARTY_STATUSES)
        members = await self._member_fees(branch, rows, max(months))
        liable = tuple(m for m in members if m.start is not None)
        return [MonthSummary(branch.name, month, liable) for month in months]

    async def nudge_targets(self, viewer: Viewer, month: Month) -> list[NudgeTarget]:
        """Members who have not paid ``month``, to remind; refuses a repeat within minutes."""
        summary = await self.month_summary(viewer, month)
        assert viewer.branch_id is not None
        recent = await self.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.branch_id == viewer.branch_id,
                AuditEntry.action == "fees.nudge",
                AuditEntry.subject_id == month.key,
                AuditEntry.at > self.clock.now() - NUDGE_COOLDOWN,
            )
        )
        if recent:
            raise Conflict(N_("The members were reminded a moment ago."))
        targets = [
            NudgeTarget(
                member.person_id,
                member.telegram_id,
                member.name,
                month,
                state.due,
                len(member.owed),
            )
            for member, state in summary.unpaid
            if member.telegram_id is not None
        ]
        await self.audit(
            "fees.nudge",
            actor=viewer,
            subject_type="fee_month",
            subject_id=month.key,
            people=[t.person_id for t in targets],
        )
        return targets

    # -- arrears ------------------------------------------------------------------
    async def branch_ids(self) -> list[int]:
        return list((await self.session.scalars(select(Branch.id).order_by(Branch.id))).all())

    async def new_arrears_alerts(self, branch_id: int) -> list[ArrearsAlertInfo]:
        """Record and return the arrears alerts not yet sent (3 months, urgent at 6).
        Only complete months count; a payment waiting for confirmation is not arrears."""
        branch = await self._branch(branch_id)
        last_complete = self.current_month(branch).prev()
        rows = await repo.branch_members(self.session, branch_id, statuses=PARTY_STATUSES)
        members = await self._member_fees(branch, rows, last_complete)
        reviewers = await repo.branch_reviewers(self.session, branch_id)
        reviewer_ids = tuple(r.account.telegram_user_id for r in reviewers if r.account)
        alerts: list[ArrearsAlertInfo] = []
        for member in members:
            if member.start is None:
                continue
            settled = {m.month for m in member.months if not m.is_owed}
            streak = unpaid_streak(member.start, last_complete, settled)
            if streak is None:
                continue
            since, length = streak
            reached = [level for level in ARREARS_LEVELS if length >= level]
            if not reached:
                continue
            existing = set(
                (
                    await self.session.scalars(
                        select(FeeArrearsAlert.level).where(
                            FeeArrearsAlert.person_id == member.person_id,
                            FeeArrearsAlert.since_month == since.key,
                        )
                    )
                ).all()
            )
            new_levels = [level for level in reached if level not in existing]
            if not new_levels:
                continue
            for level in new_levels:  # a run found at 6 records 3 too: one alert, urgent
                self.session.add(
                    FeeArrearsAlert(
                        branch_id=branch_id,
                        person_id=member.person_id,
                        level=level,
                        since_month=since.key,
                        created_at=self.clock.now(),
                    )
                )
            # Unique per (person, level, run): a concurrent run fails here and rolls back.
            await self.session.flush()
            top = max(new_levels)
            streak_months = [m for m in member.months if m.month >= since]
            owed_total: Decimal | None = Decimal("0.00")
            for m in streak_months:
                owed_total = None if m.due is None or owed_total is None else owed_total + m.due
            alerts.append(
                ArrearsAlertInfo(
                    branch_id=branch_id,
                    person_id=member.person_id,
                    name=member.name,
                    level=top,
                    since=since,
                    months=length,
                    owed_total=owed_total,
                    reviewers=reviewer_ids,
                    urgent=top >= ARREARS_LEVELS[-1],
                )
            )
            await self.audit(
                "fees.arrears",
                branch_id=branch_id,
                subject_type="person",
                subject_id=member.person_id,
                level=top,
                since=since.key,
                months=length,
            )
        return alerts

    # -- export ---------------------------------------------------------------------
    async def year_register(self, viewer: Viewer, year: int) -> YearRegister:
        branch_id = self._require_reviewer(viewer)
        if not 2000 <= year <= 2100:
            raise DomainError(N_("Please give a year like 2026."))
        branch = await self._branch(branch_id)
        rows = await repo.branch_members(self.session, branch_id, statuses=PARTY_STATUSES)
        until = min(Month(year, 12), max(self.current_month(branch), Month(year, 1)))
        members = await self._member_fees(branch, rows, until, since=Month(year, 1))
        paid = await self._paid(branch_id, [r.person.id for r in rows])
        register = YearRegister(branch.name, year, members)
        for person_id, months in paid.items():
            register.paid[person_id] = {m: v for m, v in months.items() if m.year == year}
        return register


def months_arg(months: list[Month]) -> str:
    """Callback argument for a run of months: ``2026-03`` or ``2026-01.2026-03``."""
    first, last = min(months), max(months)
    return first.key if first == last else f"{first.key}.{last.key}"


def parse_months_arg(arg: str | None) -> list[Month] | None:
    if not arg:
        return None
    first_text, sep, last_text = arg.partition(".")
    try:
        first = Month.parse(first_text)
        last = Month.parse(last_text) if sep else first
    except ValueError:
        return None
    if last < first or last - first > 120:
        return None
    return month_range(first, last)
