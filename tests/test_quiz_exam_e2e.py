"""Exams end to end over HTTP with a frozen clock: the secretary schedules one, the
participants are notified, the server-side timer refuses a late answer, a second sitting
is refused, and the results reach the secretary."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.clock import FrozenClock
from emulator import BotMessage, EmulatedUser
from tests.harness import Harness, running_bot
from tests.quiz_helpers import item_of, settled, setup_branch, started, use_only_branch_bank

pytestmark = pytest.mark.e2e

# 2026-12-01 10:00 in Shanghai.
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def tbot(
    tmp_path: Path, template_db: Path | None, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def schedule_exam(sec: EmulatedUser, *, count: str = "3", minutes: str = "10") -> None:
    await sec.send("/exam")
    menu = await sec.wait_reply()
    assert "目前没有" in menu.text
    await sec.press(menu, "安排考试")
    await sec.wait_callback_answer()
    assert "第 1/6 步" in (await sec.wait_reply()).text
    await sec.send("入党积极分子培训考试")
    assert "1 至 10" in (await sec.wait_reply()).text  # the bank has 10 questions
    await sec.send("11")
    assert "1 至 10 之间" in (await sec.wait_reply()).text
    await sec.send(count)
    assert "第 3/6 步" in (await sec.wait_reply()).text
    await sec.send("abc")
    assert "1 至 180 之间的数字" in (await sec.wait_reply()).text
    await sec.send(minutes)
    assert "2026-12-01" in (await sec.wait_reply()).text
    await sec.send("2026-12-07 2026-12-01")
    assert "结束日期早于开始日期" in (await sec.wait_reply()).text
    await sec.send("2026-12-01 至 2026-12-07")
    step5 = await sec.wait_reply()
    assert "第 5/6 步" in step5.text
    await sec.press(step5, "80 分（默认）")
    await sec.wait_callback_answer()
    step6 = await sec.wait_reply()
    assert "第 6/6 步" in step6.text
    await sec.press(step6, "入党积极分子和发展对象")
    assert (await sec.wait_callback_answer()).text == "已完成。"
    done = await sec.wait_reply()
    assert "考试已安排" in done.text and "已通知 2 名参考人员" in done.text
    assert "合格线 80 分" in done.text and f"限时 {minutes} 分钟" in done.text


async def answer_right(bot: Harness, u: EmulatedUser, msg: BotMessage) -> None:
    item_id, kind, answer = await item_of(bot, msg)
    if kind == "multiple":
        for i in answer:
            await u.press(msg, data=f"ex:{item_id}:tog:{i}")
            await u.wait_callback_answer()
        await u.press(msg, data=f"ex:{item_id}:done")
    else:
        await u.press(msg, data=f"ex:{item_id}:pick:{answer[0]}")
    assert (await u.wait_callback_answer()).text == "已作答。"


async def test_exam_timer_second_sitting_and_results(tbot: Harness, clock: FrozenClock) -> None:
    bot = tbot
    await setup_branch(bot)
    sec = await started(bot, 1001, "王书记")
    await use_only_branch_bank(bot, sec)
    activist = await started(bot, 2003, "赵积极")
    target = await started(bot, 2004, "钱发展")
    member = await started(bot, 2001, "张三")

    await schedule_exam(sec)
    invite = await activist.wait_reply()
    assert "支部安排了一场考试" in invite.text and "入党积极分子培训考试" in invite.text
    assert (await target.wait_reply()).button_texts == ["▶ 开始考试"]
    await member.expect_no_reply(0.1)  # a full member is not asked

    # The activist starts, answers two questions in time, then is too late for the third.
    await activist.press(invite, "开始考试")
    await activist.wait_callback_answer()
    q1 = await activist.wait_reply()
    assert "考试：入党积极分子培训考试" in q1.text and "第 1/3 题" in q1.text
    assert "剩余 10 分钟" in q1.text
    await answer_right(bot, activist, q1)
    clock.advance(timedelta(minutes=4))
    q2 = await activist.wait_reply()
    assert "剩余 6 分钟" in q2.text
    await answer_right(bot, activist, q2)
    q3 = await activist.wait_reply()
    clock.advance(timedelta(minutes=6, seconds=1))
    item_id, kind, answer = await item_of(bot, q3)
    late = f"ex:{item_id}:tog:{answer[0]}" if kind == "multiple" else f"ex:{item_id}:pick:0"
    await activist.press(q3, data=late)
    refused = await activist.wait_callback_answer()
    assert refused.show_alert
    assert "考试时间已到" in (refused.text or "") or "已经结束" in (refused.text or "")
    result = await activist.wait_reply()
    assert "考试结束" in result.text and "答对 2 题" in result.text and "67 分" in result.text
    assert "不合格" in result.text and "未作答的题目按答错计" in result.text
    to_sec = await sec.wait_reply()
    assert "赵积极：67 分 — 不合格 ❌" in to_sec.text and "超时" in to_sec.text
    row = await settled(
        bot,
        "SELECT status || ':' || correct || ':' || CAST(passed AS INTEGER) FROM quiz_attempts "
        "WHERE exam_id IS NOT NULL",
        "expired:2:0",
    )
    assert row == "expired:2:0"
    assert await bot.scalar("SELECT count(*) FROM quiz_items WHERE answer IS NOT NULL") == 2

    # A second sitting is refused.
    await activist.press(invite, "开始考试")
    again = await activist.wait_callback_answer()
    assert again.show_alert and "已经参加过" in (again.text or "")
    await activist.expect_no_reply(0.1)

    # The development target passes with every answer right.
    target_invite = target.inbox[-1]
    await target.press(target_invite, "开始考试")
    await target.wait_callback_answer()
    for _ in range(3):
        await answer_right(bot, target, await target.wait_reply())
    passed = await target.wait_reply()
    assert "100 分" in passed.text and "合格 ✅" in passed.text
    assert "已记入积分台账" in passed.text and "已记入积分台账" not in result.text
    to_sec = await sec.wait_reply()
    assert "钱发展：100 分 — 合格 ✅" in to_sec.text

    # A full member forging the start button is refused (the exam is not for them).
    exam_id = await bot.scalar("SELECT id FROM quiz_exams")
    await member.send("/exam")
    listing = await member.wait_reply()
    assert "目前没有需要你参加的考试" in listing.text
    await member.press_raw(listing.message_id, f"ex:{exam_id}:start")
    assert "不需要你参加" in ((await member.wait_callback_answer()).text or "")

    # The secretary sees pass/fail per person.
    await sec.press(to_sec, "全部成绩")
    await sec.wait_callback_answer()
    results = await sec.wait_reply()
    assert "合格 1 人 · 不合格 1 人" in results.text
    compact = results.text.replace(" ", "")
    assert "赵积极（入党积极分子）67分不合格❌（超时结束）" in compact
    assert "钱发展（发展对象）100分合格✅" in compact
    ledger = await bot.scalar("SELECT source_ref FROM point_ledger WHERE source = 'exam'")
    target_person = await bot.scalar(
        "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 2004"
    )
    assert ledger == f"exam:{exam_id}:{target_person}"
    assert await bot.scalar("SELECT count(*) FROM point_ledger") == 1
    # Members may not read the results.
    await member.press_raw(listing.message_id, f"ex:{exam_id}:res")
    assert "支部书记" in ((await member.wait_callback_answer()).text or "")
    # The secretary takes them away as a workbook.
    await sec.send("/export exams")
    doc = await sec.wait_reply()
    assert doc.document is not None
    name, _, data = doc.document
    assert name == f"exam-{exam_id}.xlsx"
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[3][:6] == ("序号", "党员", "身份", "得分", "结果", "备注")
    people = {r[1]: r for r in rows[4:] if r and isinstance(r[0], int)}
    assert people["钱发展"][2:5] == ("发展对象", 100, "合格")
    assert people["赵积极"][3:6] == (67, "不合格", "超时结束")
    await sec.send(f"/export exams {exam_id + 50}")
    assert (await sec.wait_reply()).text == "这场考试不存在。"
    await member.send("/export exams")
    assert (await member.wait_reply()).document is None


async def test_exam_outside_its_window_and_tick_closes_overdue(
    tbot: Harness, clock: FrozenClock
) -> None:
    bot = tbot
    await setup_branch(bot)
    sec = await started(bot, 1001, "王书记")
    await use_only_branch_bank(bot, sec)
    activist = await started(bot, 2003, "赵积极")
    target = await started(bot, 2004, "钱发展")
    await schedule_exam(sec, count="2", minutes="5")
    invite = await activist.wait_reply()
    await activist.press(invite, "开始考试")
    await activist.wait_callback_answer()
    await activist.wait_reply()
    await settled(bot, "SELECT count(*) FROM quiz_attempts", 1)

    # The member walks away; the periodic tick closes the attempt when time is up.
    from handlers.quiz import run_timers

    clock.advance(timedelta(minutes=5, seconds=1))
    await run_timers(bot.app)
    closed = await activist.wait_reply()
    assert "考试结束" in closed.text and "0 分" in closed.text
    assert "赵积极：0 分" in (await sec.wait_reply()).text

    # After the window (Shanghai midnight after 2026-12-07) nobody may start; the
    # secretary gets one summary.
    clock.set(datetime(2026, 12, 7, 16, 0, 1, tzinfo=UTC))
    await run_timers(bot.app)
    summary = await sec.wait_reply()
    assert "考试时间段已结束" in summary.text and "未参加 1 人" in summary.text
    await run_timers(bot.app)
    await sec.expect_no_reply(0.1)
    await target.press(target.inbox[-1], "开始考试")
    assert "已于 2026-12-07 结束" in ((await target.wait_callback_answer()).text or "")
