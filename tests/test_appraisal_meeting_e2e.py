"""The democratic appraisal and its 组织生活会 end to end over HTTP (seed 002: the
appraisal is held together with the year's organisational life meeting): from
``/appraisal`` the secretary schedules the life meeting with one button (a double tap
schedules one) or links one already scheduled (a double tap changes nothing); a member's
forged button is refused and audited; both screens name each other (the appraisal its
meeting, the meeting's notice and record the appraisal on the agenda with its deadline);
once held, the meeting's attendance shows beside the results and the meetings
compliance counts the life meeting as held."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from domain.clock import FrozenClock
from emulator import BotMessage, EmulatedUser
from handlers.meetings_jobs import run_notices
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

ROSTER = """name,status,telegram_id
王书记,正式党员,1001
李明,正式党员,1002
张华,正式党员,1003
赵六,预备党员,1004
钱积极,入党积极分子,1005
"""
NAMES = {1001: "王书记", 1002: "李明", 1003: "张华", 1004: "赵六", 1005: "钱积极"}
#: 10 Dec 2026, 10:00 in Shanghai: inside the default period (December).
START = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
AGENDA = "议程：2026 年度民主评议党员；请在 2026-12-31 23:59 前通过 /appraisal 完成评议。"


async def _setup(bot: Harness) -> dict[int, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    users = {}
    for uid, name in NAMES.items():
        users[uid] = bot.user(uid, name)
        await users[uid].send("/start")
        await users[uid].wait_reply()
    return users


async def _answer(user: EmulatedUser, msg: BotMessage, label: str) -> str:
    await user.press(msg, label)
    return (await user.wait_callback_answer()).text or ""


async def _menu(sec: EmulatedUser) -> BotMessage:
    await sec.send("/appraisal")
    home = await sec.wait_reply()
    await sec.press(home, "🗓 组织生活会")
    await sec.wait_callback_answer()
    await sec.wait_edit(home)
    return home


async def test_the_appraisal_and_its_life_meeting(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(START)
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        users = await _setup(bot)
        sec, li, zhang, zhao = (users[i] for i in (1001, 1002, 1003, 1004))
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "开启 2026 年度民主评议")
        await sec.wait_callback_answer()
        # A life meeting the secretary scheduled already, and a party congress.
        await sec.send("/meeting_new 组织生活会 2026-12-20 14:30 年度组织生活会 | 三楼会议室")
        assert "会议已安排" in ((await sec.wait_reply()).text or "")
        await sec.send("/meeting_new 党员大会 2026-12-21 14:30 十二月党员大会")
        await sec.wait_reply()
        first = int(await bot.scalar("SELECT id FROM meetings WHERE kind = 'life_meeting'"))
        congress = int(await bot.scalar("SELECT id FROM meetings WHERE kind = 'party_congress'"))

        # -- the secretary's screen: nothing linked; pick or schedule ----------------------
        menu = await _menu(sec)
        assert "尚未关联会议。" in (menu.text or "")
        assert menu.button_texts == [
            "关联:年度组织生活会 2026-12-20 14:30",
            "➕ 安排组织生活会于 2026-12-31 14:30",
            "« 返回",
        ]
        # One button schedules the meeting through the meetings feature, and links it.
        assert await _answer(sec, menu, "➕ 安排组织生活会于 2026-12-31 14:30") == (
            "已安排并关联第 3 号会议。"
        )
        await sec.wait_edit(menu)
        assert (
            "组织生活会:2026年度组织生活会暨民主评议党员,2026-12-31 14:30,已安排 — /meeting_3"
            in (menu.text or "")
        )
        assert "会议已安排" in (menu.text or "") and AGENDA in (menu.text or "")
        assert await bot.scalar("SELECT kind FROM meetings WHERE id = 3") == "life_meeting"
        assert await bot.scalar("SELECT status FROM meetings WHERE id = 3") == "scheduled"
        assert await bot.scalar("SELECT count(*) FROM meeting_attendance WHERE meeting_id = 3") == 4
        assert await bot.scalar("SELECT meeting_id FROM appraisals") == 3
        # A double tap (the stale button) schedules nothing more.
        await sec.press_raw(menu.message_id, "am:0:new")
        assert (await sec.wait_callback_answer()).text == "民主评议已关联第 3 号会议。"
        assert await bot.scalar("SELECT count(*) FROM meetings") == 3

        # Picking the one scheduled before instead; a second tap changes nothing.
        assert await _answer(sec, menu, "关联:年度组织生活会 2026-12-20 14:30") == (
            f"已关联第 {first} 号会议。"
        )
        await sec.wait_edit(menu)
        await sec.press_raw(menu.message_id, f"am:{first}:pick")
        assert (await sec.wait_callback_answer()).text == "已关联此会议。"
        assert await bot.scalar("SELECT meeting_id FROM appraisals") == first
        # Forged: a meeting that is no life meeting, one of nobody.
        for forged in (congress, 999):
            await sec.press_raw(menu.message_id, f"am:{forged}:pick")
            assert (await sec.wait_callback_answer()).text == "这不是本支部的组织生活会。"
        assert await bot.scalar("SELECT meeting_id FROM appraisals") == first
        assert (
            await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'appraisal.meeting'")
            == 2
        )
        # The meeting scheduled by the button and no longer needed is called off.
        await sec.send("/meeting_3")
        record3 = await sec.wait_reply()
        assert AGENDA not in (record3.text or "")  # no longer the appraisal's
        assert "已取消" in await _answer(sec, record3, "取消会议")
        assert "已取消" in ((await sec.wait_reply()).text or "")

        # A member's forged button: refused and audited.
        await li.send("/appraisal")
        own = await li.wait_reply()
        assert "🗓 组织生活会" not in own.button_texts
        for data in ("am:0:menu", "am:0:new", "am:0:off", f"am:{first}:pick"):
            await li.press_raw(own.message_id, data)
            assert (await li.wait_callback_answer()).text == "只有支部书记才能进行此操作。"
        assert await bot.scalar("SELECT meeting_id FROM appraisals") == first
        assert await bot.scalar("SELECT count(*) FROM meetings") == 3
        assert (
            await bot.scalar(
                "SELECT count(*) FROM audit_log WHERE action = 'access.denied' "
                "AND actor_telegram_id = 1002"
            )
            == 4
        )

        # -- both screens name each other ----------------------------------------------------
        named = f"组织生活会:年度组织生活会,2026-12-20 14:30,已安排 — /meeting_{first}"
        await sec.send("/appraisal")
        assert named in ((await sec.wait_reply()).text or "")
        await li.send("/appraisal")
        assert named in ((await li.wait_reply()).text or "")  # the member's own screen
        await sec.send(f"/meeting_{first}")
        record = await sec.wait_reply()
        assert AGENDA in (record.text or "")
        # The notice (1 day before) carries the agenda, in each reader's language.
        await zhao.send("/lang en")
        await zhao.wait_reply()
        clock.set(datetime(2026, 12, 19, 7, 0, tzinfo=UTC))
        assert await run_notices(bot.app) == 4
        notice_li = await li.wait_reply()
        assert "会议通知" in (notice_li.text or "") and AGENDA in (notice_li.text or "")
        notice_zhao = await zhao.wait_reply()
        assert (
            "Agenda: the democratic appraisal of 2026 (民主评议党员); grading in /appraisal "
            "until 2026-12-31 23:59." in (notice_zhao.text or "")
        )
        notice_zhang = await zhang.wait_reply()
        notice_sec = await sec.wait_reply()

        # -- before the meeting: the results say it is not held yet --------------------------
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        await sec.wait_callback_answer()
        results = await sec.wait_reply()
        assert f"第 {first} 号组织生活会(2026-12-20 14:30)尚未召开:应到 4 人。" in (
            results.text or ""
        )
        assert "组织生活会:出席" not in (results.text or "")
        # compliance: the year's life meeting is not held yet
        await sec.send("/meetings")
        assert "⏳ 2026 组织生活会: 尚未召开" in ((await sec.wait_reply()).text or "")

        # -- the meeting: 李明 on leave, 张华 and the secretary check in, 赵六 absent ----------
        await li.press(notice_li, "请假")
        await li.wait_callback_answer()
        await li.wait_reply()
        await li.send("外出培训")
        await li.wait_reply()
        request = await sec.wait_reply()
        assert "已批准" in await _answer(sec, request, "批准请假")
        await sec.wait_reply()
        await li.wait_reply()
        clock.set(datetime(2026, 12, 20, 6, 20, tzinfo=UTC))  # 14:20 in Shanghai
        assert "签到成功" in await _answer(zhang, notice_zhang, "签到")
        await zhang.wait_reply()
        assert "签到成功" in await _answer(sec, notice_sec, "签到")
        await sec.wait_reply()
        clock.set(datetime(2026, 12, 20, 8, 0, tzinfo=UTC))
        await sec.send(f"/meeting_{first}")
        record = await sec.wait_reply()
        assert "会议已结束" in await _answer(sec, record, "结束会议")
        await sec.wait_reply()

        # -- the attendance beside the results; compliance counts the meeting -----------------
        sec.skip_pending()
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        await sec.wait_callback_answer()
        results = await sec.wait_reply()
        text = results.text or ""
        assert (
            f"第 {first} 号组织生活会(2026-12-20 14:30)已召开:应到 4 人,出席 2 人,"
            "请假 1 人,缺席 1 人。"
        ) in text
        lines = {
            line.split(". ")[1].split(" — ")[0]: line
            for line in text.splitlines()
            if " — 综合" in line
        }
        assert lines["王书记"].endswith("组织生活会:出席")
        assert lines["张华"].endswith("组织生活会:出席")
        assert lines["李明"].endswith("组织生活会:请假")
        assert lines["赵六"].endswith("组织生活会:缺席")
        await sec.send("/meetings")
        assert "✅ 2026 组织生活会: 已召开，出席 2/4" in ((await sec.wait_reply()).text or "")
        # The link cannot be removed by a member; the secretary removes it, audited.
        menu = await _menu(sec)
        assert await _answer(sec, menu, "取消关联") == "已取消关联。"
        await sec.wait_edit(menu)
        assert "尚未关联会议。" in (menu.text or "")
        await sec.press_raw(menu.message_id, "am:0:off")
        assert (await sec.wait_callback_answer()).text == "未关联会议。"
        assert await bot.scalar("SELECT meeting_id FROM appraisals") is None
        assert (
            await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'appraisal.meeting'")
            == 3
        )
