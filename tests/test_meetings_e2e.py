"""Organisational life end to end over HTTP, with a controlled clock: a meeting is
scheduled, its notice (参加 / 请假 / 签到) reaches exactly the people concerned (leading
cadres first), leave is approved and refused in chat, check-in works inside the window
and is refused outside it, minutes are recorded with a photo and corrected, closing the
meeting grants attendance points once (the deduction visible in /points), the
compliance view names a period whose meeting was not held, and the secretary's overdue
alert is sent once. The periodic tasks are called directly at the frozen time."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from domain.clock import FrozenClock
from emulator import BotMessage, EmulatedUser
from handlers.callbacks import parse
from handlers.meetings_jobs import run_notices, run_overdue
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

pytestmark = pytest.mark.e2e

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # Monday 1 June, 08:00 in Beijing
MEETING_UTC = datetime(2026, 6, 5, 7, 0, tzinfo=UTC)  # Friday 5 June, 15:00 in Beijing

ROSTER = """name,status,telegram_id,leading_cadre
张三,正式党员,2001,否
李四,预备党员,2002,
王五,入党积极分子,2003,
赵六,正式党员,2004,是
"""


@pytest.fixture(autouse=True)
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def mbot(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


NAMES = {1001: "王书记", 2001: "张三", 2002: "李四", 2003: "王五", 2004: "赵六"}


async def setup(bot: Harness) -> dict[int, EmulatedUser]:
    _branch, users = await bot.branch_with_roster(ROSTER, NAMES)
    return users


def data_of(msg: BotMessage, action: str) -> str:
    for row in msg.buttons:
        for b in row:
            cb = parse(b.callback_data)
            if cb is not None and cb.action == action:
                return b.callback_data or ""
    raise AssertionError(f"no {action} button on {msg.text!r}")


async def press(user: EmulatedUser, msg: BotMessage, label: str) -> str:
    await user.press(msg, label)
    answer = await user.wait_callback_answer()
    return answer.text or ""


async def test_meeting_from_notice_to_points(mbot: Harness, clock: FrozenClock) -> None:
    bot = mbot
    users = await setup(bot)
    sec, zhang, li, wang, zhao = (users[i] for i in (1001, 2001, 2002, 2003, 2004))

    # A member cannot schedule; the secretary can.
    await zhang.send("/meeting_new 党员大会 2026-06-05 15:00 第二季度党员大会")
    assert "只有支部书记" in (await zhang.wait_reply()).text
    await sec.send("/meeting_new 党员大会 2026-13-05 15:00 坏日期")
    assert "无法识别" in (await sec.wait_reply()).text
    await sec.send("/meeting_new 党员大会 2026-06-05 15:00 第二季度党员大会 | 三楼会议室")
    created = await sec.wait_reply()
    assert "会议已安排" in created.text and "三楼会议室" in created.text
    assert "4 人" in created.text  # Party members only: not the activist 王五
    meeting_id = parse(data_of(created, "cls")).id  # type: ignore[union-attr]
    # The secretary names 张三 to take the minutes.
    await press(sec, created, "记录人")
    pick = await sec.wait_reply()
    assert "谁担任" in pick.text and len([b for row in pick.buttons for b in row]) == 5
    assert "已保存" in await press(sec, pick, "张三")
    assert "记录人：张三" in (await sec.wait_reply()).text

    # Notices: nobody yet; the leading cadre 3 days before; the others 1 day before.
    assert await run_notices(bot.app) == 0
    clock.set(datetime(2026, 6, 2, 8, 0, tzinfo=UTC))
    assert await run_notices(bot.app) == 1
    notice_zhao = await zhao.wait_reply()
    assert "会议通知" in notice_zhao.text and "第二季度党员大会" in notice_zhao.text
    assert [b.text for row in notice_zhao.buttons for b in row] == ["参加", "请假", "签到"]
    clock.set(datetime(2026, 6, 4, 8, 0, tzinfo=UTC))
    assert await run_notices(bot.app) == 3
    notice_zhang = await zhang.wait_reply()
    notice_li = await li.wait_reply()
    notice_sec = await sec.wait_reply()
    assert "会议通知" in notice_sec.text
    assert await run_notices(bot.app) == 0  # once
    await wang.expect_no_reply()
    assert (
        await bot.scalar("SELECT count(*) FROM meeting_attendance WHERE notified_at IS NOT NULL")
        == 4
    )

    # 参加, twice: one effect.
    assert "已确认参加" in await press(zhang, notice_zhang, "参加")
    assert "您已确认参加" in await press(zhang, notice_zhang, "参加")

    # 李四 asks for leave; the secretary approves.
    await press(li, notice_li, "请假")
    assert "请说明" in (await li.wait_reply()).text
    await li.send("外出培训")
    assert "已提交" in (await li.wait_reply()).text
    request = await sec.wait_reply()
    assert "李四" in request.text and "外出培训" in request.text
    assert "已批准" in await press(sec, request, "批准请假")
    await sec.wait_reply()
    assert "获批准" in (await li.wait_reply()).text
    # A second tap of the decided request changes nothing.
    assert "已处理" in await press(sec, request, "不批准")

    # 赵六 asks for leave; the secretary refuses: 赵六 is told to attend.
    await press(zhao, notice_zhao, "请假")
    await zhao.wait_reply()
    await zhao.send("出差")
    await zhao.wait_reply()
    request2 = await sec.wait_reply()
    assert "未批准" in await press(sec, request2, "不批准")
    await sec.wait_reply()
    refused = await zhao.wait_reply()
    assert "未获批准" in refused.text

    # Check-in: too early (the day before), on time, late, closed.
    assert "开始前 30 分钟开放" in await press(zhang, notice_zhang, "签到")
    clock.set(datetime(2026, 6, 5, 6, 45, tzinfo=UTC))
    assert "签到成功" in await press(zhang, notice_zhang, "签到")
    await zhang.wait_reply()
    assert "您已签到" in await press(zhang, notice_zhang, "签到")
    clock.set(datetime(2026, 6, 5, 7, 10, tzinfo=UTC))
    assert "迟到" in await press(sec, notice_sec, "签到")
    await sec.wait_reply()
    clock.set(datetime(2026, 6, 5, 7, 45, tzinfo=UTC))
    assert "签到已结束" in await press(zhao, refused, "签到")

    # Minutes with a photo, then a correction: two versions, the first kept.
    await sec.send(f"/meeting_{meeting_id}")
    record = await sec.wait_reply()
    assert "出席 2 人" in record.text and "请假 1 人" in record.text
    await press(sec, record, "会议记录")
    assert "保存会议记录" in [b.text for row in (await sec.wait_reply()).buttons for b in row]
    await sec.send("议题：审议第二季度工作。决议：通过。")
    assert "已收到文字" in (await sec.wait_reply()).text
    await sec.send_photo(b"\xff\xd8signin-sheet", caption="签到表")
    got = await sec.wait_reply()
    assert "第 1 个文件" in got.text
    await press(sec, got, "保存会议记录")
    assert "第 1 版" in (await sec.wait_reply()).text
    await press(sec, record, "会议记录")
    assert "第 1 版之后" in (await sec.wait_reply()).text
    await sec.send("更正：决议全票通过。")
    got = await sec.wait_reply()
    await press(sec, got, "保存会议记录")
    assert "第 2 版" in (await sec.wait_reply()).text
    assert await bot.scalar("SELECT count(*) FROM meeting_minutes") == 2
    files = await bot.scalar("SELECT files FROM meeting_minutes WHERE version = 1")
    files = json.loads(files) if isinstance(files, str) else files  # JSON text on SQLite
    assert [f["kind"] for f in files] == ["photo"]  # the Telegram file id and our own copy
    assert (bot.settings.storage_dir / files[0]["local"]).read_bytes() == b"\xff\xd8signin-sheet"
    assert await bot.scalar("SELECT text FROM meeting_minutes WHERE version = 1") == (
        "议题：审议第二季度工作。决议：通过。\n签到表"
    )
    # A member who does not take the minutes cannot write them.
    await li.send(f"/meeting_{meeting_id}")
    member_view = await li.wait_reply()
    assert "结束会议" not in [b.text for row in member_view.buttons for b in row]
    assert "只有记录人或支部书记" in await press(li, member_view, "会议记录")
    await press(li, member_view, "附件")  # the correction kept the photo
    assert (await li.wait_reply()).photo == b"\xff\xd8signin-sheet"

    # Closing grants points once: two present (credit), 赵六 absent (deduction).
    assert "会议已结束" in await press(sec, record, "结束会议")
    closed = await sec.wait_reply()
    assert "出席 2 人" in closed.text and "缺席 1 人" in closed.text and "3 条" in closed.text
    assert "已结束" in await press(sec, record, "结束会议")
    assert await bot.scalar("SELECT count(*) FROM point_ledger WHERE source = 'meeting'") == 3
    assert (
        await bot.scalar(
            "SELECT points FROM point_ledger WHERE source = 'meeting' AND item_key = "
            "'disc_absent_without_leave'"
        )
        == -2
    )
    await zhao.send("/points")
    assert "无故缺席组织生活" in (await zhao.wait_reply()).text

    # /meetings: the member's year; the secretary's compliance names Q1 as not held.
    await zhang.send("/meetings")
    mine = await zhang.wait_reply()
    assert "出席 1 次" in mine.text and "执行情况" not in mine.text
    await sec.send("/meetings")
    overview = await sec.wait_reply()
    assert "❌ 2026Q1 党员大会: 未召开" in overview.text
    assert "✅ 2026Q2 党员大会: 已召开，出席 2/4" in overview.text
    assert "尚未讲党课" in overview.text

    # The register: one sheet per kind, one row per meeting, the attendance matrix.
    await zhang.send("/export meetings 2026")
    assert "没有您可以导出的内容" in (await zhang.wait_reply()).text
    await sec.send("/export meetings 2026")
    doc = await sec.wait_reply()
    assert doc.document is not None
    name, _mime, data = doc.document
    assert name == "meetings-2026.xlsx"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:2] == ["党员大会", "支委会"]
    sheet = wb["党员大会"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["序号", "日期", "标题"]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert row["标题"] == "第二季度党员大会" and row["记录人"] == "张三"
    assert (row["出席"], row["请假"], row["缺席"]) == (2, 1, 1)
    assert (row["张三"], row["李四"], row["赵六"], row["王书记"]) == ("✓", "请假", "✗", "✓")
    assert "全票通过" in row["会议记录（最新版本）"] and (row["版本"], row["附件"]) == (2, 1)
    assert sheet.max_row == 2 and wb["支委会"].max_row == 1


async def test_overdue_alert_is_sent_once(mbot: Harness, clock: FrozenClock) -> None:
    bot = mbot
    users = await setup(bot)
    sec = users[1001]
    clock.set(datetime(2026, 6, 10, 2, 0, tzinfo=UTC))
    assert await run_overdue(bot.app) == 0  # June has three weeks left
    clock.set(datetime(2026, 6, 25, 2, 0, tzinfo=UTC))
    # A committee meeting held on the 20th is entered afterwards: roll call, closed.
    await sec.send("/meeting_new 支委会 2026-03-01 16:00 太久以前")
    assert "已超过 60 天" in (await sec.wait_reply()).text
    await sec.send("/meeting_new 支委会 2026-06-20 16:00 六月支委会")
    created = await sec.wait_reply()
    await press(sec, created, "点名")
    roll = await sec.wait_reply()
    assert "已记为出席" in await press(sec, roll, "王书记")
    await press(sec, created, "结束会议")
    assert "出席 1 人" in (await sec.wait_reply()).text
    assert await bot.scalar("SELECT late FROM meeting_attendance") in (0, False)
    sent = await run_overdue(bot.app)
    # Q2 general meeting, June party group and theme day (June is no lecture month;
    # the committee met).
    assert sent == 3
    alerts = await sec.wait_replies(3)
    assert any("2026Q2" in a.text and "党员大会" in a.text for a in alerts)
    assert any("2026-06" in a.text and "党小组会" in a.text for a in alerts)
    assert not any("支委会" in a.text for a in alerts)
    assert await run_overdue(bot.app) == 0
    await sec.expect_no_reply()
    assert await bot.scalar("SELECT count(*) FROM meeting_alerts") == 3


async def test_leave_and_minutes_dialogs_survive_a_restart(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> None:
    from tests.harness import lasting_world

    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            users = await setup(bot)
            sec, li = users[1001], users[2002]
            await sec.send("/meeting_new 支委会 2026-06-05 16:00 六月支委会")
            created = await sec.wait_reply()
            assert "1 人" in created.text  # the committee: the secretary alone
            await sec.send("/meeting_new 党课 2026-06-05 16:00 党课 | https://meet.example/x")
            lecture = await sec.wait_reply()
            lecture_id = parse(data_of(lecture, "cls")).id  # type: ignore[union-attr]
            clock.set(datetime(2026, 6, 4, 9, 0, tzinfo=UTC))
            await run_notices(bot.app)
            notice = await li.wait_reply()
            assert "meet.example" in notice.text
            await press(li, notice, "请假")
            await li.wait_reply()
            # The secretary starts the lecture's minutes (the restart comes in between).
            await press(sec, lecture, "会议记录")
            await sec.wait_reply()
            await sec.send("党课提纲：革命传统教育。")
            await sec.wait_reply()
            # Forged data for another meeting's leave decision: refused, audited.
            await li.press_raw(notice.message_id, f"mt:{lecture_id}:lok")
            answer = await li.wait_callback_answer()
            assert "只有支部书记" in (answer.text or "")
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            li = bot.user(2002, "李四")
            li.started = True
            sec = bot.user(1001, "王书记")
            sec.skip_pending()
            await sec.send_photo(b"\xff\xd8lecture", caption="签到表")
            got = await sec.wait_reply()
            assert "第 1 个文件" in got.text
            await press(sec, got, "保存会议记录")
            assert "第 1 版" in (await sec.wait_reply()).text
            assert await bot.scalar("SELECT text FROM meeting_minutes") == (
                "党课提纲：革命传统教育。\n签到表"
            )
            await li.send("x" * 600)
            assert "过长" in (await li.wait_reply()).text
            await li.send("家中有事")
            assert "已提交" in (await li.wait_reply()).text
            assert (
                await bot.scalar(
                    "SELECT leave_status FROM meeting_attendance WHERE leave_reason = '家中有事'"
                )
                == "pending"
            )
            assert (
                await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'access.denied'")
                >= 1
            )
            # Closing the lecture credits its lecturer (the secretary), and the
            # compliance view sees that the secretary lectured this year.
            assert "家中有事" in (await sec.wait_reply()).text  # the leave request
            clock.set(datetime(2026, 6, 5, 9, 0, tzinfo=UTC))
            lecture_id = await bot.scalar("SELECT id FROM meetings WHERE kind = 'lecture'")
            await sec.send(f"/meeting_{lecture_id}")
            record = await sec.wait_reply()
            assert "主讲人：王书记" in record.text
            await press(sec, record, "结束会议")
            await sec.wait_reply()
            assert (
                await bot.scalar(
                    "SELECT count(*) FROM point_ledger WHERE item_key = 'study_give_party_lecture'"
                )
                == 1
            )
            await sec.send("/meetings")
            assert "支部书记本年度已讲党课" in (await sec.wait_reply()).text


async def test_meeting_from_a_calendar_occurrence(mbot: Harness, clock: FrozenClock) -> None:
    bot = mbot
    users = await setup(bot)
    sec = users[1001]
    await sec.send("/meetings")
    overview = await sec.wait_reply()
    offered = [b.text for row in overview.buttons for b in row]
    assert offered[0] == "安排 支委会 2026-06-01"
    await press(sec, overview, "安排 支委会 2026-06-01")
    created = await sec.wait_reply()
    assert "会议已安排" in created.text and "2026-06-01 16:00" in created.text
    assert "1 人" in created.text  # the committee: the secretary
    assert "已安排" in await press(sec, overview, "安排 支委会 2026-06-01")  # a double tap
    committee_id = await bot.scalar("SELECT id FROM meetings")
    await users[2001].send(f"/meeting_{committee_id}")  # not a committee member
    assert "此会议不需要您参加" in (await users[2001].wait_reply()).text
    assert await bot.scalar("SELECT count(*) FROM meetings") == 1
    await sec.send("/meetings")
    again = await sec.wait_reply()
    assert "安排 支委会 2026-06-01" not in [b.text for row in again.buttons for b in row]
    # Called off: the meeting leaves the upcoming list; a second tap changes nothing.
    assert "已取消" in await press(sec, created, "取消会议")
    assert "已取消" in (await sec.wait_reply()).text
    assert "已结束" in await press(sec, created, "取消会议")
    assert await bot.scalar("SELECT status FROM meetings") == "cancelled"
    # Those who had the notice are told when a meeting is called off.
    await sec.send("/meeting_new 主题党日 2026-06-02 14:30 六月主题党日")
    theme = await sec.wait_reply()
    clock.set(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    assert await run_notices(bot.app) == 4
    await users[2001].wait_reply()
    await sec.wait_reply()
    await press(sec, theme, "取消会议")
    assert "已通知收到会议通知的 3 人" in (await sec.wait_reply()).text
    assert "会议取消：主题党日 · 六月主题党日" in (await users[2001].wait_reply()).text
    assert await bot.scalar("SELECT count(*) FROM meetings WHERE status = 'cancelled'") == 2
    # Forged: a date that is no occurrence of the rule.
    rule = await bot.scalar("SELECT max(calendar_rule_id) FROM meetings")
    await sec.press_raw(again.message_id, f"mt:{rule}:cal:20260602")
    assert "不存在" in ((await sec.wait_callback_answer()).text or "")


async def test_the_secretarys_leave_is_decided_by_a_reviewer(
    mbot: Harness, clock: FrozenClock
) -> None:
    bot = mbot
    users = await setup(bot)
    sec, zhao = users[1001], users[2004]
    async with bot.runtime.db.session() as session:
        await session.execute(
            text(
                "UPDATE memberships SET role = 'committee', can_review = true WHERE person_id = "
                "(SELECT id FROM persons WHERE full_name = '赵六')"
            )
        )
        await session.commit()
    await sec.send("/meeting_new 党员大会 2026-06-05 15:00 第二季度党员大会")
    created = await sec.wait_reply()
    meeting_id = parse(data_of(created, "cls")).id  # type: ignore[union-attr]
    await sec.press_raw(created.message_id, f"mt:{meeting_id}:lv")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("外出开会")
    await sec.wait_reply()
    request = await zhao.wait_reply()  # the reviewer, not the secretary
    assert "王书记" in request.text and "外出开会" in request.text
    await sec.press_raw(created.message_id, data_of(request, "lok"))
    assert "不能审核自己" in ((await sec.wait_callback_answer()).text or "")
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'review.self_denied'")
    assert "已批准" in await press(zhao, request, "批准请假")
    assert "获批准" in (await sec.wait_reply()).text
    assert (
        await bot.scalar(
            "SELECT leave_status FROM meeting_attendance WHERE leave_reason = '外出开会'"
        )
        == "approved"
    )
