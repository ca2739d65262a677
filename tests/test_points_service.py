"""PointsService against a real (migrated) database: the default catalogue installed on
branch creation, and ``grant_system`` (used by other features) idempotent and capped."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.harness import Harness

ROSTER = "name,status,telegram_id\n张三,正式党员,2001\n"


async def execute(bot: Harness, sql: str, **params: object) -> None:
    from sqlalchemy import text

    async with bot.runtime.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def _person(bot: Harness, telegram_id: int) -> int:
    pid = await bot.scalar(
        "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
    )
    assert pid is not None
    return int(pid)


async def test_default_catalogue_installed_on_branch_creation(bot: Harness) -> None:
    branch = await bot.create_branch()
    count = await bot.scalar("SELECT count(*) FROM point_items WHERE branch_id = :b", b=branch.id)
    from domain.points_catalogue import default_catalogue

    assert count == len(default_catalogue().items) > 20
    indicators = await bot.scalar(
        "SELECT count(DISTINCT indicator) FROM point_items WHERE branch_id = :b", b=branch.id
    )
    assert indicators == 5


async def test_grant_system_is_idempotent_and_capped(bot: Harness) -> None:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    pid = await _person(bot, 2001)
    day = date(2026, 5, 10)
    # study_quiz_passed: +1, cap 2 per quarter.
    async with bot.uow() as svc:
        first = await svc.points.grant_system(
            pid, "study_quiz_passed", occurred_on=day, source="quiz", source_ref="a1"
        )
        again = await svc.points.grant_system(
            pid, "study_quiz_passed", occurred_on=day, source="quiz", source_ref="a1"
        )
    assert first is not None and again is None
    async with bot.uow() as svc:
        second = await svc.points.grant_system(
            pid, "study_quiz_passed", occurred_on=day, source="quiz", source_ref="a2"
        )
        third = await svc.points.grant_system(
            pid, "study_quiz_passed", occurred_on=day, source="quiz", source_ref="a3"
        )
        missing = await svc.points.grant_system(
            pid, "no_such_item", occurred_on=day, source="quiz", source_ref="a4"
        )
    assert second is not None and third is not None and missing is None
    total = await bot.scalar("SELECT sum(points) FROM point_ledger WHERE person_id = :p", p=pid)
    assert Decimal(str(total)) == Decimal("2")  # the third grant was capped to 0
    rows = await bot.scalar("SELECT count(*) FROM point_ledger WHERE person_id = :p", p=pid)
    assert rows == 3
    # A retired item grants nothing.
    await execute(bot, "UPDATE point_items SET retired_at = '2026-01-01' WHERE key = 'study_notes'")
    async with bot.uow() as svc:
        retired = await svc.points.grant_system(
            pid, "study_notes", occurred_on=day, source="quiz", source_ref="a5"
        )
    assert retired is None
