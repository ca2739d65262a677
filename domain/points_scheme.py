# i18n-domain: points
"""Points, the branch's scheme: its settings (base, caps, window) and its catalogue of
items (installed from the shipped one, edited by the secretary)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from domain.errors import DomainError, NotFound
from domain.points_base import (
    ITEM_NAME_MAX,
    POINTS_LIMIT,
    ItemInfo,
    PointsBase,
    _item_info,
)
from domain.points_catalogue import default_catalogue, indicator_keys
from domain.points_rules import PointsSettings
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import (
    PointBlock,
    PointItem,
)


class PointsScheme(PointsBase):
    """The scheme's settings and catalogue."""

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
