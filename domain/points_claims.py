# i18n-domain: points
"""Points, the claims: a member's declaration, its review (decide, pending) and the
revocation of an approved claim."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain import points_rules as rules
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.periods import Quarter
from domain.points_base import (
    DESCRIPTION_MAX,
    REASON_MAX,
    REVIEWERS_ONLY,
    ClaimInfo,
    Decision,
    GrantResult,
    ItemInfo,
    _item_info,
)
from domain.points_ledger import PointsLedger
from domain.review import ensure_not_author
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import (
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
    PointClaim,
    PointItem,
)


class PointsClaims(PointsLedger):
    """Claims: declared by members, decided by reviewers, revoked by the secretary."""

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
