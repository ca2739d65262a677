# i18n-domain: org
"""The organisation level (党委 → 党总支 → 党支部): organisations, their administrators,
branches created and secretaries named from above, and the oversight of every branch.

An organisation administrator sees every branch below their organisations. The
figures of the oversight are the branches' own views (``PointsService.member_scores``,
``FeeService.month_summary``, ``ReportService.overview``, ``QuizService`` results, the
meetings' ``ComplianceService.compliance`` and ``TalkService.coverage`` through
``domain.org_life``), read through a *branch lens*: a read-only secretary's viewer of
that branch, so the numbers an administrator sees equal the ones the secretary sees."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import meetings_rules
from domain.base import Service
from domain.clock import Clock
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.fee_rules import Month
from domain.org_life import LifeFigures, life_figures
from domain.periods import Quarter
from domain.points_rules import WARNING_THRESHOLD
from domain.roles import PersonStatus, Role
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import Branch, Membership, OrgAdmin, Organisation, Person, QuarterClose

if TYPE_CHECKING:
    from domain.services import Services


class OrgKind(enum.StrEnum):
    COMMITTEE = "committee"  # 党委
    GENERAL = "general"  # 党总支


_KIND_LABELS = {OrgKind.COMMITTEE: N_("Party committee"), OrgKind.GENERAL: N_("general branch")}


def kind_label(kind: str) -> str:
    """Untranslated label of an organisation kind (translate with the viewer's gettext)."""
    try:
        return _KIND_LABELS[OrgKind(kind)]
    except ValueError:
        return kind


#: Messages of the ``branchbot org`` command line.
ORG_CREATED = N_("Organisation {name} created (No. {id}).")
BRANCH_ATTACHED = N_("{branch} now belongs to organisation No. {id}.")
ADMIN_ADDED = N_("Telegram user {id} is now an administrator.")
ADMIN_EXISTED = N_("Telegram user {id} already was an administrator.")
MAX_NAME = 120


@dataclass(frozen=True)
class OrgInfo:
    id: int
    name: str
    kind: str
    parent_id: int | None

    @classmethod
    def of(cls, org: Organisation) -> OrgInfo:
        return cls(org.id, org.name, org.kind, org.parent_id)


@dataclass(frozen=True)
class SecretaryChange:
    branch_id: int
    branch_name: str
    new_name: str
    new_telegram_id: int
    old_name: str | None
    old_telegram_id: int | None


class Flag(enum.StrEnum):
    """A rule broken in a branch (a 🔴 in the oversight)."""

    BELOW_60 = "below_60"
    WARNING = "warning"  # 诫勉: below 60 two quarters running
    ARREARS_6 = "arrears_6"  # six months unpaid: treated as leaving the Party
    REPORTS_OVERDUE = "reports_overdue"
    EXAM_FAILED = "exam_failed"
    MEETINGS_MISSED = "meetings_missed"  # a period over with its required meeting not held


FLAG_LABELS = {
    Flag.BELOW_60: N_("members below 60 points"),
    Flag.WARNING: N_("诫勉 (below 60 twice)"),
    Flag.ARREARS_6: N_("fees unpaid for 6 months"),
    Flag.REPORTS_OVERDUE: N_("thought reports overdue"),
    Flag.EXAM_FAILED: N_("exam pass rate below 60%"),
    Flag.MEETINGS_MISSED: N_("required meetings not held"),
}


@dataclass(frozen=True)
class BranchOversight:
    """One branch's row of the oversight table."""

    branch_id: int
    name: str
    organisation: str
    secretary: str | None
    members: int
    quarter: str
    scored: int  # Party members with a score this quarter
    pending_claims: int
    quarter_closed: bool
    below_60: int
    warnings: int
    average: Decimal | None
    fee_month: str
    fee_liable: int
    fee_paid: int
    fee_pending: int
    arrears_3: int
    arrears_6: int
    reports_owed: int
    reports_overdue: int
    exam_title: str | None
    exam_passed: int
    exam_total: int
    #: Organisational life (meetings compliance, talks) of the quarter; None: not read.
    life: LifeFigures | None = None
    flags: tuple[Flag, ...] = field(default_factory=tuple)

    @property
    def fee_rate(self) -> int | None:
        return round(100 * self.fee_paid / self.fee_liable) if self.fee_liable else None

    @property
    def exam_rate(self) -> int | None:
        return round(100 * self.exam_passed / self.exam_total) if self.exam_total else None


#: Sort keys of the oversight table: the worst first for every figure.
SORT_KEYS: dict[str, str] = {
    "flags": N_("flags"),
    "name": N_("name"),
    "points": N_("points"),
    "fees": N_("fees"),
    "reports": N_("reports"),
    "exams": N_("exams"),
    "meetings": N_("meetings"),
}


def sort_rows(rows: list[BranchOversight], key: str) -> list[BranchOversight]:
    def order(r: BranchOversight) -> tuple[object, ...]:
        if key == "name":
            return (r.name, r.branch_id)
        if key == "points":
            return (-r.below_60, -r.warnings, r.average or Decimal(0), r.name)
        if key == "fees":
            return (r.fee_rate if r.fee_rate is not None else 101, -r.arrears_6, r.name)
        if key == "reports":
            return (-r.reports_overdue, -r.reports_owed, r.name)
        if key == "exams":
            return (r.exam_rate if r.exam_rate is not None else 101, r.name)
        if key == "meetings":
            missed = len(r.life.missed) if r.life else 0
            rate = r.life.rate if r.life and r.life.rate is not None else 101
            return (-missed, rate, r.name)
        return (-len(r.flags), r.name, r.branch_id)

    return sorted(rows, key=order)


def branch_lens(branch: Branch, viewer: Viewer) -> Viewer:
    """A read-only secretary's view of ``branch`` for an administrator: used only to
    read the branch's own figures, never to change anything."""
    return Viewer(
        telegram_user_id=viewer.telegram_user_id,
        display_name=viewer.display_name,
        locale=viewer.locale,
        person_id=viewer.person_id or -1,
        full_name=viewer.full_name,
        status=PersonStatus.MEMBER,
        branch_id=branch.id,
        branch_name=branch.name,
        branch_timezone=branch.timezone,
        role=Role.SECRETARY,
        can_review=True,
    )


class OrganisationService(Service):
    def __init__(self, session: AsyncSession, clock: Clock, services: Services) -> None:
        super().__init__(session, clock)
        self.services = services

    # -- organisations (CLI and chat) ----------------------------------------------
    async def create(
        self,
        name: str,
        *,
        admin_telegram_id: int | None = None,
        kind: OrgKind = OrgKind.COMMITTEE,
        parent_id: int | None = None,
        actor: Viewer | None = None,
    ) -> OrgInfo:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise DomainError(N_("An organisation name is 1 to 120 characters."))
        if parent_id is not None and await self.session.get(Organisation, parent_id) is None:
            raise NotFound(N_("No organisation has the number {id}."), id=parent_id)
        org = Organisation(
            name=name, kind=kind.value, parent_id=parent_id, created_at=self.clock.now()
        )
        self.session.add(org)
        await self.session.flush()
        await self.audit(
            "org.create",
            actor=actor,
            branch_id=None,
            subject_type="organisation",
            subject_id=org.id,
            name=name,
            kind=kind.value,
            parent=parent_id,
        )
        if admin_telegram_id is not None:
            await self._add_admin(org.id, admin_telegram_id, actor)
        return OrgInfo.of(org)

    async def _org(self, org_id: int) -> Organisation:
        org = await self.session.get(Organisation, org_id)
        if org is None:
            raise NotFound(N_("No organisation has the number {id}."), id=org_id)
        return org

    async def _add_admin(self, org_id: int, telegram_id: int, actor: Viewer | None) -> bool:
        exists = await self.session.scalar(
            select(OrgAdmin.id).where(
                OrgAdmin.organisation_id == org_id, OrgAdmin.telegram_user_id == telegram_id
            )
        )
        if exists is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(
                    OrgAdmin(
                        organisation_id=org_id,
                        telegram_user_id=telegram_id,
                        created_at=self.clock.now(),
                    )
                )
        except IntegrityError:  # a concurrent double tap
            return False
        await self.audit(
            "org.admin",
            actor=actor,
            branch_id=None,
            subject_type="organisation",
            subject_id=org_id,
            admin=telegram_id,
        )
        return True

    async def add_admin(self, org_id: int, telegram_id: int, actor: Viewer | None = None) -> bool:
        """Name an administrator (CLI: anyone at the console; chat: an administrator of
        ``org_id`` or above). False when they already were one."""
        await self._org(org_id)
        if actor is not None and org_id not in await self.scope(actor):
            raise NotAllowed(N_("Only an organisation administrator can do this."))
        return await self._add_admin(org_id, telegram_id, actor)

    async def attach(self, org_id: int, join_code: str, actor: Viewer | None = None) -> str:
        """Put a branch (by its join code) under an organisation; the branch's name."""
        await self._org(org_id)
        branch = await repo.branch_by_code(self.session, join_code.strip().upper())
        if branch is None:
            raise NotFound(N_("No branch has the join code {code}."), code=join_code)
        if branch.organisation_id != org_id:
            branch.organisation_id = org_id
            await self.session.flush()
            await self.audit(
                "org.attach",
                actor=actor,
                branch_id=branch.id,
                subject_type="branch",
                subject_id=branch.id,
                organisation=org_id,
            )
        return branch.name

    async def list_all(self) -> list[OrgInfo]:
        rows = await self.session.scalars(select(Organisation).order_by(Organisation.id))
        return [OrgInfo.of(o) for o in rows.all()]

    # -- who administers what ---------------------------------------------------------
    async def admin_orgs(self, telegram_id: int) -> list[OrgInfo]:
        """The organisations this user administers directly."""
        rows = await self.session.scalars(
            select(Organisation)
            .join(OrgAdmin, OrgAdmin.organisation_id == Organisation.id)
            .where(OrgAdmin.telegram_user_id == telegram_id)
            .order_by(Organisation.id)
        )
        return [OrgInfo.of(o) for o in rows.all()]

    async def is_admin(self, telegram_id: int) -> bool:
        return bool(await self.admin_orgs(telegram_id))

    async def scope(self, viewer: Viewer) -> set[int]:
        """Ids of every organisation the viewer administers, with those below them."""
        roots = {o.id for o in await self.admin_orgs(viewer.telegram_user_id)}
        if not roots:
            return set()
        children: dict[int, list[int]] = {}
        for org_id, parent_id in (
            await self.session.execute(select(Organisation.id, Organisation.parent_id))
        ).all():
            if parent_id is not None:
                children.setdefault(parent_id, []).append(org_id)
        seen: set[int] = set()
        todo = list(roots)
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(children.get(current, []))
        return seen

    async def admins_of_branch(self, branch_id: int) -> tuple[str, list[int]]:
        """The branch's name and the Telegram ids of the administrators of its
        organisation and of every organisation above it (the alerts from below)."""
        branch = await self.session.get(Branch, branch_id)
        if branch is None or branch.organisation_id is None:
            return (branch.name if branch else "", [])
        parents = dict(
            (await self.session.execute(select(Organisation.id, Organisation.parent_id))).all()
        )
        chain: list[int] = []
        current: int | None = branch.organisation_id
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        ids = await self.session.scalars(
            select(OrgAdmin.telegram_user_id)
            .where(OrgAdmin.organisation_id.in_(chain))
            .order_by(OrgAdmin.telegram_user_id)
        )
        return branch.name, list(dict.fromkeys(ids.all()))

    async def require_admin(self, viewer: Viewer) -> set[int]:
        scope = await self.scope(viewer)
        if not scope:
            raise NotAllowed(N_("Only an organisation administrator can do this."))
        return scope

    async def require_dashboard(self, viewer: Viewer) -> None:
        """The dashboard button: for reviewers of a branch and administrators."""
        if not viewer.is_reviewer and not await self.is_admin(viewer.telegram_user_id):
            raise NotAllowed(
                N_("The dashboard is for secretaries and organisation administrators.")
            )

    async def home_org(self, viewer: Viewer, org_id: int | None = None) -> OrgInfo:
        """The organisation a new branch goes under: ``org_id`` if the viewer may, else
        the first they administer."""
        scope = await self.require_admin(viewer)
        if org_id is None:
            return (await self.admin_orgs(viewer.telegram_user_id))[0]
        if org_id not in scope:
            raise NotFound(N_("No organisation has the number {id}."), id=org_id)
        org = await self._org(org_id)
        return OrgInfo.of(org)

    async def branches(self, viewer: Viewer) -> list[Branch]:
        scope = await self.require_admin(viewer)
        rows = await self.session.scalars(
            select(Branch).where(Branch.organisation_id.in_(scope)).order_by(Branch.id)
        )
        return list(rows.all())

    async def branch_of(self, viewer: Viewer, branch_id: int) -> Branch:
        scope = await self.require_admin(viewer)
        branch = await self.session.get(Branch, branch_id)
        if branch is None or branch.organisation_id not in scope:
            raise NotFound(N_("No branch of your organisation has the number {id}."), id=branch_id)
        return branch

    async def can_see_branch(self, viewer: Viewer, branch_id: int) -> bool:
        try:
            await self.branch_of(viewer, branch_id)
        except DomainError:
            return False
        return True

    # -- changes from above -------------------------------------------------------------
    async def new_general(self, viewer: Viewer, name: str) -> OrgInfo:
        """A 党总支 under the viewer's organisation; the viewer administers it too."""
        parent = await self.home_org(viewer)
        if parent.kind != OrgKind.COMMITTEE:
            raise DomainError(N_("A general branch is set up under a Party committee."))
        return await self.create(name, kind=OrgKind.GENERAL, parent_id=parent.id, actor=viewer)

    async def new_branch(
        self, viewer: Viewer, name: str, secretary_telegram_id: int, org_id: int | None = None
    ) -> tuple[str, str, str]:
        """A branch under an organisation of the viewer with its secretary: (branch
        name, join code, organisation name)."""
        org = await self.home_org(viewer, org_id)
        info = await self.services.membership.create_branch(name, secretary_telegram_id)
        branch = await self.session.get(Branch, info.id)
        assert branch is not None
        branch.organisation_id = org.id
        await self.session.flush()
        await self.audit(
            "org.branch_create",
            actor=viewer,
            branch_id=branch.id,
            subject_type="branch",
            subject_id=branch.id,
            organisation=org.id,
            secretary=secretary_telegram_id,
        )
        return info.name, info.join_code, org.name

    async def change_secretary(
        self, viewer: Viewer, branch_id: int, new_telegram_id: int
    ) -> SecretaryChange:
        """Name a member of the branch its secretary; the old secretary stays a member
        without the secretary's rights."""
        branch = await self.branch_of(viewer, branch_id)
        account = await repo.get_account(self.session, new_telegram_id)
        membership = (
            await repo.current_membership(self.session, account.person_id)
            if account is not None and account.person_id is not None
            else None
        )
        if membership is None or membership.branch_id != branch.id:
            raise NotFound(
                N_("Telegram user {id} is not a member of {branch}."),
                id=new_telegram_id,
                branch=branch.name,
            )
        if membership.role is Role.SECRETARY:
            raise Conflict(
                N_("{name} is already the secretary."), name=await self._name(membership)
            )
        old = (
            await self.session.scalars(
                select(Membership).where(
                    Membership.branch_id == branch.id,
                    Membership.ended_at.is_(None),
                    Membership.role == Role.SECRETARY,
                )
            )
        ).all()
        old_name: str | None = None
        old_telegram: int | None = None
        for previous in old:
            previous.role = Role.MEMBER
            previous.can_review = False
            old_name = await self._name(previous)
            old_account = await repo.account_of_person(self.session, previous.person_id)
            old_telegram = old_account.telegram_user_id if old_account else None
        membership.role = Role.SECRETARY
        membership.can_review = True
        await self.session.flush()
        new_name = await self._name(membership)
        await self.audit(
            "org.secretary",
            actor=viewer,
            branch_id=branch.id,
            subject_type="branch",
            subject_id=branch.id,
            new=new_telegram_id,
            old=old_telegram,
        )
        return SecretaryChange(
            branch.id, branch.name, new_name, new_telegram_id, old_name, old_telegram
        )

    async def _name(self, membership: Membership) -> str:
        person = await self.session.get(Person, membership.person_id)
        return person.full_name if person else "?"

    # -- oversight -----------------------------------------------------------------------
    async def oversight(
        self, viewer: Viewer, quarter: Quarter | None = None
    ) -> list[BranchOversight]:
        """Every branch below the viewer's organisations: this quarter, or ``quarter``
        (its points and reports, and the fees of its last month or of this month)."""
        branches = await self.branches(viewer)
        names = {
            o.id: o.name
            for o in (
                await self.session.scalars(
                    select(Organisation).where(
                        Organisation.id.in_({b.organisation_id for b in branches})
                    )
                )
            ).all()
        }
        return [
            await self.branch_figures(b, viewer, names.get(b.organisation_id or 0, ""), quarter)
            for b in branches
        ]

    async def branch_figures(
        self,
        branch: Branch,
        viewer: Viewer,
        organisation: str = "",
        quarter: Quarter | None = None,
    ) -> BranchOversight:
        svc = self.services
        lens = branch_lens(branch, viewer)
        today = await svc.points.today(branch.id)
        if quarter is None or quarter.start > today:
            quarter = Quarter.of(today)
        fee_month = Month.of(min(today, quarter.end))
        scores = await svc.points.member_scores(branch.id, quarter)
        previous = {
            s.person_id: s for s in await svc.points.member_scores(branch.id, quarter.prev())
        }
        below = [s for s in scores if s.figures.total < WARNING_THRESHOLD]
        warnings = [
            s
            for s in below
            if s.person_id in previous and previous[s.person_id].figures.total < WARNING_THRESHOLD
        ]
        closed = (
            await self.session.scalar(
                select(QuarterClose.branch_id).where(
                    QuarterClose.branch_id == branch.id, QuarterClose.quarter == quarter.key
                )
            )
            is not None
        )
        fees = await svc.fees.month_summary(lens, fee_month)
        owed_months = [len(m.owed) for m in fees.members]
        reports = await svc.reports.overview(lens, quarter)
        exam_title: str | None = None
        exam_passed = exam_total = 0
        try:
            exam_id = await svc.quiz.latest_exam_id(lens)
        except NotFound:
            exam_id = None
        if exam_id is not None:
            results = await svc.quiz.exam_results(lens, exam_id)
            exam_title = results.exam.title
            exam_passed = results.count("passed")
            exam_total = len(results.rows)
        members = int(
            await self.session.scalar(
                select(func.count(Membership.id)).where(
                    Membership.branch_id == branch.id, Membership.ended_at.is_(None)
                )
            )
            or 0
        )
        secretary = await self.session.scalar(
            select(Person.full_name)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.branch_id == branch.id,
                Membership.ended_at.is_(None),
                Membership.role == Role.SECRETARY,
            )
        )
        row = BranchOversight(
            branch_id=branch.id,
            name=branch.name,
            organisation=organisation,
            secretary=secretary,
            members=members,
            quarter=quarter.key,
            scored=len(scores),
            pending_claims=await svc.points.pending_count(branch.id),
            quarter_closed=closed,
            below_60=len(below),
            warnings=len(warnings),
            average=average_score([s.figures.total for s in scores]),
            fee_month=str(fees.month),
            fee_liable=fees.liable,
            fee_paid=fees.confirmed_count,
            fee_pending=fees.pending_count,
            arrears_3=sum(1 for n in owed_months if n >= 3),
            arrears_6=sum(1 for n in owed_months if n >= 6),
            reports_owed=len(reports.owed),
            reports_overdue=sum(1 for r in reports.owed if r.overdue),
            exam_title=exam_title,
            exam_passed=exam_passed,
            exam_total=exam_total,
            life=await life_figures(svc, lens, quarter),
        )
        return replace(row, flags=flags_of(row))


def missed_periods(life: LifeFigures, t: Callable[[str], str]) -> list[str]:
    """The required meetings not held, e.g. ``2026-10 支委会``, in ``t``'s language."""
    return [f"{key} {t(meetings_rules.KIND_LABELS[kind])}" for kind, key in life.missed]


def average_score(totals: Sequence[Decimal]) -> Decimal | None:
    """The members' average points, to one decimal (None for no member scored)."""
    return (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.1")) if totals else None


def flags_of(row: BranchOversight) -> tuple[Flag, ...]:
    flags: list[Flag] = []
    if row.below_60:
        flags.append(Flag.BELOW_60)
    if row.warnings:
        flags.append(Flag.WARNING)
    if row.arrears_6:
        flags.append(Flag.ARREARS_6)
    if row.reports_overdue:
        flags.append(Flag.REPORTS_OVERDUE)
    if row.exam_rate is not None and row.exam_rate < 60:
        flags.append(Flag.EXAM_FAILED)
    if row.life is not None and row.life.missed:
        flags.append(Flag.MEETINGS_MISSED)
    return tuple(flags)
