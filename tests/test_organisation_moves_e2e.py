"""Across an organisation's branches: 组织关系转接 confirmed by the receiving branch
(history kept), and 通知公告 to every member once, with read receipts counted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.clock import FrozenClock
from scheduler.deliveries import deliver_due, drain
from tests.databases import TemplateDatabase
from tests.harness import Harness, lasting_world, running_bot
from tests.test_organisation_e2e import ADMIN, _world


async def _memberships(bot: Harness, telegram_id: int) -> list[tuple[int, bool]]:
    await bot.settled()
    async with bot.runtime.db.session() as session:
        from sqlalchemy import text

        rows = await session.execute(
            text(
                "SELECT m.branch_id, m.ended_at IS NULL FROM memberships m "
                "JOIN telegram_accounts a ON a.person_id = m.person_id "
                "WHERE a.telegram_user_id = :t ORDER BY m.id"
            ),
            {"t": telegram_id},
        )
        return [(int(b), bool(c)) for b, c in rows.all()]


async def test_transfer_is_confirmed_by_the_receiving_branch(bot: Harness) -> None:
    _, a_id, b_id = await _world(bot)
    admin = bot.user(ADMIN, "院党委")
    wang, zhang, surgeon = (
        bot.user(1001, "王书记"),
        bot.user(1003, "张预备"),
        bot.user(1101, "外科书记"),
    )
    await admin.send(f"/move 1003 {b_id}")
    assert (
        await admin.wait_reply()
    ).text == "已请外科党支部书记确认接收 张预备（来自心内科党支部）。"
    ask = await surgeon.wait_reply()
    assert ask.text == "组织关系转接\n张预备 拟从心内科党支部转入外科党支部。是否接收？"
    assert ask.button_texts == ["✅ 接收", "✖ 不接收"]
    assert await _memberships(bot, 1003) == [(a_id, True)]  # nothing moved yet
    accept = next(b.callback_data for row in ask.buttons for b in row if b.text[2:] == "接收")

    # Only the receiving secretary decides: the sending secretary's press is refused.
    await wang.send("/help")
    host = await wang.wait_reply()
    await wang.press_raw(host.message_id, accept or "")
    assert (await wang.wait_callback_answer()).text == "只有接收支部的书记可以决定。"
    assert await _memberships(bot, 1003) == [(a_id, True)]

    await surgeon.press(ask, "✅ 接收")
    await surgeon.wait_edit(ask)
    assert (ask.text or "").endswith("张预备 已转入本支部。")
    assert (await zhang.wait_reply()).text == "您的组织关系已由心内科党支部转入外科党支部。"
    assert (await admin.wait_reply()).text == "外科党支部已接收 张预备（来自心内科党支部）。"
    assert await _memberships(bot, 1003) == [(a_id, False), (b_id, True)]  # history kept
    assert await bot.scalar("SELECT status FROM branch_transfers") == "accepted"
    assert (
        await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'org.transfer_accept'") == 1
    )
    await surgeon.press_raw(ask.message_id, accept or "")  # a double tap
    assert (await surgeon.wait_callback_answer()).text == "该转接已处理。"
    assert len(await _memberships(bot, 1003)) == 2

    # Refusals: already there; a secretary; a second pending transfer; then a decline.
    await admin.send(f"/move 1003 {b_id}")
    assert (await admin.wait_reply()).text == "该党员已在外科党支部。"
    await admin.send(f"/move 1001 {b_id}")
    assert "请先为该支部另行任命书记" in ((await admin.wait_reply()).text or "")
    await admin.send("/move 9999 1")
    assert (await admin.wait_reply()).text == "Telegram 用户 9999 不是您组织下支部的党员。"
    await admin.send(f"/move 1002 {b_id}")
    await admin.wait_reply()
    second = await surgeon.wait_reply()
    await admin.send(f"/move 1002 {b_id}")
    assert (await admin.wait_reply()).text == "该党员已有一项待确认的转接。"
    await surgeon.press(second, "不接收")
    await surgeon.wait_edit(second)
    assert (second.text or "").endswith("您已拒绝接收 李明。")
    assert (await admin.wait_reply()).text == "外科党支部拒绝接收 李明。"
    assert await _memberships(bot, 1002) == [(a_id, True)]
    # The oversight counts the moved member in the new branch.
    await admin.send("/org name")
    view = (await admin.wait_reply()).text or ""
    assert "心内科党支部（人民医院党委）· 书记 王书记 · 2 人" in view
    assert "外科党支部（人民医院党委）· 书记 外科书记 · 3 人" in view
    # Only administrators move people.
    await wang.send(f"/move 1002 {b_id}")
    assert (await wang.wait_reply()).text == "只有组织管理员可以这样做。"


async def test_notice_reaches_each_member_once_with_read_receipts(bot: Harness) -> None:
    await _world(bot)
    admin = bot.user(ADMIN, "院党委")
    outsider = bot.user(1102, "外科成员")
    await outsider.send("/start")
    await outsider.wait_reply()
    outsider.block()  # has blocked the bot since: the notice cannot reach them
    await admin.send("/notice 关于开展主题党日活动的通知\n本周五 15:00 在三楼会议室。<请准时>")
    assert (await admin.wait_reply()).text == "第 1 号通知正在发送给 5 名党员。"
    readers = {uid: bot.user(uid, name) for uid, name in (
        (1001, "王书记"), (1002, "李明"), (1003, "张预备"), (1101, "外科书记")
    )}  # fmt: skip
    notices = {}
    for uid, user in readers.items():
        msg = await user.wait_reply()
        assert msg.text == (
            "📢 通知公告 · 人民医院党委\n\n关于开展主题党日活动的通知\n"
            "本周五 15:00 在三楼会议室。<请准时>"
        ), uid
        assert msg.button_texts == ["✅ 已阅"]
        notices[uid] = msg
    # Exactly once: the delivery task finds nothing left to send.
    assert await deliver_due(bot.app) == 0
    for user in readers.values():
        await user.expect_no_reply()
    assert await bot.scalar("SELECT count(*) FROM org_notice_receipts") == 5
    assert await bot.scalar("SELECT status FROM deliveries WHERE chat_id = 1102") == "blocked"
    assert not [m for m in outsider.inbox if "通知公告" in (m.text or "")]

    li, surgeon = readers[1002], readers[1101]
    await li.press(notices[1002], "已阅")
    assert (await li.wait_callback_answer()).text == "谢谢，已确认阅读。"
    await li.press_raw(notices[1002].message_id, "nt:1:read")
    assert (await li.wait_callback_answer()).text == "您已确认过阅读。"
    await surgeon.press(notices[1101], "已阅")
    assert (await surgeon.wait_callback_answer()).text == "谢谢，已确认阅读。"
    await admin.send("/help")
    host = await admin.wait_reply()
    await admin.press_raw(host.message_id, "nt:1:read")  # not a recipient
    assert (await admin.wait_callback_answer()).text == "这条通知不是发给您的。"

    await admin.send("/notice")
    listing = (await admin.wait_reply()).text or ""
    assert "第 1 号 · 已阅 2/5 · 关于开展主题党日活动的通知" in listing
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'org.notice_read'") == 2
    # Members cannot send notices; an over-long one is refused with its length.
    await li.send("/notice 假通知")
    assert (await li.wait_reply()).text == "只有组织管理员可以这样做。"
    await admin.send("/notice " + "长" * 3001)
    assert (await admin.wait_reply()).text == "通知为 1 至 3000 个字符，您的有 3001 个。"
    assert await bot.scalar("SELECT count(*) FROM org_notices") == 1


async def test_a_notice_telegram_refused_reaches_each_member_once_after_a_restart(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    members = (1001, 1002, 1003, 1101)
    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            await _world(bot)
            telegram.inject_fault("sendMessage", status=502, count=1000)  # Telegram down
            await bot.user(ADMIN, "院党委").send("/notice 停电通知：周六全天停电。")
            for _ in range(500):  # the reply and the four notices wait in the outbox
                if await bot.scalar(_WAITING) == 5:
                    break
                await asyncio.sleep(0.02)
            assert await bot.scalar(_WAITING) == 5
        telegram.clear_faults()
        clock.advance(timedelta(minutes=2))  # past the retry backoff
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            await drain(bot.app)
            assert await drain(bot.app) == 0
            reply = await bot.user(ADMIN, "院党委").wait_reply()
            assert reply.text == "第 1 号通知正在发送给 4 名党员。"
            for uid in members:
                user = bot.user(uid, "")
                await user.wait_reply()
                got = [m for m in user.inbox if "停电通知" in (m.text or "")]
                assert len(got) == 1, uid  # each once
            assert await bot.scalar("SELECT count(*) FROM deliveries WHERE status <> 'sent'") == 0


_WAITING = "SELECT count(*) FROM deliveries WHERE status = 'pending' AND attempts >= 1"
