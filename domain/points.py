# i18n-domain: points
"""The points scheme (党员积分制管理): catalogue, claims and their review, the ledger,
quarterly scores, the quarter close and rankings. Rules live in ``points_rules``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType

from domain import points_rules as rules
from domain.base import Service
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.membership import BRANCH_CREATED_HOOKS, MembershipService
from domain.periods import Quarter, local_today
from domain.points_catalogue import default_catalogue, indicator_keys, localized
from domain.points_rules import PointsSettings
from domain.review import ensure_not_author
from domain.roles import PersonStatus, Role
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo

if TYPE_CHECKING:
    from domain.services import Services
from store.models import (
    Branch,
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
    Membership,
    Person,
    PointBlock,
    PointClaim,
    PointItem,
    QuarterClose,
    QuarterScore,
    RankingPublication,
    ReviewDigest,
    TelegramAccount,
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


class PointsService(Service):
    # -- helpers ------------------------------------------------------------------------
    async def _branch(self, branch_id: int) -> Branch:
        branch = await self.session.get(Branch, branch_id)
        if branch is None:
            raise NotFound(N_("This branch no longer exists."))
        return branch

    async def settings(self, branch_id: int) -> PointsSettings:
        return PointsSettings.from_branch((await self._branch(branch_id)).settings)

    #: What ``update_setting`` accepts: name → (lowest, highest).
    SETTING_RANGES: dict[str, tuple[Decimal, Decimal]] = {  # noqa: RUF012
        "base": (Decimal(0), Decimal(100)),
        "special_cap": (Decimal(0), Decimal(50)),
        "extra_cap": (Decimal(0), Decimal(50)),
        "window_days": (Decimal(0), Decimal(60)),
    }

    async def update_setting(self, viewer: Viewer, name: str, value: Decimal) -> PointsSettings:
        """Change one of the scheme's settings for the branch (the secretary). Open
        quarters are scored with the new value at once; closed quarters keep their final
        scores."""
        branch_id = self._secretary(viewer)
        if name not in self.SETTING_RANGES:
            raise DomainError(N_("Unknown setting {name}."), name=name)
        low, high = self.SETTING_RANGES[name]
        if not value.is_finite() or not low <= value <= high:
            raise DomainError(N_("The value must be between {low} and {high}."), low=low, high=high)
        if name == "window_days" and value != value.to_integral_value():
            raise DomainError(N_("The window is a whole number of days."))
        branch = await self._branch(branch_id)
        old = PointsSettings.from_branch(branch.settings)
        settings = dict(branch.settings or {})
        points = dict(settings.get("points") or {})
        points[name] = int(value) if name == "window_days" else str(value.normalize())
        settings["points"] = points
        branch.settings = settings  # a new dict: the JSON column sees the change
        await self.session.flush()
        await self.audit(
            "points.settings",
            actor=viewer,
            subject_type="branch",
            subject_id=branch_id,
            setting=name,
            old=str(getattr(old, name)),
            new=str(points[name]),
        )
        return PointsSettings.from_branch(branch.settings)

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

    # -- claims ---------------------------------------------------------------------------
    async def check_claim_date(self, viewer: Viewer, day: date) -> Quarter:
        _, branch_id = self._member(viewer)
        settings = await self.settings(branch_id)
        today = await self.today(branch_id)
        problem = rules.claim_date_problem(day, today, settings.window_days)
        quarter = Quarter.of(day)
        if problem == "future":
            raise DomainError(N_("The date cannot be in the future."))
        if problem == "closed" or await self._is_closed(branch_id, quarter):
            raise DomainError(
                N_("Claims for {quarter} are closed (the declaration window ended on {day})."),
                quarter=quarter.key,
                day=rules.window_end(quarter, settings.window_days).isoformat(),
            )
        return quarter

    async def claimable_item(self, viewer: Viewer, item_id: int) -> ItemInfo:
        _, branch_id = self._member(viewer)
        item = await self.session.get(PointItem, item_id)
        if item is None or item.branch_id != branch_id or item.retired_at is not None:
            raise NotFound(N_("This item is no longer in the catalogue."))
        return _item_info(item)

    async def _duplicate(self, person_id: int, item_id: int, day: date) -> PointClaim | None:
        return await self.session.scalar(
            select(PointClaim).where(
                PointClaim.person_id == person_id,
                PointClaim.item_id == item_id,
                PointClaim.occurred_on == day,
                PointClaim.status.in_([ClaimStatus.PENDING, ClaimStatus.APPROVED]),
            )
        )

    async def check_duplicate(self, viewer: Viewer, item_id: int, day: date) -> None:
        person_id, _ = self._member(viewer)
        existing = await self._duplicate(person_id, item_id, day)
        if existing is not None:
            raise Conflict(
                N_("You already claimed this item for {day} (claim No. {id})."),
                day=day.isoformat(),
                id=existing.id,
            )

    async def submit_claim(
        self,
        viewer: Viewer,
        *,
        item_id: int,
        occurred_on: date,
        description: str,
        evidence_kind: str | None = None,
        evidence_file_id: str | None = None,
        evidence_name: str | None = None,
    ) -> ClaimInfo:
        person_id, branch_id = self._member(viewer)
        item = await self.claimable_item(viewer, item_id)
        quarter = await self.check_claim_date(viewer, occurred_on)
        description = description.strip()
        if not description or len(description) > DESCRIPTION_MAX:
            raise DomainError(N_("The description is 1 to {n} characters."), n=DESCRIPTION_MAX)
        if item.evidence and not evidence_file_id:
            raise DomainError(N_("This item needs evidence: a photo or a document."))
        await self.check_duplicate(viewer, item_id, occurred_on)
        claim = PointClaim(
            branch_id=branch_id,
            person_id=person_id,
            item_id=item.id,
            occurred_on=occurred_on,
            quarter=quarter.key,
            description=description,
            evidence_kind=evidence_kind if evidence_file_id else None,
            evidence_file_id=evidence_file_id,
            evidence_name=(evidence_name or None) and evidence_name[:128],
            status=ClaimStatus.PENDING,
            created_at=self.clock.now(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(claim)
                await self.session.flush()
        except IntegrityError:
            raise Conflict(
                N_("You already claimed this item for {day}."), day=occurred_on.isoformat()
            ) from None
        await self.audit(
            "points.claim.submit",
            actor=viewer,
            subject_type="point_claim",
            subject_id=claim.id,
            item=item.key,
            occurred_on=occurred_on.isoformat(),
        )
        return await self._claim_info(claim)

    async def _claim_info(self, claim: PointClaim) -> ClaimInfo:
        item = await self.session.get(PointItem, claim.item_id)
        assert item is not None
        entry = (
            await self.session.get(LedgerEntry, claim.ledger_entry_id)
            if claim.ledger_entry_id
            else None
        )
        return ClaimInfo(
            id=claim.id,
            branch_id=claim.branch_id,
            person_id=claim.person_id,
            person_name=await self._person_name(claim.person_id),
            telegram_user_id=await self._telegram_id(claim.person_id),
            item=_item_info(item),
            occurred_on=claim.occurred_on,
            quarter=claim.quarter,
            description=claim.description,
            evidence_kind=claim.evidence_kind,
            evidence_file_id=claim.evidence_file_id,
            status=claim.status,
            created_at=claim.created_at,
            decided_by=(
                await self._person_name(claim.decided_by_person_id)
                if claim.decided_by_person_id
                else None
            ),
            reason=claim.decision_reason,
            awarded=entry.points if entry else None,
            requested=entry.requested_points if entry else None,
        )

    async def claim_for_review(self, viewer: Viewer, claim_id: int) -> ClaimInfo:
        claim = await self.session.get(PointClaim, claim_id)
        if claim is None:
            raise NotFound(N_("This claim does not exist."))
        self._reviewer(viewer, claim.branch_id)
        return await self._claim_info(claim)

    async def _claim_to_decide(self, viewer: Viewer, claim_id: int) -> PointClaim:
        claim = await self.session.get(PointClaim, claim_id)
        if claim is None:
            raise NotFound(N_("This claim does not exist."))
        if not viewer.is_reviewer or viewer.branch_id != claim.branch_id:
            await self.audit(
                "points.claim.denied",
                actor=viewer,
                branch_id=claim.branch_id,
                subject_type="point_claim",
                subject_id=claim.id,
            )
            raise NotAllowed(REVIEWERS_ONLY)
        if claim.status is not ClaimStatus.PENDING:
            raise Conflict(
                N_("Already decided by {name}."),
                name=await self._person_name(claim.decided_by_person_id),
            )
        await ensure_not_author(
            self,
            viewer,
            claim.person_id,
            branch_id=claim.branch_id,
            subject_type="point_claim",
            subject_id=claim.id,
            msgid=N_("You cannot decide your own claim; another reviewer will."),
        )
        if await self._is_closed(claim.branch_id, Quarter.parse(claim.quarter)):
            raise Conflict(N_("{quarter} is closed; its scores are final."), quarter=claim.quarter)
        return claim

    async def check_decidable(self, viewer: Viewer, claim_id: int) -> ClaimInfo:
        """Refuse early (before asking a reason or a number) what ``decide`` would refuse."""
        return await self._claim_info(await self._claim_to_decide(viewer, claim_id))

    async def decide(
        self,
        viewer: Viewer,
        claim_id: int,
        *,
        approve: bool,
        points: Decimal | None = None,
        reason: str | None = None,
    ) -> Decision:
        claim = await self._claim_to_decide(viewer, claim_id)
        item = await self.session.get(PointItem, claim.item_id)
        assert item is not None
        now = self.clock.now()
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > REASON_MAX:
            raise DomainError(N_("The reason is at most {n} characters."), n=REASON_MAX)
        entry: LedgerEntry | None = None
        if approve:
            requested = item.points
            if points is not None:
                if points == 0:
                    raise DomainError(N_("Points cannot be zero."))
                requested = abs(points) if item.points > 0 else -abs(points)
            entry = await self._record(
                branch_id=claim.branch_id,
                person_id=claim.person_id,
                item=item,
                occurred_on=claim.occurred_on,
                kind=LedgerKind.CLAIM,
                requested=requested,
                source="claim",
                source_ref=str(claim.id),
                note=reason or claim.description[:200],
                by_person_id=viewer.person_id,
                claim_id=claim.id,
            )
            claim.status = ClaimStatus.APPROVED
            claim.ledger_entry_id = entry.id
        else:
            if reason is None:
                raise DomainError(N_("Please give a reason for the rejection."))
            claim.status = ClaimStatus.REJECTED
        claim.decided_at = now
        claim.decided_by_person_id = viewer.person_id
        claim.decision_reason = reason
        await self.session.flush()
        await self.audit(
            "points.claim.approve" if approve else "points.claim.reject",
            actor=viewer,
            subject_type="point_claim",
            subject_id=claim.id,
            points=str(entry.points) if entry else None,
            adjusted=points is not None,
            reason=reason,
        )
        return Decision(
            claim=await self._claim_info(claim),
            approved=approve,
            points=entry.points if entry else None,
            requested=entry.requested_points if entry else None,
            decided_by=viewer.full_name or viewer.display_name,
        )

    async def pending_count(self, branch_id: int) -> int:
        count = await self.session.scalar(
            select(func.count(PointClaim.id)).where(
                PointClaim.branch_id == branch_id, PointClaim.status == ClaimStatus.PENDING
            )
        )
        return int(count or 0)

    async def pending(
        self, viewer: Viewer, page: int = 0, per_page: int = 5
    ) -> tuple[list[ClaimInfo], int]:
        """Undecided claims of the viewer's branch, oldest first; (page, total)."""
        branch_id = self._reviewer(viewer)
        total = await self.pending_count(branch_id)
        rows = (
            await self.session.scalars(
                select(PointClaim)
                .where(PointClaim.branch_id == branch_id, PointClaim.status == ClaimStatus.PENDING)
                .order_by(PointClaim.created_at, PointClaim.id)
                .offset(max(0, page) * per_page)
                .limit(per_page)
            )
        ).all()
        return [await self._claim_info(r) for r in rows], total

    # -- revocations and direct grants ----------------------------------------------------
    async def revocable(self, viewer: Viewer, claim_id: int) -> ClaimInfo:
        branch_id = self._secretary(viewer)
        claim = await self.session.get(PointClaim, claim_id)
        if claim is None or claim.branch_id != branch_id:
            raise NotFound(N_("This claim does not exist."))
        if claim.status is ClaimStatus.REVOKED:
            raise Conflict(N_("Claim No. {id} was already revoked."), id=claim.id)
        if claim.status is not ClaimStatus.APPROVED or claim.ledger_entry_id is None:
            raise Conflict(N_("Only an approved claim can be revoked."))
        if await self._is_closed(branch_id, Quarter.parse(claim.quarter)):
            raise Conflict(N_("{quarter} is closed; its scores are final."), quarter=claim.quarter)
        return await self._claim_info(claim)

    async def revoke_claim(self, viewer: Viewer, claim_id: int, reason: str) -> GrantResult:
        """Revoke an approved claim: a compensating ledger entry, the claim marked."""
        info = await self.revocable(viewer, claim_id)
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise DomainError(N_("The reason is 1 to {n} characters."), n=REASON_MAX)
        claim = await self.session.get(PointClaim, claim_id)
        assert claim is not None and claim.ledger_entry_id is not None
        original = await self.session.get(LedgerEntry, claim.ledger_entry_id)
        assert original is not None
        reversal = LedgerEntry(
            branch_id=original.branch_id,
            person_id=original.person_id,
            quarter=original.quarter,
            occurred_on=original.occurred_on,
            kind=LedgerKind.REVERSAL,
            item_id=original.item_id,
            item_key=original.item_key,
            item_name=original.item_name,
            indicator=original.indicator,
            block=original.block,
            points=-original.points,
            requested_points=-original.points,
            claim_id=claim.id,
            reverses_id=original.id,
            source="revoke",
            source_ref=str(original.id),
            note=reason,
            created_by_person_id=viewer.person_id,
            created_at=self.clock.now(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(reversal)
                await self.session.flush()
        except IntegrityError:
            raise Conflict(N_("Claim No. {id} was already revoked."), id=claim.id) from None
        claim.status = ClaimStatus.REVOKED
        await self.session.flush()
        await self.audit(
            "points.claim.revoke",
            actor=viewer,
            subject_type="point_claim",
            subject_id=claim.id,
            entry=reversal.id,
            reason=reason,
        )
        return GrantResult(
            entry_id=reversal.id,
            person_id=info.person_id,
            person_name=info.person_name,
            telegram_user_id=info.telegram_user_id,
            item_names=info.item.names,
            points=reversal.points,
            requested=reversal.points,
            reason=reason,
            quarter=reversal.quarter,
        )

    async def branch_people(self, viewer: Viewer) -> list[tuple[int, str]]:
        branch_id = self._secretary(viewer)
        rows = await repo.branch_members(self.session, branch_id)
        return [(r.person.id, r.person.full_name) for r in rows]

    async def person_in_branch(self, viewer: Viewer, person_id: int) -> str:
        branch_id = self._secretary(viewer)
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This person is not a member of your branch."))
        return await self._person_name(person_id)

    async def direct_grant(
        self, viewer: Viewer, *, person_id: int, item_id: int, reason: str
    ) -> GrantResult:
        """The secretary grants (or, with a deduction item, deducts) points directly."""
        branch_id = self._secretary(viewer)
        name = await self.person_in_branch(viewer, person_id)
        item = await self.session.get(PointItem, item_id)
        if item is None or item.branch_id != branch_id or item.retired_at is not None:
            raise NotFound(N_("This item is no longer in the catalogue."))
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise DomainError(N_("The reason is 1 to {n} characters."), n=REASON_MAX)
        today = await self.today(branch_id)
        if await self._is_closed(branch_id, Quarter.of(today)):
            raise Conflict(
                N_("{quarter} is closed; its scores are final."), quarter=Quarter.of(today).key
            )
        entry = await self._record(
            branch_id=branch_id,
            person_id=person_id,
            item=item,
            occurred_on=today,
            kind=LedgerKind.GRANT,
            requested=item.points,
            source=None,
            source_ref=None,
            note=reason,
            by_person_id=viewer.person_id,
        )
        await self.audit(
            "points.grant.direct",
            actor=viewer,
            subject_type="ledger",
            subject_id=entry.id,
            person=person_id,
            item=item.key,
            points=str(entry.points),
            reason=reason,
        )
        return GrantResult(
            entry_id=entry.id,
            person_id=person_id,
            person_name=name,
            telegram_user_id=await self._telegram_id(person_id),
            item_names=dict(item.names or {}),
            points=entry.points,
            requested=entry.requested_points,
            reason=reason,
            quarter=entry.quarter,
        )

    # -- scores ---------------------------------------------------------------------------
    async def _entries(
        self, branch_id: int, quarter: Quarter | None = None, person_id: int | None = None
    ) -> list[LedgerEntry]:
        stmt = select(LedgerEntry).where(LedgerEntry.branch_id == branch_id)
        if quarter is not None:
            stmt = stmt.where(LedgerEntry.quarter == quarter.key)
        if person_id is not None:
            stmt = stmt.where(LedgerEntry.person_id == person_id)
        return list((await self.session.scalars(stmt.order_by(LedgerEntry.id))).all())

    async def _sums(
        self, branch_id: int, quarter_keys: list[str], person_id: int | None = None
    ) -> dict[tuple[int, str], list[tuple[str, str, Decimal]]]:
        """The ledger summed in SQL per (person, quarter, block, indicator): what scoring
        needs, without loading every entry (a branch of 10,000 members has 400,000).
        Keyed by (person id, quarter key); values are (block, indicator, sum)."""
        stmt = (
            select(
                LedgerEntry.person_id,
                LedgerEntry.quarter,
                type_coerce(LedgerEntry.block, String),
                LedgerEntry.indicator,
                # Raw sums (no per-row type processing; _decimal() makes them exact).
                type_coerce(func.sum(LedgerEntry.points), NullType),
            )
            .where(LedgerEntry.branch_id == branch_id, LedgerEntry.quarter.in_(quarter_keys))
            .group_by(
                LedgerEntry.person_id,
                LedgerEntry.quarter,
                LedgerEntry.block,
                LedgerEntry.indicator,
            )
        )
        if person_id is not None:
            stmt = stmt.where(LedgerEntry.person_id == person_id)
        result: dict[tuple[int, str], list[tuple[str, str, Decimal]]] = {}
        for pid, quarter, block, indicator, total in await self.session.execute(stmt):
            result.setdefault((pid, quarter), []).append((block, indicator, _decimal(total)))
        return result

    @staticmethod
    def _by_indicator(sums: list[tuple[str, str, Decimal]]) -> dict[str, Decimal]:
        by_indicator: dict[str, Decimal] = {}
        for _, indicator, total in sums:
            by_indicator[indicator] = by_indicator.get(indicator, rules.ZERO) + total
        return by_indicator

    @staticmethod
    def _figures(
        sums: list[tuple[str, str, Decimal]], settings: PointsSettings
    ) -> tuple[rules.QuarterFigures, dict[str, Decimal]]:
        figures = rules.score_quarter(((block, total) for block, _, total in sums), settings)
        return figures, PointsService._by_indicator(sums)

    async def _stored_scores(self, branch_id: int, quarter: Quarter) -> dict[int, Any]:
        """Final scores of a closed quarter by person id (rows with the score columns)."""
        rows = await self.session.execute(
            select(
                QuarterScore.person_id,
                QuarterScore.base,
                QuarterScore.deductions,
                QuarterScore.special,
                QuarterScore.extra,
                QuarterScore.total,
            ).where(QuarterScore.branch_id == branch_id, QuarterScore.quarter == quarter.key)
        )
        return {r.person_id: r for r in rows}

    async def member_scores(self, branch_id: int, quarter: Quarter) -> list[MemberScore]:
        """Scores of the branch's Party members for a quarter, best first, ranked
        (final figures for a closed quarter)."""
        settings = await self.settings(branch_id)
        sums = await self._sums(branch_id, [quarter.key])
        stored = await self._stored_scores(branch_id, quarter)
        members = (
            await self.session.execute(
                select(Person.id, Person.full_name, Person.status, TelegramAccount.telegram_user_id)
                .join(Membership, Membership.person_id == Person.id)
                .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
                .where(Membership.branch_id == branch_id, Membership.ended_at.is_(None))
                .order_by(Person.full_name, Person.id)
            )
        ).all()
        scores: list[MemberScore] = []
        for person_id, name, status, telegram_user_id in members:
            if not (status.is_party_member or person_id in stored):
                continue
            figures, by_indicator = self._figures(sums.get((person_id, quarter.key), []), settings)
            final = stored.get(person_id)
            if final is not None:
                figures = rules.QuarterFigures(
                    base=final.base,
                    deductions=final.deductions,
                    special=final.special,
                    extra=final.extra,
                    total=final.total,
                    raw_special=figures.raw_special,
                    raw_extra=figures.raw_extra,
                )
            scores.append(
                MemberScore(
                    person_id=person_id,
                    name=name,
                    telegram_user_id=telegram_user_id,
                    figures=figures,
                    by_indicator=by_indicator,
                )
            )
        scores.sort(key=lambda s: (-s.figures.total, s.name, s.person_id))
        ranked: list[MemberScore] = []
        for index, score in enumerate(scores):
            rank = index + 1
            if ranked and ranked[-1].figures.total == score.figures.total:
                rank = ranked[-1].rank
            ranked.append(
                MemberScore(
                    score.person_id,
                    score.name,
                    score.telegram_user_id,
                    score.figures,
                    score.by_indicator,
                    rank,
                )
            )
        return ranked

    async def overview(self, viewer: Viewer, recent: int = 5) -> Overview:
        person_id, branch_id = self._member(viewer)
        branch = await self._branch(branch_id)  # once: settings and today both need it
        settings = PointsSettings.from_branch(branch.settings)
        current = Quarter.of(local_today(self.clock.now(), branch.timezone))
        quarters = [Quarter(current.year, q) for q in range(1, current.q + 1)]
        keys = [q.key for q in quarters]
        sums = await self._sums(branch_id, keys, person_id)
        finals = await self.session.execute(
            select(QuarterScore.quarter, QuarterScore.total).where(
                QuarterScore.branch_id == branch_id,
                QuarterScore.person_id == person_id,
                QuarterScore.quarter.in_(keys),
            )
        )
        stored: dict[str, Decimal] = {key: total for key, total in finals}
        year: list[tuple[Quarter, Decimal, bool]] = []
        joined = await self._joined_quarter(viewer, branch.timezone)
        for quarter in quarters:
            recorded = (person_id, quarter.key) in sums or quarter.key in stored
            if joined is not None and quarter < joined and not recorded:
                continue  # not yet a member of this branch then, and nothing recorded
            final = stored.get(quarter.key)
            if final is not None:
                year.append((quarter, final, True))
                continue
            figures, _ = self._figures(sums.get((person_id, quarter.key), []), settings)
            year.append((quarter, figures.total, False))
        figures, by_indicator = self._figures(sums.get((person_id, current.key), []), settings)
        last: list[EntryInfo] = []
        if recent > 0:
            rows = await self.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.branch_id == branch_id, LedgerEntry.person_id == person_id)
                .order_by(LedgerEntry.id.desc())
                .limit(recent)
            )
            last = [self._entry_info(e, viewer.full_name or "") for e in rows]
        return Overview(
            quarter=current,
            figures=figures,
            by_indicator=by_indicator,
            year=year,
            annual=rules.annual(total for _, total, _ in year),
            recent=last,
            settings=settings,
        )

    @staticmethod
    def _entry_info(e: LedgerEntry, name: str, reversed_ids: set[int] | None = None) -> EntryInfo:
        return EntryInfo(
            id=e.id,
            person_id=e.person_id,
            person_name=name,
            quarter=e.quarter,
            occurred_on=e.occurred_on,
            kind=e.kind,
            item_key=e.item_key,
            item_name=e.item_name,
            indicator=e.indicator,
            block=e.block,
            points=e.points,
            requested=e.requested_points,
            note=e.note,
            reverses_id=e.reverses_id,
            reversed=e.id in (reversed_ids or set()),
            created_at=e.created_at,
        )

    async def history(
        self, viewer: Viewer, page: int = 0, per_page: int = 10
    ) -> tuple[list[EntryInfo], int]:
        """The viewer's ledger, newest first; (page, number of entries)."""
        person_id, _ = self._member(viewer)
        total = await self.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.person_id == person_id)
        )
        rows = (
            await self.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.person_id == person_id)
                .order_by(LedgerEntry.id.desc())
                .offset(max(0, page) * per_page)
                .limit(per_page)
            )
        ).all()
        return [self._entry_info(e, viewer.full_name or "") for e in rows], int(total or 0)

    async def quarter_ledger(self, viewer: Viewer, quarter: Quarter) -> list[EntryInfo]:
        branch_id = self._reviewer(viewer)
        entries = await self._entries(branch_id, quarter)
        reversed_ids = {e.reverses_id for e in entries if e.reverses_id is not None}
        names: dict[int, str] = {}
        result = []
        for e in entries:
            if e.person_id not in names:
                names[e.person_id] = await self._person_name(e.person_id)
            result.append(self._entry_info(e, names[e.person_id], reversed_ids))
        return result

    async def scores_for(self, viewer: Viewer, quarter: Quarter) -> list[MemberScore]:
        return await self.member_scores(self._reviewer(viewer), quarter)

    async def default_quarter(self, viewer: Viewer) -> Quarter:
        _, branch_id = self._member(viewer)
        return Quarter.of(await self.today(branch_id))

    # -- ranking --------------------------------------------------------------------------
    async def publish_ranking(
        self, viewer: Viewer, quarter: Quarter
    ) -> tuple[list[MemberScore], list[int]]:
        """The ranking to publish and the Telegram ids of the branch's members to send it
        to (bound accounts that started the bot)."""
        branch_id = self._secretary(viewer)
        scores = await self.member_scores(branch_id, quarter)
        recipients = [
            r.account.telegram_user_id
            for r in await repo.branch_members(self.session, branch_id)
            if r.account is not None and r.account.started_at is not None
        ]
        publication = RankingPublication(
            branch_id=branch_id,
            quarter=quarter.key,
            published_by_person_id=viewer.person_id,
            recipients=len(recipients),
            published_at=self.clock.now(),
        )
        self.session.add(publication)
        await self.session.flush()
        await self.audit(
            "points.ranking.publish",
            actor=viewer,
            subject_type="ranking",
            subject_id=publication.id,
            quarter=quarter.key,
            recipients=len(recipients),
        )
        return scores, recipients

    # -- periodic tasks -------------------------------------------------------------------
    async def branch_ids(self) -> list[int]:
        return list((await self.session.scalars(select(Branch.id).order_by(Branch.id))).all())

    async def close_due_quarter(self, branch_id: int) -> QuarterCloseResult | None:
        """Close the latest quarter whose declaration window is over (once): store the
        final scores and return who is below 60 (诫勉 when the previous quarter was too)."""
        branch = await self._branch(branch_id)
        settings = PointsSettings.from_branch(branch.settings)
        today = local_today(self.clock.now(), branch.timezone)
        quarter = rules.quarter_due_for_close(today, settings.window_days)
        if quarter is None or quarter.end < local_today(branch.created_at, branch.timezone):
            return None
        if await self._is_closed(branch_id, quarter):
            return None
        try:
            async with self.session.begin_nested():
                close = QuarterClose(
                    branch_id=branch_id, quarter=quarter.key, closed_at=self.clock.now()
                )
                self.session.add(close)
                await self.session.flush()
        except IntegrityError:
            return None
        scores = await self.member_scores(branch_id, quarter)
        previous = await self._stored_scores(branch_id, quarter.prev())
        below: list[tuple[MemberScore, bool]] = []
        now = self.clock.now()
        rows: list[dict[str, Any]] = []
        for score in scores:
            prev = previous.get(score.person_id)
            warned = rules.needs_warning(score.figures.total, prev.total if prev else None)
            rows.append(
                {
                    "branch_id": branch_id,
                    "quarter": quarter.key,
                    "person_id": score.person_id,
                    "base": score.figures.base,
                    "deductions": score.figures.deductions,
                    "special": score.figures.special,
                    "extra": score.figures.extra,
                    "total": score.figures.total,
                    "warned": warned,
                    "created_at": now,
                }
            )
            if score.figures.total < rules.WARNING_THRESHOLD:
                below.append((score, warned))
        if rows:  # one executemany, not 10,000 ORM objects flushed one by one
            await self.session.execute(insert(QuarterScore), rows)
        await self.audit(
            "points.quarter.close",
            branch_id=branch_id,
            subject_type="quarter",
            subject_id=quarter.key,
            members=len(scores),
            below=len(below),
            warned=sum(1 for _, w in below if w),
        )
        secretaries = [
            r.account.telegram_user_id
            for r in await repo.branch_members(self.session, branch_id, roles=[Role.SECRETARY])
            if r.account is not None
        ]
        below.sort(key=lambda pair: (pair[0].figures.total, pair[0].name))
        return QuarterCloseResult(branch_id, quarter, below, secretaries)

    async def overdue_digest(self, branch_id: int) -> list[tuple[int, list[ClaimInfo]]]:
        """Claims waiting more than 3 days, for each reviewer not yet reminded today:
        (telegram id, claims). The reminder is recorded (one per reviewer and day)."""
        branch = await self._branch(branch_id)
        now = self.clock.now()
        day = local_today(now, branch.timezone)
        rows = (
            await self.session.scalars(
                select(PointClaim)
                .where(
                    PointClaim.branch_id == branch_id,
                    PointClaim.status == ClaimStatus.PENDING,
                    PointClaim.created_at < now - OVERDUE_AFTER,
                )
                .order_by(PointClaim.created_at, PointClaim.id)
            )
        ).all()
        if not rows:
            return []
        claims = [await self._claim_info(r) for r in rows]
        result: list[tuple[int, list[ClaimInfo]]] = []
        for reviewer in await repo.branch_reviewers(self.session, branch_id):
            if reviewer.account is None:
                continue
            mine = [c for c in claims if c.person_id != reviewer.person.id]
            if not mine:
                continue
            try:
                async with self.session.begin_nested():
                    self.session.add(
                        ReviewDigest(
                            branch_id=branch_id,
                            person_id=reviewer.person.id,
                            day=day,
                            claim_count=len(mine),
                            sent_at=now,
                        )
                    )
                    await self.session.flush()
            except IntegrityError:
                continue  # already reminded today
            result.append((reviewer.account.telegram_user_id, mine))
        return result


async def _install_catalogue_hook(service: MembershipService, branch: Branch) -> None:
    await PointsService(service.session, service.clock).install_default_catalogue(branch.id)


BRANCH_CREATED_HOOKS.append(_install_catalogue_hook)


def declared_quarter(deadline: date, window_days: int) -> Quarter:
    """The quarter whose declaration closes on ``deadline`` (quarter end + window)."""
    return Quarter.of(deadline - timedelta(days=window_days + 1))


async def undeclared_members(services: Services, branch_id: int, deadline: date) -> set[int]:
    """Reminder audience for the points declaration deadline: the Party members of the
    branch who have not declared anything for that quarter yet."""
    points: PointsService = services.points
    window = (await points.settings(branch_id)).window_days
    quarter = declared_quarter(deadline, window)
    rows = await repo.branch_members(
        services.session, branch_id, statuses=[PersonStatus.MEMBER, PersonStatus.PROBATIONARY]
    )
    declared = set(
        (
            await services.session.scalars(
                select(PointClaim.person_id).where(
                    PointClaim.branch_id == branch_id, PointClaim.quarter == quarter.key
                )
            )
        ).all()
    )
    return {r.person.id for r in rows} - declared
