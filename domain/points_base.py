# i18n-domain: points
"""The points scheme's shared ground: limits, the plain data handed to handlers, the
parsing of typed points and ``PointsBase``, the service helpers (rights, names, the
ledger write) every part of ``PointsService`` builds on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from domain import points_rules as rules
from domain.base import Service
from domain.errors import DomainError, NotAllowed, NotFound
from domain.periods import Quarter, local_today
from domain.points_catalogue import localized
from domain.points_rules import PointsSettings
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Branch,
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
    Membership,
    Person,
    PointBlock,
    PointItem,
    QuarterClose,
)

DESCRIPTION_MAX = 500
REASON_MAX = 300
ITEM_NAME_MAX = 100
OVERDUE_AFTER = timedelta(days=3)
POINTS_LIMIT = Decimal("100")
REVIEWERS_ONLY = N_("Only the secretary or a committee member with review rights can do this.")


# -- plain data handed to handlers -----------------------------------------------------
@dataclass(frozen=True)
class ItemInfo:
    id: int
    key: str
    indicator: str
    block: PointBlock
    points: Decimal
    cap: Decimal | None
    evidence: bool
    names: dict[str, Any]
    retired: bool

    def name(self, locale: str) -> str:
        return localized(self.names, locale)


def _item_info(item: PointItem) -> ItemInfo:
    return ItemInfo(
        id=item.id,
        key=item.key,
        indicator=item.indicator,
        block=item.block,
        points=item.points,
        cap=item.cap_per_quarter,
        evidence=item.evidence_required,
        names=dict(item.names or {}),
        retired=item.retired_at is not None,
    )


@dataclass(frozen=True)
class ClaimInfo:
    id: int
    branch_id: int
    person_id: int
    person_name: str
    telegram_user_id: int | None
    item: ItemInfo
    occurred_on: date
    quarter: str
    description: str
    evidence_kind: str | None
    evidence_file_id: str | None
    status: ClaimStatus
    created_at: datetime
    decided_by: str | None = None
    reason: str | None = None
    awarded: Decimal | None = None
    requested: Decimal | None = None


@dataclass(frozen=True)
class EntryInfo:
    id: int
    person_id: int
    person_name: str
    quarter: str
    occurred_on: date
    kind: LedgerKind
    item_key: str | None
    item_name: str | None
    indicator: str
    block: PointBlock
    points: Decimal
    requested: Decimal
    note: str | None
    reverses_id: int | None
    reversed: bool
    created_at: datetime


@dataclass(frozen=True)
class GrantResult:
    entry_id: int
    person_id: int
    person_name: str
    telegram_user_id: int | None
    item_names: dict[str, Any]
    points: Decimal
    requested: Decimal
    reason: str | None
    quarter: str

    @property
    def capped(self) -> bool:
        return self.points != self.requested


@dataclass(frozen=True)
class Decision:
    claim: ClaimInfo
    approved: bool
    points: Decimal | None
    requested: Decimal | None
    decided_by: str


@dataclass(frozen=True)
class MemberScore:
    person_id: int
    name: str
    telegram_user_id: int | None
    figures: rules.QuarterFigures
    by_indicator: dict[str, Decimal]
    rank: int = 0


@dataclass(frozen=True)
class QuarterCloseResult:
    branch_id: int
    quarter: Quarter
    below: list[tuple[MemberScore, bool]]  # (score, 诫勉 = second consecutive quarter)
    secretary_telegram_ids: list[int]


@dataclass
class Overview:
    quarter: Quarter
    figures: rules.QuarterFigures
    by_indicator: dict[str, Decimal]
    year: list[tuple[Quarter, Decimal, bool]]  # (quarter, total, final)
    annual: rules.AnnualFigures
    recent: list[EntryInfo] = field(default_factory=list)
    settings: PointsSettings = field(default_factory=PointsSettings)


def _decimal(value: object) -> Decimal:
    """A SQL sum of points as an exact Decimal (SQLite may hand back a float)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(f"{value:.2f}")
    return Decimal(str(value or 0))


def _money(value: object) -> Decimal:
    """A two-decimal money column read raw (no type processing), as SQLAlchemy's
    ``Numeric(12, 2)`` would give it: SQLite may hand back an int or a float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(f"{value:.2f}")
    return Decimal(str(value))


def parse_points(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace("＋", "+").replace("－", "-").replace(",", "."))
        if (
            not value.is_finite()
            or abs(value) > POINTS_LIMIT
            or value != value.quantize(Decimal("0.01"))
        ):
            raise ValueError(text)
    except (ArithmeticError, ValueError):  # InvalidOperation, Overflow ("1e999999999")
        raise DomainError(N_("Please send a number of points, for example 2 or 0.5.")) from None
    return value


class PointsBase(Service):
    """Helpers of the points service: rights, names, the branch's settings, the ledger
    write. The service is built in layers (scheme, ledger, claims, ranking)."""

    # -- helpers ------------------------------------------------------------------------
    async def _branch(self, branch_id: int) -> Branch:
        branch = await self.session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(N_("This branch no longer exists."))
        return branch

    async def settings(self, branch_id: int) -> PointsSettings:
        return PointsSettings.from_branch((await self._branch(branch_id)).settings)

    async def today(self, branch_id: int) -> date:
        branch = await self._branch(branch_id)
        return local_today(self.clock.now(), branch.timezone)

    @staticmethod
    def _member(viewer: Viewer) -> tuple[int, int]:
        if viewer.person_id is None or viewer.branch_id is None:
            raise NotAllowed(N_("Only members of a branch can do this."))
        return viewer.person_id, viewer.branch_id

    @staticmethod
    def _reviewer(viewer: Viewer, branch_id: int | None = None) -> int:
        if not viewer.is_reviewer or viewer.branch_id is None:
            raise NotAllowed(REVIEWERS_ONLY)
        if branch_id is not None and viewer.branch_id != branch_id:
            raise NotAllowed(REVIEWERS_ONLY)
        return viewer.branch_id

    @staticmethod
    def _secretary(viewer: Viewer) -> int:
        if not viewer.is_secretary or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        return viewer.branch_id

    async def _joined_quarter(self, viewer: Viewer, timezone: str) -> Quarter | None:
        """The quarter the viewer's membership of this branch began in (local time)."""
        if viewer.membership_id is None:
            return None
        started = viewer.membership_started_at
        if started is None:  # a viewer made without it (tests, older callers)
            started = await self.session.scalar(
                select(Membership.started_at).where(Membership.id == viewer.membership_id)
            )
        return None if started is None else Quarter.of(local_today(started, timezone))

    async def _person_name(self, person_id: int | None) -> str:
        if person_id is None:
            return "?"
        person = await self.session.get(Person, person_id)
        return person.full_name if person else "?"

    async def _telegram_id(self, person_id: int) -> int | None:
        account = await repo.account_of_person(self.session, person_id)
        return account.telegram_user_id if account else None

    async def _is_closed(self, branch_id: int, quarter: Quarter) -> bool:
        row = await self.session.scalar(
            select(QuarterClose.id).where(
                QuarterClose.branch_id == branch_id, QuarterClose.quarter == quarter.key
            )
        )
        return row is not None

    async def _item_total(self, person_id: int, item_id: int, quarter: str) -> Decimal:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
                LedgerEntry.person_id == person_id,
                LedgerEntry.item_id == item_id,
                LedgerEntry.quarter == quarter,
            )
        )
        return Decimal(str(total or 0))

    async def _record(
        self,
        *,
        branch_id: int,
        person_id: int,
        item: PointItem,
        occurred_on: date,
        kind: LedgerKind,
        requested: Decimal,
        source: str | None,
        source_ref: str | None,
        note: str | None,
        by_person_id: int | None,
        claim_id: int | None = None,
    ) -> LedgerEntry:
        """Append a ledger entry for ``item``, applying its per-quarter cap."""
        quarter = Quarter.of(occurred_on).key
        already = await self._item_total(person_id, item.id, quarter)
        points = rules.capped_points(requested, item.cap_per_quarter, already)
        entry = LedgerEntry(
            branch_id=branch_id,
            person_id=person_id,
            quarter=quarter,
            occurred_on=occurred_on,
            kind=kind,
            item_id=item.id,
            item_key=item.key,
            item_name=localized(item.names, "zh_Hans")[:200],
            indicator=item.indicator,
            block=item.block,
            points=points,
            requested_points=requested,
            claim_id=claim_id,
            source=source,
            source_ref=source_ref,
            note=note,
            created_by_person_id=by_person_id,
            created_at=self.clock.now(),
        )
        self.session.add(entry)
        await self.session.flush()
        return entry
