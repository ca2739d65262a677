# i18n-domain: points
"""The points scheme (党员积分制管理): catalogue, claims and their review, the ledger,
quarterly scores, the quarter close and rankings. Rules live in ``points_rules``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from domain import points_rules as rules
from domain.membership import BRANCH_CREATED_HOOKS, MembershipService
from domain.periods import Quarter, local_today
from domain.points_base import (
    OVERDUE_AFTER,
    REVIEWERS_ONLY,
    ClaimInfo,
    Decision,
    EntryInfo,
    GrantResult,
    ItemInfo,
    MemberScore,
    Overview,
    QuarterCloseResult,
    parse_points,
)
from domain.points_claims import PointsClaims
from domain.points_rules import PointsSettings
from domain.roles import PersonStatus, Role
from domain.viewer import Viewer
from store import repositories as repo
from store.models import (
    Branch,
    ClaimStatus,
    PointClaim,
    QuarterClose,
    QuarterScore,
    RankingPublication,
    ReviewDigest,
)

if TYPE_CHECKING:
    from domain.services import Services

#: The feature's public names, importable from here wherever they are defined.
__all__ = [
    "REVIEWERS_ONLY",
    "ClaimInfo",
    "Decision",
    "EntryInfo",
    "GrantResult",
    "ItemInfo",
    "MemberScore",
    "Overview",
    "PointsService",
    "QuarterCloseResult",
    "declared_quarter",
    "parse_points",
    "undeclared_members",
]


class PointsService(PointsClaims):
    """The points service: the scheme (``points_scheme``), the ledger and scores
    (``points_ledger``), claims (``points_claims``) and, here, the ranking and the
    periodic tasks (overdue digest, quarter close)."""

    # -- ranking --------------------------------------------------------------------------
    async def publish_ranking(
        self, viewer: Viewer, quarter: Quarter
    ) -> tuple[list[MemberScore], list[int]]:
        """The ranking to publish and the Telegram ids of the branch's members to send it
        to (bound accounts that started the bot)."""
        branch_id = self._secretary(viewer)
        scores = await self.member_scores(branch_id, quarter)
        recipients = await repo.branch_recipients(self.session, branch_id)
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
    audience = await repo.branch_person_ids(
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
    return set(audience) - declared
