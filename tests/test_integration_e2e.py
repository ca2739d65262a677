"""Features working together: the fee-day reminder from the reminder scheduler carries
the member's real amount and a working "Paid" button (fees); the points declaration
reminder goes only to members who have not declared (points); a claim half-entered
before a restart is finished after it (dialog state in the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.clock import FrozenClock
from domain.membership import BranchInfo
from emulator import EmulatedUser
from scheduler.dispatcher import dispatch_due
from tests.databases import TemplateDatabase
from tests.harness import Harness, lasting_world, running_bot

pytestmark = pytest.mark.e2e

START = datetime(2026, 5, 20, 0, 0, tzinfo=UTC)  # Wednesday; 4th Friday is 22 May
EVE_1800 = datetime(2026, 5, 21, 10, 0, tzinfo=UTC)  # 18:00 Beijing, the day before
ROSTER = """name,status,telegram_id,fee_basis,monthly_income
张三,正式党员,2001,在职,4000
李四,预备党员,2002,学生,
王五,入党积极分子,2003,,
"""


@pytest.fixture(autouse=True)
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def ibot(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def setup(bot: Harness) -> tuple[BranchInfo, dict[int, EmulatedUser]]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    users = {
        1001: bot.user(1001, "王书记"),
        2001: bot.user(2001, "张三"),
        2002: bot.user(2002, "李四"),
        2003: bot.user(2003, "王五"),
    }
    for user in users.values():
        await user.send("/start")
        await user.wait_reply()
    return branch, users


async def test_fee_day_reminder_has_the_real_amount_and_a_paid_button(
    ibot: Harness, clock: FrozenClock
) -> None:
    _, users = await setup(ibot)
    clock.set(EVE_1800)
    report = await dispatch_due(ibot.runtime, ibot.app, clock.now())
    assert report.sent > 0
    zhang = users[2001]
    fee = next(m for m in zhang.inbox if "党费缴纳日" in (m.text or ""))
    assert "明天" in fee.text
    assert "2026年5月应缴党费：¥40.00" in fee.text  # 4000 yuan employed: 1%
    assert fee.button_texts == ["✅ 已缴 2026年5月（¥40.00）"]
    li = next(m for m in users[2002].inbox if "党费缴纳日" in (m.text or ""))
    assert "¥0.20" in li.text  # student
    assert not any("党费缴纳日" in (m.text or "") for m in users[2003].inbox)  # activist
    zhang.skip_pending()
    await zhang.press(fee, "已缴")
    prompt = await zhang.wait_reply()
    assert "2026年5月 ¥40.00" in prompt.text and "合计：¥40.00" in prompt.text


async def test_declaration_reminder_only_to_members_who_have_not_declared(
    ibot: Harness, clock: FrozenClock
) -> None:
    branch, users = await setup(ibot)
    # 张三 declares something for the second quarter.
    clock.set(datetime(2026, 6, 20, 2, 0, tzinfo=UTC))
    async with ibot.uow() as svc:
        account = await svc.membership.viewer_of(2001)
        items = await svc.points.items(branch.id)
        bonus = next(i for i in items if i.points > 0 and not i.evidence)
        await svc.points.submit_claim(
            account, item_id=bonus.id, occurred_on=date(2026, 6, 19), description="学习党章"
        )
    for user in users.values():
        user.skip_pending()
    # The Q2 declaration closes on 10 July; the 3-days-before reminder is 7 July 09:00.
    clock.set(datetime(2026, 7, 7, 1, 0, tzinfo=UTC))
    await dispatch_due(ibot.runtime, ibot.app, clock.now())
    declared = [m.text for m in users[2001].inbox if "积分申报" in (m.text or "")]
    owing = [m.text for m in users[2002].inbox if "积分申报" in (m.text or "")]
    assert declared == []
    assert len(owing) == 1 and "2026-07-10" in owing[0]


async def test_claim_half_entered_survives_a_restart(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> None:
    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            await setup(bot)
            zhang = bot.user(2001, "张三")
            await zhang.send("/claim")
            indicators = await zhang.wait_reply()
            await zhang.press(indicators, "政治学习")
            items = await zhang.wait_reply()
            bonus = next(b for b in items.button_texts if "+" in b)
            await zhang.press(items, bonus)
            when = await zhang.wait_reply()
            assert "日期" in when.text
        # The bot restarts (a new Application, the same database and Telegram).
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            zhang = bot.user(2001, "张三")
            zhang.skip_pending()
            await zhang.send("2026-05-19")
            ask = await zhang.wait_reply()
            assert "描述" in ask.text or "说明" in ask.text
            await zhang.send("参加支部学习")
            confirm = await zhang.wait_reply()
            await zhang.press(confirm, "提交")
            receipt = await zhang.wait_reply()
            assert "申报编号" in receipt.text or "编号" in receipt.text
            async with bot.runtime.db.session() as session:
                count = await session.scalar(text("SELECT count(*) FROM point_claims"))
            assert count == 1


async def test_year_so_far_starts_when_the_member_joined(ibot: Harness, clock: FrozenClock) -> None:
    _, users = await setup(ibot)  # joined in May: the second quarter
    zhang = users[2001]
    await zhang.send("/points")
    text = (await zhang.wait_reply()).text
    assert "2026Q2: 80 (暂计)" in text
    assert "2026Q1" not in text  # not yet a member then, nothing recorded
    assert "年度平均：80 · 累计：80" in text
