"""Heart-to-heart talks end to end over HTTP with a controlled clock: a talk recorded
and one planned (both reminded on the day, once), the planned one recorded, the
coverage list of who has had no talk with a committee member, each party group's
quarter table (the group leader's alert once, 7 days before the quarter ends), the
XLSX table opened with openpyxl, and a stranger to a talk refused."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from domain.clock import FrozenClock
from emulator import BotMessage, EmulatedUser
from handlers.talks import run_talk_tasks
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

pytestmark = pytest.mark.e2e

START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 1 June, 10:00 in Beijing

ROSTER = """name,status,telegram_id,党小组,党小组长
张三,正式党员,2001,第一党小组,是
李四,预备党员,2002,第一党小组,
王五,正式党员,2003,第二党小组,否
赵六,正式党员,2004,第一党小组,
"""


@pytest.fixture(autouse=True)
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def tbot(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


NAMES = {1001: "王书记", 2001: "张三", 2002: "李四", 2003: "王五", 2004: "赵六"}


async def setup(bot: Harness) -> dict[int, EmulatedUser]:
    _branch, users = await bot.branch_with_roster(ROSTER, NAMES)
    async with bot.runtime.db.session() as session:
        await session.execute(
            text(
                "UPDATE memberships SET role = 'committee' WHERE person_id = "
                "(SELECT id FROM persons WHERE full_name = '赵六')"
            )
        )
        await session.commit()
    return users


async def press(user: EmulatedUser, msg: BotMessage, label: str) -> str:
    await user.press(msg, label)
    return (await user.wait_callback_answer()).text or ""


def labels(msg: BotMessage) -> list[str]:
    return [b.text for row in msg.buttons for b in row]


async def test_talks_record_plan_coverage_tables(tbot: Harness, clock: FrozenClock) -> None:
    bot = tbot
    users = await setup(bot)
    sec, zhang, li, wang, zhao = (users[i] for i in (1001, 2001, 2002, 2003, 2004))

    # 李四 records a talk with 赵六 (a committee member) held today.
    await li.send("/talks")
    mine = await li.wait_reply()
    assert "暂无" in mine.text and "尚未与支委" not in mine.text
    await press(li, mine, "记录谈话")
    people = await li.wait_reply()
    assert sorted(labels(people)) == sorted(["张三", "王五", "赵六", "王书记"])
    await press(li, people, "赵六")
    assert "是哪天" in (await li.wait_reply()).text
    await li.send("下周")
    assert "请发送“今天”" in (await li.wait_reply()).text
    await li.send("2026-06-05")
    assert "不能晚于今天" in (await li.wait_reply()).text
    await li.send("今天")
    assert "简要内容" in (await li.wait_reply()).text
    await li.send("x" * 1001)
    assert "内容过长" in (await li.wait_reply()).text
    await li.send("交流学习体会，查找差距。")
    assert "已记录 2026-06-01 与赵六的谈话" in (await li.wait_reply()).text
    await zhao.send("/talks")  # the other person sees it too
    assert "2026-06-01 与 李四（已谈）" in (await zhao.wait_reply()).text

    # 王五 plans a talk with the secretary; both are reminded on the day, once.
    await wang.send("/talks")
    await press(wang, await wang.wait_reply(), "计划谈话")
    await press(wang, await wang.wait_reply(), "王书记")
    await wang.wait_reply()
    await wang.send("2026-05-30")
    assert "不能早于今天" in (await wang.wait_reply()).text
    await wang.send("2026-06-03")
    assert "当天将提醒双方" in (await wang.wait_reply()).text
    assert "王五计划于 2026-06-03" in (await sec.wait_reply()).text
    assert await run_talk_tasks(bot.app) == 0
    clock.set(datetime(2026, 6, 3, 1, 0, tzinfo=UTC))
    assert await run_talk_tasks(bot.app) == 2
    assert "今天：王五与王书记的谈心谈话" in (await wang.wait_reply()).text
    assert "今天" in (await sec.wait_reply()).text
    assert await run_talk_tasks(bot.app) == 0
    planned_id = await bot.scalar("SELECT id FROM talks WHERE status = 'planned'")

    # Somebody else cannot record it; 王五 can.
    await zhang.send("/talks")
    host = await zhang.wait_reply()
    assert "王五" not in host.text  # private to the two
    await zhang.press_raw(host.message_id, f"tk:{planned_id}:done")
    assert "只有谈话双方" in ((await zhang.wait_callback_answer()).text or "")
    await wang.send("/talks")
    listing = await wang.wait_reply()
    assert "计划" in listing.text
    await press(wang, listing, "记录与王书记的谈话")
    await wang.wait_reply()
    await wang.send("=1+1 谈工作和思想。")  # a formula-looking summary
    assert "已记录 2026-06-03 的谈话" in (await wang.wait_reply()).text
    await press(wang, listing, "记录与王书记的谈话")  # a second tap
    assert "该谈话已记录" in ((await wang.wait_callback_answer()).text or "")

    # Coverage: no talk with a committee member yet.
    await sec.send("/talks")
    overview = (await sec.wait_reply()).text
    coverage = overview.split("尚未与支委谈心谈话：")[1].split("\n")[1]
    assert set(coverage.split("、")) == {"张三", "王书记", "赵六"}
    assert "第一党小组：谈话 1 次，尚未谈话：张三" in overview
    assert "第二党小组：谈话 1 次，尚未谈话：无" in overview

    # The group leader's alert, 7 days before the quarter ends, once.
    clock.set(datetime(2026, 6, 23, 1, 0, tzinfo=UTC))
    assert await run_talk_tasks(bot.app) == 0
    clock.set(datetime(2026, 6, 24, 1, 0, tzinfo=UTC))
    assert await run_talk_tasks(bot.app) == 1
    alert = await zhang.wait_reply()
    assert "第一党小组" in alert.text and "尚未谈话：张三" in alert.text
    assert await run_talk_tasks(bot.app) == 0
    await zhang.expect_no_reply()
    assert await bot.scalar("SELECT count(*) FROM talk_alerts") == 1

    # A party group's meeting concerns that group only.
    await sec.send("/meeting_new 党小组会 2026-06-26 16:00 #第一党小组 六月学习")
    assert "3 人" in (await sec.wait_reply()).text  # 张三, 李四, 赵六
    await sec.send("/meeting_new 党小组会 2026-06-26 16:00 #第九党小组 六月学习")
    assert "没有需要参加此会议的人" in (await sec.wait_reply()).text

    # The quarter's tables as XLSX: refused to a member, opened for the secretary.
    await li.send("/export talks 2026Q2")
    assert "没有您可以导出的内容" in (await li.wait_reply()).text
    await sec.send("/export talks 2026Q2")
    doc = await sec.wait_reply()
    assert doc.document is not None
    name, _mime, data = doc.document
    assert name == "talks-2026Q2.xlsx"
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'talk.export'") == 1
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["总览", "未分党小组", "第一党小组", "第二党小组"]
    first = wb["第一党小组"]
    assert [c.value for c in first[1]] == ["序号", "日期", "谈话人", "谈话人", "谈话内容"]
    row = [c.value for c in first[2]]
    assert row[0] == 1 and row[1].date() == date(2026, 6, 1)
    assert row[2:] == ["李四", "赵六", "交流学习体会，查找差距。"]
    second = [c.value for c in wb["第二党小组"][2]]
    assert second[4] == "'=1+1 谈工作和思想。"  # written as text, never a formula
    overview_sheet = [[c.value for c in r] for r in wb["总览"].iter_rows(min_row=2)]
    assert ["第一党小组", 3, 1, "张三"] in overview_sheet
