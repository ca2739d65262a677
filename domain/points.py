# i18n-domain: points
"""The points scheme (党员积分制管理): catalogue, claims and their review, the ledger,
quarterly scores, the quarter close and rankings. Rules live in ``points_rules``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select
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
    Membership,
    Person,
    PointClaim,
    QuarterClose,
    QuarterScore,
    RankingPublication,
    ReviewDigest,
    TelegramAccount,
)

if TYPE_CHECKING:
    from domain.services import Services

#: The close's bulk inserts go through Core (SQLAlchemy's ORM bulk path costs ~0.1 ms a row).
_SCORES = cast(Table, QuarterScore.__table__)
_CLOSES = cast(Table, QuarterClose.__table__)

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
        results = await self.close_due_quarters([branch_id])
        return results[0] if results else None

    async def close_due_quarters(self, branch_ids: Sequence[int]) -> list[QuarterCloseResult]:
        """``close_due_quarter`` for many branches at once, set-based: the branches read
        in one query, the quarters claimed in one insert, the ledger summed in one
        grouped query per quarter, the final scores stored in one insert; each branch
        scored exactly as its ranking (``_ranked``). The closed branches, by id."""
        now = self.clock.now()
        due = await self._due_closes(branch_ids, now)
        if not due:
            return []
        due = await self._claim_closes(due, now)
        results: list[QuarterCloseResult] = []
        rows: list[dict[str, Any]] = []
        for quarter in sorted({q for q, _ in due.values()}):
            group = sorted(b for b, (q, _) in due.items() if q == quarter)
            sums = await self._sums_by_branch(group, quarter.key)
            stored = await self._stored_by_branch(group, quarter.key)
            previous = await self._stored_by_branch(group, quarter.prev().key)
            members = await self._members_by_branch(group)
            secretaries = await self._secretaries_by_branch(group)
            for branch_id in group:
                scores = self._ranked(
                    quarter.key,
                    members.get(branch_id, []),
                    sums.get(branch_id, {}),
                    stored.get(branch_id, {}),
                    due[branch_id][1],
                )
                below = self._final_rows(
                    branch_id, quarter, scores, previous.get(branch_id, {}), now, rows
                )
                await self.audit(
                    "points.quarter.close",
                    branch_id=branch_id,
                    subject_type="quarter",
                    subject_id=quarter.key,
                    members=len(scores),
                    below=len(below),
                    warned=sum(1 for _, w in below if w),
                )
                below.sort(key=lambda pair: (pair[0].figures.total, pair[0].name))
                results.append(
                    QuarterCloseResult(branch_id, quarter, below, secretaries.get(branch_id, []))
                )
        if rows:  # one Core executemany (no ORM bulk path: 2 s per 20,000 rows)
            await self.session.execute(insert(_SCORES), rows)
        results.sort(key=lambda r: r.branch_id)
        return results

    async def _due_closes(
        self, branch_ids: Sequence[int], now: datetime
    ) -> dict[int, tuple[Quarter, PointsSettings]]:
        """The branches with a quarter to close now (not closed yet), and their settings."""
        branches = await self.session.execute(
            select(Branch.id, Branch.settings, Branch.timezone, Branch.created_at).where(
                Branch.id.in_(list(branch_ids))
            )
        )
        due: dict[int, tuple[Quarter, PointsSettings]] = {}
        for branch_id, branch_settings, timezone, created_at in branches:
            settings = PointsSettings.from_branch(branch_settings)
            quarter = rules.quarter_due_for_close(local_today(now, timezone), settings.window_days)
            if quarter is None or quarter.end < local_today(created_at, timezone):
                continue
            due[branch_id] = (quarter, settings)
        if not due:
            return due
        closed = set(
            (
                await self.session.execute(
                    select(QuarterClose.branch_id, QuarterClose.quarter).where(
                        QuarterClose.branch_id.in_(list(due)),
                        QuarterClose.quarter.in_(sorted({q.key for q, _ in due.values()})),
                    )
                )
            ).all()
        )
        return {b: v for b, v in due.items() if (b, v[0].key) not in closed}

    async def _claim_closes(
        self, due: dict[int, tuple[Quarter, PointsSettings]], now: datetime
    ) -> dict[int, tuple[Quarter, PointsSettings]]:
        """Record the closes (unique per branch and quarter): one insert; when another
        instance closed some of them meanwhile, one by one, keeping those we recorded."""

        def row(branch_id: int) -> dict[str, Any]:
            return {"branch_id": branch_id, "quarter": due[branch_id][0].key, "closed_at": now}

        try:
            async with self.session.begin_nested():
                await self.session.execute(insert(_CLOSES), [row(b) for b in sorted(due)])
            return due
        except IntegrityError:
            pass
        kept: dict[int, tuple[Quarter, PointsSettings]] = {}
        for branch_id in sorted(due):
            try:
                async with self.session.begin_nested():
                    await self.session.execute(insert(QuarterClose), [row(branch_id)])
                kept[branch_id] = due[branch_id]
            except IntegrityError:
                continue
        return kept

    async def _members_by_branch(self, branch_ids: Sequence[int]) -> dict[int, list[Any]]:
        """What ``member_scores`` reads of the members, for many branches, by branch."""
        rows = await self.session.execute(
            select(
                Membership.branch_id,
                Person.id,
                Person.full_name,
                Person.status,
                TelegramAccount.telegram_user_id,
            )
            .join(Membership, Membership.person_id == Person.id)
            .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
            .where(Membership.branch_id.in_(list(branch_ids)), Membership.ended_at.is_(None))
            .order_by(Membership.branch_id, Person.full_name, Person.id)
        )
        result: dict[int, list[Any]] = {}
        for branch_id, *member in rows:
            result.setdefault(branch_id, []).append(tuple(member))
        return result

    async def _secretaries_by_branch(self, branch_ids: Sequence[int]) -> dict[int, list[int]]:
        """The Telegram ids of the branches' secretaries (bound accounts), by name."""
        rows = await self.session.execute(
            select(Membership.branch_id, TelegramAccount.telegram_user_id)
            .join(Person, Person.id == Membership.person_id)
            .join(TelegramAccount, TelegramAccount.person_id == Person.id)
            .where(
                Membership.branch_id.in_(list(branch_ids)),
                Membership.ended_at.is_(None),
                Membership.role == Role.SECRETARY,
            )
            .order_by(Membership.branch_id, Person.full_name, Person.id)
        )
        result: dict[int, list[int]] = {}
        for branch_id, telegram_user_id in rows:
            result.setdefault(branch_id, []).append(telegram_user_id)
        return result

    @staticmethod
    def _final_rows(
        branch_id: int,
        quarter: Quarter,
        scores: Sequence[MemberScore],
        previous: dict[int, Any],
        now: datetime,
        rows: list[dict[str, Any]],
    ) -> list[tuple[MemberScore, bool]]:
        """Append the branch's final scores to ``rows``; who is below 60 (诫勉 or not)."""
        below: list[tuple[MemberScore, bool]] = []
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
        return below

    async def branches_with_overdue_claims(self) -> list[int]:
        """The branches where a claim has waited longer than ``OVERDUE_AFTER`` (one query:
        the digest then visits only those, not every branch of a province)."""
        rows = await self.session.scalars(
            select(PointClaim.branch_id)
            .where(
                PointClaim.status == ClaimStatus.PENDING,
                PointClaim.created_at < self.clock.now() - OVERDUE_AFTER,
            )
            .distinct()
            .order_by(PointClaim.branch_id)
        )
        return list(rows.all())

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
