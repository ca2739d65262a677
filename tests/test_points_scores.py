"""Scores computed in SQL (``PointsService.member_scores``, ``overview`` and the quarter
close, optimised for 10,000-member branches) give exactly what the straightforward
computation over every ledger entry gives: the reference below is the code before the
optimisation, run on the same data (deductions, capped blocks, reversals, activists,
a member who left, a closed quarter, entries of several quarters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from bench._data import Population, member_viewer, populate
from domain import points_rules as rules
from domain.clock import FrozenClock
from domain.periods import Quarter
from domain.points import MemberScore
from domain.services import Services
from store import repositories as repo
from store.db import Database
from store.models import LedgerEntry, Membership, Person, QuarterScore
from tests.databases import TemplateDatabase

Q1 = Quarter(2026, 1)
Q2 = Quarter(2026, 2)


@pytest.fixture
async def db(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Database]:
    url = await template_db.fresh(tmp_path)
    database = Database(url)
    yield database
    await database.dispose()
    await template_db.discard(url)


async def reference_scores(svc: Services, branch_id: int, quarter: Quarter) -> list[MemberScore]:
    """``member_scores`` as it was: every entry loaded, filtered per member."""
    settings = await svc.points.settings(branch_id)
    entries = list(
        (
            await svc.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.branch_id == branch_id, LedgerEntry.quarter == quarter.key)
                .order_by(LedgerEntry.id)
            )
        ).all()
    )
    stored = {
        r.person_id: r
        for r in (
            await svc.session.scalars(
                select(QuarterScore).where(
                    QuarterScore.branch_id == branch_id, QuarterScore.quarter == quarter.key
                )
            )
        ).all()
    }
    members = [
        r
        for r in await repo.branch_members(svc.session, branch_id)
        if r.person.status.is_party_member or r.person.id in stored
    ]
    scores = []
    for row in members:
        own = [e for e in entries if e.person_id == row.person.id]
        figures = rules.score_quarter(((e.block.value, e.points) for e in own), settings)
        final = stored.get(row.person.id)
        if final is not None:
            figures = rules.QuarterFigures(
                final.base,
                final.deductions,
                final.special,
                final.extra,
                final.total,
                figures.raw_special,
                figures.raw_extra,
            )
        by_indicator: dict[str, Decimal] = {}
        for e in own:
            by_indicator[e.indicator] = by_indicator.get(e.indicator, rules.ZERO) + e.points
        scores.append(
            MemberScore(
                row.person.id,
                row.person.full_name,
                row.account.telegram_user_id if row.account else None,
                figures,
                by_indicator,
            )
        )
    scores.sort(key=lambda s: (-s.figures.total, s.name, s.person_id))
    ranked: list[MemberScore] = []
    for index, s in enumerate(scores):
        rank = index + 1
        if ranked and ranked[-1].figures.total == s.figures.total:
            rank = ranked[-1].rank
        ranked.append(
            MemberScore(s.person_id, s.name, s.telegram_user_id, s.figures, s.by_indicator, rank)
        )
    return ranked


async def reference_year(
    svc: Services, branch_id: int, person_id: int, current: Quarter
) -> list[tuple[str, Decimal, bool]]:
    settings = await svc.points.settings(branch_id)
    year = []
    for q in range(1, current.q + 1):
        quarter = Quarter(current.year, q)
        stored = await svc.session.scalar(
            select(QuarterScore.total).where(
                QuarterScore.branch_id == branch_id,
                QuarterScore.person_id == person_id,
                QuarterScore.quarter == quarter.key,
            )
        )
        if stored is not None:
            year.append((quarter.key, stored, True))
            continue
        own = (
            await svc.session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.branch_id == branch_id,
                    LedgerEntry.person_id == person_id,
                    LedgerEntry.quarter == quarter.key,
                )
            )
        ).all()
        figures = rules.score_quarter(((e.block.value, e.points) for e in own), settings)
        year.append((quarter.key, figures.total, False))
    return year


def _plain(scores: list[MemberScore]) -> list[tuple[object, ...]]:
    return [
        (s.person_id, s.name, s.telegram_user_id, s.rank, s.figures, sorted(s.by_indicator.items()))
        for s in scores
    ]


async def _setup(db: Database, clock: FrozenClock) -> Population:
    population = await populate(db, clock, members=30, entries_per_member=9, quarter=Q1)
    ids = [pid for pid, _, _ in population.members]
    async with db.session() as session:
        # Two activists (not ranked), a probationary member, a member who left, and
        # two members with the same name (ties broken by id).
        await session.execute(
            update(Person).where(Person.id.in_(ids[:2])).values(status="activist")
        )
        await session.execute(
            update(Person).where(Person.id == ids[2]).values(status="probationary")
        )
        await session.execute(
            update(Person).where(Person.id.in_(ids[3:5])).values(full_name="同名党员")
        )
        await session.execute(
            update(Membership)
            .where(Membership.person_id == ids[5])
            .values(ended_at=datetime(2026, 2, 1, tzinfo=UTC))
        )
        await session.commit()
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    async with db.session() as session:
        svc = Services(session, clock)
        sec = population.secretary
        # Direct grants and a deduction, system grants (capped), a claim approved then
        # revoked (a reversal entry), fractional points.
        items = {i.key: i for i in population.items}
        deduction = next(i for i in population.items if i.points < 0)
        bonus = next(i for i in population.items if i.points > 0)
        await svc.points.direct_grant(sec, person_id=ids[6], item_id=deduction.id, reason="扣分")
        await svc.points.direct_grant(sec, person_id=ids[7], item_id=bonus.id, reason="加分")
        for n, ref in enumerate(("a", "b", "c")):
            await svc.points.grant_system(
                ids[8],
                "study_quiz_passed" if "study_quiz_passed" in items else bonus.key,
                occurred_on=date(2026, 3, 1 + n),
                source="quiz",
                source_ref=ref,
            )
        claimable = next(i for i in population.items if not i.evidence_required and i.points > 0)
        claim = await svc.points.submit_claim(
            member_viewer(population, 9),
            item_id=claimable.id,
            occurred_on=date(2026, 3, 10),
            description="参加学习",
        )
        await svc.points.decide(sec, claim.id, approve=True, points=Decimal("0.5"))
        await svc.points.revoke_claim(sec, claim.id, "重复申报")
        await session.commit()
    return population


async def _compare_scores(db: Database, clock: FrozenClock, branch_id: int, q: Quarter) -> None:
    async with db.session() as session:
        svc = Services(session, clock)
        new = await svc.points.member_scores(branch_id, q)
    async with db.session() as session:
        old = await reference_scores(Services(session, clock), branch_id, q)
    assert _plain(new) == _plain(old)
    assert len(new) == 30 + 1 - 2 - 1  # + secretary − activists − the member who left


async def test_sql_scores_equal_the_entry_by_entry_computation(db: Database) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
    population = await _setup(db, clock)
    branch_id = population.branch_id
    await _compare_scores(db, clock, branch_id, Q1)
    # Several totals below 60 and a spread of ranks: the data is not trivial.
    async with db.session() as session:
        scores = await Services(session, clock).points.member_scores(branch_id, Q1)
    assert len({s.figures.total for s in scores}) > 5
    assert any(s.figures.deductions > 0 for s in scores)

    # The quarter close stores exactly the live figures, with the same members below 60.
    clock.set(datetime(2026, 4, 15, 1, 0, tzinfo=UTC))
    async with db.session() as session:
        old_live = await reference_scores(Services(session, clock), branch_id, Q1)
    async with db.session() as session:
        svc = Services(session, clock)
        result = await svc.points.close_due_quarter(branch_id)
        await session.commit()
    assert result is not None and result.quarter == Q1
    assert result.secretary_telegram_ids == [population.secretary.telegram_user_id]
    assert sorted(s.person_id for s, _ in result.below) == sorted(
        s.person_id for s in old_live if s.figures.total < rules.WARNING_THRESHOLD
    )
    async with db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT person_id, total FROM point_quarter_scores "
                    "WHERE quarter = '2026Q1' ORDER BY person_id"
                )
            )
        ).all()
    assert [(r[0], Decimal(str(r[1]))) for r in rows] == sorted(
        (s.person_id, s.figures.total) for s in old_live
    )
    await _compare_scores(db, clock, branch_id, Q1)  # now from the stored scores

    # /points in Q2: the year (Q1 final, Q2 so far), the quarter and the last entries.
    async with db.session() as session:
        svc = Services(session, clock)
        for index in (6, 7, 8, 9, 12):
            await svc.points.grant_system(
                population.members[index][0],
                population.items[index].key,
                occurred_on=date(2026, 4, 2),
                source="quiz",
                source_ref=f"q2-{index}",
            )
        await session.commit()
    for index in (2, 6, 7, 8, 9, 12, 20):
        viewer = member_viewer(population, index)
        assert viewer.person_id is not None
        async with db.session() as session:
            svc = Services(session, clock)
            overview = await svc.points.overview(viewer)
            year = await reference_year(svc, branch_id, viewer.person_id, Q2)
            entries = (
                await session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.person_id == viewer.person_id)
                    .order_by(LedgerEntry.id)
                )
            ).all()
        assert [(q.key, total, final) for q, total, final in overview.year] == year
        own = [e for e in entries if e.quarter == Q2.key]
        assert overview.figures == rules.score_quarter((e.block.value, e.points) for e in own)
        expected: dict[str, Decimal] = {}
        for e in own:
            expected[e.indicator] = expected.get(e.indicator, rules.ZERO) + e.points
        assert overview.by_indicator == expected
        assert [e.id for e in overview.recent] == [e.id for e in reversed(entries[-5:])]

    # An entry with an indicator outside the five (older data): the general path.
    async with db.session() as session:
        await session.execute(
            update(LedgerEntry)
            .where(
                LedgerEntry.person_id == population.members[10][0], LedgerEntry.quarter == "2026Q1"
            )
            .values(indicator="legacy")
        )
        await session.commit()
    await _compare_scores(db, clock, branch_id, Q1)
    async with db.session() as session:
        scores = await Services(session, clock).points.member_scores(branch_id, Q1)
    assert any("legacy" in s.by_indicator for s in scores)
