"""The set-based quarter close of many branches at once (``close_due_quarters``, what
the periodic task runs for a province of 5,000 branches) stores, branch by branch,
exactly what the entry-by-entry reference computes (``tests/test_points_scores.py``),
skips what is not due or already closed, and closes each quarter once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bench._data import populate
from domain import points_rules as rules
from domain.clock import FrozenClock
from domain.periods import Quarter
from domain.roles import PersonStatus, Role
from domain.services import Services
from domain.viewer import Viewer
from store.db import Database
from store.models import (
    Membership,
    Person,
    PointItem,
    QuarterClose,
    QuarterScore,
    TelegramAccount,
)
from tests.databases import TemplateDatabase
from tests.test_points_scores import _setup, reference_scores

Q1 = Quarter(2026, 1)


@pytest.fixture
async def db(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Database]:
    url = await template_db.fresh(tmp_path)
    database = Database(url)
    yield database
    await database.dispose()
    await template_db.discard(url)


async def _branch(
    db: Database, clock: FrozenClock, name: str, secretary_tg: int, grants: list[list[str]]
) -> tuple[int, list[int]]:
    """A branch by ``create_branch`` with one member per list of ``grants`` (item keys
    granted directly by the secretary, today); its id and the members' person ids."""
    now = clock.now()
    async with db.session() as session:
        svc = Services(session, clock)
        branch = await svc.membership.create_branch(
            name, secretary_tg, secretary_name=name + "书记"
        )
        secretary = (
            await session.execute(
                select(TelegramAccount.person_id).where(
                    TelegramAccount.telegram_user_id == secretary_tg
                )
            )
        ).scalar_one()
        assert secretary is not None
        ids: list[int] = []
        for n in range(len(grants)):
            pid = (
                await session.execute(
                    insert(Person)
                    .values(
                        full_name=f"{name}党员{n}",
                        status=PersonStatus.MEMBER,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Person.id)
                )
            ).scalar_one()
            await session.execute(
                insert(Membership).values(
                    person_id=pid, branch_id=branch.id, role=Role.MEMBER, started_at=now
                )
            )
            await session.execute(
                insert(TelegramAccount).values(
                    telegram_user_id=secretary_tg + 1 + n,
                    person_id=pid,
                    first_name="",
                    started_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            ids.append(pid)
        items = {
            i.key: i.id
            for i in (
                await session.scalars(select(PointItem).where(PointItem.branch_id == branch.id))
            ).all()
        }
        viewer = Viewer(
            telegram_user_id=secretary_tg,
            display_name=name,
            locale="zh_Hans",
            person_id=secretary,
            full_name=name + "书记",
            status=PersonStatus.MEMBER,
            branch_id=branch.id,
            branch_name=name,
            branch_timezone="Asia/Shanghai",
            role=Role.SECRETARY,
            can_review=True,
        )
        for pid, keys in zip(ids, grants, strict=True):
            for key in keys:
                await svc.points.direct_grant(viewer, person_id=pid, item_id=items[key], reason="x")
        await session.commit()
    return branch.id, ids


async def test_close_of_many_branches_equals_the_reference(db: Database) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
    population = await _setup(db, clock)  # deductions, caps, a reversal, activists …
    a = population.branch_id
    clock.set(datetime(2026, 3, 21, 2, 0, tzinfo=UTC))
    heavy = ["disc_sanctioned", "disc_sanctioned", "perf_medical_dispute"]  # 80 - 45
    b, b_ids = await _branch(db, clock, "乙支部", 3000, [heavy, ["act_volunteer"], []])
    c, c_ids = await _branch(db, clock, "丙支部", 4000, [["disc_sanctioned"], heavy])
    closed_before, _ = await _branch(db, clock, "丁支部", 5000, [heavy])
    clock.set(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))  # after Q1: nothing of Q1 to close
    late, _ = await _branch(db, clock, "戊支部", 6000, [[]])
    # 诫勉: c's second member was below 60 in the previous quarter too.
    async with db.session() as session:
        await session.execute(
            insert(QuarterScore).values(
                branch_id=c,
                quarter="2025Q4",
                person_id=c_ids[1],
                base=Decimal(50),
                deductions=Decimal(30),
                special=Decimal(0),
                extra=Decimal(0),
                total=Decimal(50),
                warned=False,
                created_at=clock.now(),
            )
        )
        await session.commit()

    clock.set(datetime(2026, 4, 15, 1, 0, tzinfo=UTC))
    branches = [a, b, c, closed_before, late]
    expected = {}
    async with db.session() as session:
        for branch_id in (a, b, c):
            expected[branch_id] = await reference_scores(Services(session, clock), branch_id, Q1)
    async with db.session() as session:  # one branch closed alone first: skipped below
        assert await Services(session, clock).points.close_due_quarter(closed_before)
        await session.commit()
    async with db.session() as session:
        results = await Services(session, clock).points.close_due_quarters(branches)
        await session.commit()

    assert [r.branch_id for r in results] == [a, b, c]
    secretaries = {a: [population.secretary.telegram_user_id], b: [3000], c: [4000]}
    async with db.session() as session:
        for result in results:
            reference = expected[result.branch_id]
            assert result.quarter == Q1
            assert result.secretary_telegram_ids == secretaries[result.branch_id]
            assert sorted(s.person_id for s, _ in result.below) == sorted(
                s.person_id for s in reference if s.figures.total < rules.WARNING_THRESHOLD
            )
            stored = (
                await session.execute(
                    select(QuarterScore.person_id, QuarterScore.total, QuarterScore.warned)
                    .where(
                        QuarterScore.branch_id == result.branch_id, QuarterScore.quarter == "2026Q1"
                    )
                    .order_by(QuarterScore.person_id)
                )
            ).all()
            assert [(p, Decimal(str(t))) for p, t, _ in stored] == sorted(
                (s.person_id, s.figures.total) for s in reference
            )
            # And the ranking read back from the stored scores is the reference's.
            ranked = await Services(session, clock).points.member_scores(result.branch_id, Q1)
            assert [(s.person_id, s.rank, s.figures.total) for s in ranked] == [
                (s.person_id, s.rank, s.figures.total) for s in reference
            ]
    below_b = {s.person_id: w for s, w in results[1].below}
    assert below_b == {b_ids[0]: False}
    below_c = {s.person_id: w for s, w in results[2].below}
    assert below_c == {c_ids[1]: True}  # the second quarter in a row
    assert [s.figures.total for s, _ in results[2].below] == [Decimal(35)]

    # Once: a second run closes nothing; every branch has one close for the quarter.
    async with db.session() as session:
        svc = Services(session, clock)
        assert await svc.points.close_due_quarters(branches) == []
        closes = (
            await session.execute(
                select(QuarterClose.branch_id).where(QuarterClose.quarter == "2026Q1")
            )
        ).all()
    assert sorted(r[0] for r in closes) == sorted([a, b, c, closed_before])


async def test_close_claims_only_what_nobody_closed_meanwhile(db: Database) -> None:
    """Another instance closing a branch between the check and the insert: the batch's
    insert fails, the others are claimed one by one, that one is left out."""
    clock = FrozenClock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
    population = await populate(db, clock, members=3)
    other, _ = await _branch(db, clock, "乙支部", 3000, [[]])
    clock.set(datetime(2026, 4, 15, 1, 0, tzinfo=UTC))
    async with db.session() as session:
        due = await Services(session, clock).points._due_closes(
            [population.branch_id, other], clock.now()
        )
    assert sorted(due) == sorted([population.branch_id, other])
    async with db.session() as session:  # the other instance
        session.add(QuarterClose(branch_id=other, quarter="2026Q1", closed_at=clock.now()))
        await session.commit()
    async with db.session() as session:
        kept = await Services(session, clock).points._claim_closes(due, clock.now())
        await session.commit()
    assert list(kept) == [population.branch_id]
    async with db.session() as session:
        closes = (await session.execute(select(QuarterClose.branch_id))).all()
    assert sorted(r[0] for r in closes) == sorted([population.branch_id, other])
