# i18n-domain: points
"""The points scheme (党员积分制管理): catalogue, claims and their review, the ledger,
quarterly scores, the quarter close and rankings. Rules live in ``points_rules``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.i18n import N_
from domain import points_rules as rules
from domain.base import Service
from domain.errors import DomainError, NotAllowed, NotFound
from domain.membership import BRANCH_CREATED_HOOKS, MembershipService
from domain.periods import Quarter, local_today
from domain.points_catalogue import default_catalogue, indicator_keys, localized
from domain.points_rules import PointsSettings
from domain.viewer import Viewer
from store import repositories as repo
from store.models import (
    Branch,
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
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


def parse_points(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace("＋", "+").replace("－", "-").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise DomainError(N_("Please send a number of points, for example 2 or 0.5.")) from None
    if (
        not value.is_finite()
        or abs(value) > POINTS_LIMIT
        or value != value.quantize(Decimal("0.01"))
    ):
        raise DomainError(N_("Please send a number of points, for example 2 or 0.5."))
    return value


class PointsService(Service):
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
            raise NotAllowed(
                N_("Only the branch secretary or a reviewing committee member can do this.")
            )
        if branch_id is not None and viewer.branch_id != branch_id:
            raise NotAllowed(
                N_("Only the branch secretary or a reviewing committee member can do this.")
            )
        return viewer.branch_id

    @staticmethod
    def _secretary(viewer: Viewer) -> int:
        if not viewer.is_secretary or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        return viewer.branch_id

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

    # -- catalogue ------------------------------------------------------------------------
    async def install_default_catalogue(self, branch_id: int) -> int:
        """Copy the shipped catalogue into a branch (items it already has are kept)."""
        existing = set(
            (
                await self.session.scalars(
                    select(PointItem.key).where(PointItem.branch_id == branch_id)
                )
            ).all()
        )
        now = self.clock.now()
        added = 0
        for position, item in enumerate(default_catalogue().items):
            if item.key in existing:
                continue
            self.session.add(
                PointItem(
                    branch_id=branch_id,
                    key=item.key,
                    indicator=item.indicator,
                    block=PointBlock(item.block),
                    points=item.points,
                    cap_per_quarter=item.cap_per_quarter,
                    evidence_required=item.evidence,
                    names=item.names,
                    descriptions=item.descriptions,
                    position=position,
                    created_at=now,
                    updated_at=now,
                )
            )
            added += 1
        await self.session.flush()
        if added:
            await self.audit(
                "points.catalogue.install",
                branch_id=branch_id,
                subject_type="branch",
                subject_id=branch_id,
                items=added,
            )
        return added

    async def items(
        self, branch_id: int, *, indicator: str | None = None, include_retired: bool = False
    ) -> list[ItemInfo]:
        stmt = select(PointItem).where(PointItem.branch_id == branch_id)
        if indicator is not None:
            stmt = stmt.where(PointItem.indicator == indicator)
        if not include_retired:
            stmt = stmt.where(PointItem.retired_at.is_(None))
        rows = (await self.session.scalars(stmt.order_by(PointItem.position, PointItem.id))).all()
        return [_item_info(r) for r in rows]

    async def item(self, viewer: Viewer, item_id: int) -> ItemInfo:
        item = await self.session.get(PointItem, item_id)
        if item is None or item.branch_id != viewer.branch_id:
            raise NotFound(N_("This item does not exist."))
        return _item_info(item)

    async def _own_item(self, viewer: Viewer, item_id: int) -> PointItem:
        branch_id = self._secretary(viewer)
        item = await self.session.get(PointItem, item_id)
        if item is None or item.branch_id != branch_id:
            raise NotFound(N_("This item does not exist."))
        return item

    async def add_item(
        self,
        viewer: Viewer,
        *,
        indicator: str,
        block: PointBlock,
        name: str,
        points: Decimal,
        cap: Decimal | None,
        evidence: bool = False,
    ) -> ItemInfo:
        branch_id = self._secretary(viewer)
        name = " ".join(name.split())
        if not name or len(name) > ITEM_NAME_MAX:
            raise DomainError(N_("An item name is 1 to {n} characters."), n=ITEM_NAME_MAX)
        if indicator not in indicator_keys():
            raise DomainError(N_("Unknown indicator."))
        points = self._check_item_points(block, points)
        cap = self._check_cap(cap)
        count = await self.session.scalar(
            select(func.count(PointItem.id)).where(PointItem.branch_id == branch_id)
        )
        now = self.clock.now()
        item = PointItem(
            branch_id=branch_id,
            key=f"custom_{int(count or 0) + 1}_{int(now.timestamp()) % 100000}",
            indicator=indicator,
            block=block,
            points=points,
            cap_per_quarter=cap,
            evidence_required=evidence,
            names={"zh_Hans": name, "zh_Hant": name, "en": name},
            descriptions={},
            position=1000 + int(count or 0),
            created_at=now,
            updated_at=now,
        )
        self.session.add(item)
        await self.session.flush()
        await self.audit(
            "points.item.add",
            actor=viewer,
            subject_type="point_item",
            subject_id=item.id,
            name=name,
            block=block.value,
            points=str(points),
            cap=None if cap is None else str(cap),
        )
        return _item_info(item)

    @staticmethod
    def _check_item_points(block: PointBlock, points: Decimal) -> Decimal:
        if points == 0:
            raise DomainError(N_("Points cannot be zero."))
        if block is PointBlock.BASE and points > 0:
            points = -points  # base items are deductions
        if block is not PointBlock.BASE and points < 0:
            raise DomainError(
                N_("Special bonus and extra reward items add points; use a positive number.")
            )
        return points

    @staticmethod
    def _check_cap(cap: Decimal | None) -> Decimal | None:
        if cap is None or cap == 0:
            return None
        if cap < 0 or cap > POINTS_LIMIT:
            raise DomainError(N_("A cap is a positive number of points, or 0 for no cap."))
        return cap

    async def change_item(
        self,
        viewer: Viewer,
        item_id: int,
        *,
        points: Decimal | None = None,
        cap: Decimal | bool | None = False,
        evidence: bool | None = None,
        retired: bool | None = None,
    ) -> ItemInfo:
        """Change an item. ``cap=False`` leaves the cap alone; ``None`` or 0 removes it.
        Points already granted keep their value (the ledger holds a copy)."""
        item = await self._own_item(viewer, item_id)
        changes: dict[str, Any] = {}
        if points is not None:
            new = self._check_item_points(item.block, points)
            changes["points"] = [str(item.points), str(new)]
            item.points = new
        if cap is not False:
            new_cap = self._check_cap(cap if isinstance(cap, Decimal) else None)
            changes["cap"] = [
                None if item.cap_per_quarter is None else str(item.cap_per_quarter),
                None if new_cap is None else str(new_cap),
            ]
            item.cap_per_quarter = new_cap
        if evidence is not None:
            changes["evidence"] = [item.evidence_required, evidence]
            item.evidence_required = evidence
        if retired is not None and retired != (item.retired_at is not None):
            changes["retired"] = retired
            item.retired_at = self.clock.now() if retired else None
        if changes:
            item.updated_at = self.clock.now()
            await self.session.flush()
            await self.audit(
                "points.item.change",
                actor=viewer,
                subject_type="point_item",
                subject_id=item.id,
                **changes,
            )
        return _item_info(item)

    # -- grants ---------------------------------------------------------------------------
    async def grant_system(
        self,
        person_id: int,
        item_key: str,
        *,
        occurred_on: date,
        source: str,
        source_ref: str,
        note: str | None = None,
    ) -> int | None:
        """Grant catalogue item ``item_key`` of the person's branch to the person (for
        other features, e.g. a passed quiz), respecting the item's per-quarter cap.
        Idempotent: returns None when (source, source_ref) was already granted, or when
        the person has no branch or the item is missing or retired; else the entry id."""
        existing = await self.session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.source == source, LedgerEntry.source_ref == source_ref
            )
        )
        if existing is not None:
            return None
        membership = await repo.current_membership(self.session, person_id)
        if membership is None:
            return None
        item = await self.session.scalar(
            select(PointItem).where(
                PointItem.branch_id == membership.branch_id, PointItem.key == item_key
            )
        )
        if item is None or item.retired_at is not None:
            return None
        try:
            async with self.session.begin_nested():
                entry = await self._record(
                    branch_id=membership.branch_id,
                    person_id=person_id,
                    item=item,
                    occurred_on=occurred_on,
                    kind=LedgerKind.SYSTEM,
                    requested=item.points,
                    source=source,
                    source_ref=source_ref,
                    note=note,
                    by_person_id=None,
                )
        except IntegrityError:
            return None  # granted concurrently by another unit of work
        await self.audit(
            "points.grant.system",
            branch_id=membership.branch_id,
            subject_type="ledger",
            subject_id=entry.id,
            person=person_id,
            item=item_key,
            points=str(entry.points),
            source=source,
            source_ref=source_ref,
        )
        return entry.id


async def _install_catalogue_hook(service: MembershipService, branch: Branch) -> None:
    await PointsService(service.session, service.clock).install_default_catalogue(branch.id)


BRANCH_CREATED_HOOKS.append(_install_catalogue_hook)
