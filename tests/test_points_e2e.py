"""The points scheme end to end over HTTP: members declare, reviewers decide in chat,
scores, the quarter close, the ranking chart and the XLSX export (issue #4, Done when)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.clock import FrozenClock
from emulator import EmulatedUser
from handlers.points_ranking import run_quarter_close
from handlers.points_review import run_overdue_digest
from scheduler.deliveries import drain
from tests.databases import TemplateDatabase
from tests.harness import Harness, lasting_world, running_bot

pytestmark = pytest.mark.e2e

ROSTER = "name,status,telegram_id\n张三,正式党员,2001\n李四,正式党员,2002\n赵支委,正式党员,2003\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
# 2026-05-15 10:00 in Beijing: the second quarter; Q1's window closed on 10 April.
NOW = datetime(2026, 5, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
async def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def pbot(
    tmp_path: Path, template_db: Path | None, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def execute(bot: Harness, sql: str, **params: object) -> None:
    from sqlalchemy import text

    async with bot.runtime.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def grant(
    bot: Harness, pid: int, key: str, day: date, ref: str, *, expect: bool = True
) -> int | None:
    """``grant_system`` from outside the bot (once the bot's last update committed:
    ``bot.uow()`` waits for it)."""
    async with bot.uow() as svc:
        entry = await svc.points.grant_system(
            pid, key, occurred_on=day, source="test", source_ref=ref
        )
    assert (entry is not None) == expect
    return entry


async def person_id(bot: Harness, telegram_id: int) -> int:
    pid = await bot.scalar(
        "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
    )
    return int(pid)


async def setup_branch(bot: Harness, *, committee: bool = True) -> dict[str, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    if committee:
        await execute(
            bot,
            "UPDATE memberships SET role = 'committee', can_review = true WHERE person_id = "
            "(SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 2003)",
        )
    users = {
        "sec": bot.user(1001, "王书记"),
        "zhang": bot.user(2001, "张三"),
        "li": bot.user(2002, "李四"),
        "zhao": bot.user(2003, "赵支委"),
    }
    for u in users.values():
        await u.send("/start")
        await u.wait_reply()
    return users


async def claim(
    bot: Harness,
    u: EmulatedUser,
    indicator: str,
    item: str,
    description: str,
    *,
    day: str | None = None,
    evidence: bytes | None = None,
) -> str:
    """Walk the /claim dialog; returns the receipt text."""
    await u.send("/claim")
    msg = await u.wait_reply()
    await u.press(msg, indicator)
    items = await u.wait_reply()
    await u.press(items, item)
    ask_date = await u.wait_reply()
    assert "YYYY-MM-DD" in ask_date.text
    if day is None:
        await u.press(ask_date, "今天")
    else:
        await u.send(day)
    ask_desc = await u.wait_reply()
    assert "简要说明" in ask_desc.text, ask_desc.text
    await u.send(description)
    if evidence is not None:
        ask_ev = await u.wait_reply()
        assert "佐证材料" in ask_ev.text
        await u.send_photo(evidence)
    confirm = await u.wait_reply()
    assert "请核对申报内容" in confirm.text
    await u.press(confirm, "提交")
    receipt = await u.wait_reply()
    await bot.settled()
    return receipt.text or ""


async def test_claim_with_evidence_approved_and_double_decision_refused(pbot: Harness) -> None:
    users = await setup_branch(pbot)
    sec, zhang, zhao = users["sec"], users["zhang"], users["zhao"]
    receipt = await claim(
        pbot, zhang, "政治学习", "讲授党课", "为科室党员讲授微党课《医者初心》", evidence=PNG
    )
    assert "申报已提交" in receipt and "申报编号" in receipt
    # Both reviewers get the evidence photo with the decision buttons.
    to_sec = await sec.wait_reply()
    to_zhao = await zhao.wait_reply()
    claim_id = await pbot.scalar("SELECT max(id) FROM point_claims")
    assert f"申报编号 {claim_id}" in receipt
    for msg in (to_sec, to_zhao):
        assert msg.photo is not None
        assert f"积分申报 第 {claim_id} 号" in msg.text and "张三" in msg.text
        assert "讲授党课" in msg.text and "医者初心" in msg.text
        assert {"✅ 批准", "❌ 拒绝", "✏️ 调整分值"} <= set(msg.button_texts)
    # The secretary's menu shows the pending count.
    await sec.send("/start")
    menu = await sec.wait_reply()
    assert "有 1 条积分申报待审核" in menu.text
    await sec.press(to_sec, "批准")
    assert (await sec.wait_callback_answer()).text == "已批准。"
    told = await zhang.wait_reply()
    await pbot.settled()
    assert f"第 {claim_id} 号申报" in told.text and "审核通过：+2 分" in told.text
    assert "已由 王书记 批准" in to_sec.text
    assert await pbot.scalar("SELECT points FROM point_ledger WHERE claim_id = :c", c=claim_id) == 2
    # The committee member's copy is now stale: a second decision is refused.
    await zhao.press(to_zhao, "批准")
    answer = await zhao.wait_callback_answer()
    assert answer.show_alert and "已由 王书记 处理" in (answer.text or "")
    # A double tap of the secretary is refused as well; still one ledger entry.
    await sec.press_raw(to_sec.message_id, f"pt:{claim_id}:ap")
    assert "已由 王书记 处理" in ((await sec.wait_callback_answer()).text or "")
    assert await pbot.scalar("SELECT count(*) FROM point_ledger") == 1
    await sec.send("/pending")
    assert "没有待审核" in (await sec.wait_reply()).text


async def test_rejected_with_reason(pbot: Harness) -> None:
    users = await setup_branch(pbot)
    sec, zhang = users["sec"], users["zhang"]
    await claim(pbot, zhang, "政治学习", "三会一课", "参加支部党员大会集中学习", day="2026-05-12")
    review = await sec.wait_reply()
    await users["zhao"].wait_reply()
    await sec.press(review, "拒绝")
    await sec.wait_callback_answer()
    ask = await sec.wait_reply()
    assert "驳回" in ask.text and "理由" in ask.text
    await sec.send("签到表上没有你的记录")
    done = await sec.wait_reply()
    await pbot.settled()
    assert "已驳回" in done.text
    told = await zhang.wait_reply()
    assert "未通过审核" in told.text and "签到表上没有你的记录" in told.text
    assert "已由 王书记 驳回" in review.text and review.buttons == []
    status = await pbot.scalar("SELECT status FROM point_claims")
    assert status == "rejected"
    assert await pbot.scalar("SELECT count(*) FROM point_ledger") == 0


async def test_adjusted_points(pbot: Harness) -> None:
    users = await setup_branch(pbot)
    sec, zhang = users["sec"], users["zhang"]
    await claim(pbot, zhang, "参与活动", "主题党日", "参加五月主题党日活动")
    review = await sec.wait_reply()
    await sec.press(review, "调整分值")
    await sec.wait_callback_answer()
    ask = await sec.wait_reply()
    assert "给多少分" in ask.text
    await sec.send("很多")
    assert "请发送分值数字" in (await sec.wait_reply()).text
    await sec.send("0.5")
    done = await sec.wait_reply()
    await pbot.settled()
    assert "已批准，计 +0.5 分" in done.text
    told = await zhang.wait_reply()
    assert "审核通过：+0.5 分" in told.text
    points = await pbot.scalar("SELECT points FROM point_ledger")
    assert Decimal(str(points)) == Decimal("0.5")


async def test_self_approval_refused(pbot: Harness) -> None:
    users = await setup_branch(pbot)
    sec, zhao = users["sec"], users["zhao"]
    await claim(pbot, sec, "发挥作用", "担任入党积极分子培养联系人", "联系培养积极分子李某")
    to_zhao = await zhao.wait_reply()  # only the other reviewer is asked
    await sec.expect_no_reply(0.2)
    claim_id = await pbot.scalar("SELECT max(id) FROM point_claims")
    # The secretary opens it from /pending and tries to approve it anyway.
    await sec.send("/pending")
    listing = await sec.wait_reply()
    assert f"第 {claim_id} 号" in listing.text
    await sec.press(listing, f"审核第 {claim_id} 号")
    await sec.wait_callback_answer()
    own = await sec.wait_reply()
    await sec.press(own, "批准")
    answer = await sec.wait_callback_answer()
    assert answer.show_alert and "不能审核本人的申报" in (answer.text or "")
    assert await pbot.scalar("SELECT status FROM point_claims") == "pending"
    # A plain member cannot decide at all (forged button).
    await users["li"].press_raw(own.message_id, f"pt:{claim_id}:ap", chat_id=1001)
    answer = await users["li"].wait_callback_answer()
    assert "只有支部书记或有审核权限的支委" in (answer.text or "")
    await zhao.press(to_zhao, "批准")
    assert (await zhao.wait_callback_answer()).text == "已批准。"


async def test_duplicate_claim_refused(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    zhang = users["zhang"]
    await claim(pbot, zhang, "参与活动", "主题党日", "参加主题党日", day="2026-05-10")
    await users["sec"].wait_reply()
    await zhang.send("/claim")
    msg = await zhang.wait_reply()
    await zhang.press(msg, "参与活动")
    items = await zhang.wait_reply()
    await zhang.press(items, "主题党日")
    await zhang.wait_reply()
    await zhang.send("2026-05-10")
    refused = await zhang.wait_reply()
    assert "不能重复申报" in refused.text
    # A future date and a date of a closed window are refused too.
    await zhang.send("2026-06-01")
    assert "日期不能晚于今天" in (await zhang.wait_reply()).text
    await zhang.send("2026-03-20")
    assert "申报已截止" in (await zhang.wait_reply()).text
    await zhang.send("2026-05-11")
    assert "简要说明" in (await zhang.wait_reply()).text
    await zhang.send("/cancel")
    await zhang.wait_reply()
    assert await pbot.scalar("SELECT count(*) FROM point_claims") == 1


async def test_item_cap_applied(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec, zhang = users["sec"], users["zhang"]
    # 参加组织生活会和民主评议: +2, at most 2 a quarter.
    told = []
    for day in ("2026-04-20", "2026-05-08"):
        await claim(pbot, zhang, "参与活动", "组织生活会", f"参加组织生活会 {day}", day=day)
        review = await sec.wait_reply()
        await sec.press(review, "批准")
        await sec.wait_callback_answer()
        told.append(await zhang.wait_reply())
        await pbot.settled()
    first, second = told
    assert "+2 分" in first.text
    assert "审核通过：0 分" in second.text and "2 分中计入 0 分" in second.text
    total = await pbot.scalar("SELECT sum(points) FROM point_ledger")
    assert Decimal(str(total)) == 2


async def test_direct_deduction_and_revocation(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec, zhang, li = users["sec"], users["zhang"], users["li"]
    await sec.send("/grant")
    who = await sec.wait_reply()
    await sec.press(who, "李四")
    await sec.wait_callback_answer()
    indicators = await sec.wait_reply()
    await sec.press(indicators, "遵章守纪")
    items = await sec.wait_reply()
    await sec.press(items, "无故缺席组织生活")
    ask = await sec.wait_reply()
    assert "请发送理由" in ask.text
    await sec.send("5月主题党日无故缺席")
    done = await sec.wait_reply()
    assert "已记录：李四 -2 分" in done.text
    told = await li.wait_reply()
    assert "-2 分" in told.text and "5月主题党日无故缺席" in told.text
    await li.send("/points")
    figures = await li.wait_reply()
    assert "本季度得分：78" in figures.text and "扣分 2" in figures.text
    # A member cannot use /grant.
    await zhang.send("/grant")
    assert "只有支部书记" in (await zhang.wait_reply()).text
    # Revoke an approved claim: compensating entry, the member is told.
    await claim(pbot, zhang, "参与活动", "主题党日", "参加主题党日")
    review = await sec.wait_reply()
    await sec.press(review, "批准")
    await sec.wait_callback_answer()
    await zhang.wait_reply()
    claim_id = await pbot.scalar("SELECT max(id) FROM point_claims")
    await sec.send(f"/revoke {claim_id}")
    ask = await sec.wait_reply()
    assert "撤销" in ask.text and "张三" in ask.text
    await sec.send("活动当天实际请假")
    done = await sec.wait_reply()
    await pbot.settled()
    assert "已撤销" in done.text and "-1" in done.text
    told = await zhang.wait_reply()
    assert "已撤销" in told.text and "活动当天实际请假" in told.text
    rows = await pbot.scalar(
        "SELECT count(*) FROM point_ledger WHERE person_id = :p AND reverses_id IS NOT NULL",
        p=await person_id(pbot, 2001),
    )
    assert rows == 1
    total = await pbot.scalar(
        "SELECT sum(points) FROM point_ledger WHERE person_id = :p", p=await person_id(pbot, 2001)
    )
    assert Decimal(str(total)) == 0
    await sec.send(f"/revoke {claim_id}")
    assert "已撤销过" in (await sec.wait_reply()).text


async def test_points_figures_equal_hand_computation(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    zhang = users["zhang"]
    pid = await person_id(pbot, 2001)
    grants = [
        ("study_three_meetings", date(2026, 4, 3)),  # special +1
        ("study_three_meetings", date(2026, 4, 17)),  # special +1
        ("act_free_clinic", date(2026, 4, 25)),  # special +2
        ("disc_fee_late", date(2026, 4, 30)),  # base -2
        ("ex_honour_city", date(2026, 5, 6)),  # extra +5
        ("ex_honour_province", date(2026, 5, 9)),  # extra +8 → extra block capped at 10
        ("disc_material_overdue", date(2026, 2, 10)),  # Q1: base -1
        ("act_no_show", date(2026, 3, 10)),  # Q1: base -1
    ]
    for n, (key, day) in enumerate(grants):
        await grant(pbot, pid, key, day, str(n))
    # Hand computation: Q2 = (80 - 2) + min(20, 4) + min(10, 13) = 92; Q1 = 78.
    await zhang.send("/points")
    text = (await zhang.wait_reply()).text
    assert "我的积分 — 2026Q2" in text
    assert "本季度得分：92" in text
    assert "基础分：78／80（扣分 2）" in text
    assert "特色加分：4（上限 20）" in text
    assert "附加奖励分：10（上限 10）" in text
    assert "政治学习: +2" in text and "参与活动: +2" in text and "发挥作用: +13" in text
    assert "遵章守纪: -2" in text
    assert "2026Q1: 78" in text and "2026Q2: 92" in text
    assert "年度平均：85 · 累计：170" in text
    await zhang.send("/points history")
    history = (await zhang.wait_reply()).text
    assert "我的积分台账" in history and "获得省级及以上表彰" in history


async def test_quarter_close_with_two_quarter_warning(
    tmp_path: Path, template_db: Path | None
) -> None:
    clock = FrozenClock(datetime(2025, 11, 3, 2, 0, tzinfo=UTC))
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        users = await setup_branch(bot, committee=False)
        sec, zhang, li = users["sec"], users["zhang"], users["li"]
        zhang_id, li_id = await person_id(bot, 2001), await person_id(bot, 2002)

        await grant(bot, zhang_id, "disc_sanctioned", date(2025, 11, 2), "z1")  # -20
        await grant(bot, zhang_id, "disc_sanctioned", date(2025, 11, 3), "z2")  # -20 → 40
        clock.set(datetime(2026, 1, 12, 2, 0, tzinfo=UTC))  # Q4 window over (10 Jan)
        await run_quarter_close(bot.app)
        report = await sec.wait_reply()
        assert "2025Q4 积分已结算" in report.text
        assert "张三 — 40" in report.text and "🔴" not in report.text
        notice = await zhang.wait_reply()
        assert "低于 60 分" in notice.text and "诫勉" not in notice.text
        await li.expect_no_reply(0.1)

        await grant(bot, zhang_id, "disc_sanctioned", date(2026, 2, 2), "z3")  # -20
        await grant(bot, zhang_id, "disc_sanctioned", date(2026, 2, 3), "z4")  # -20 → 40
        await grant(bot, li_id, "disc_sanctioned", date(2026, 2, 2), "l1")  # -20
        await grant(bot, li_id, "perf_medical_dispute", date(2026, 2, 3), "l2")  # -5 → 55
        clock.set(datetime(2026, 4, 11, 2, 0, tzinfo=UTC))
        await run_quarter_close(bot.app)
        report = await sec.wait_reply()
        assert "2026Q1 积分已结算" in report.text
        lines = report.text.splitlines()
        zhang_line = next(line for line in lines if "张三" in line)
        li_line = next(line for line in lines if "李四" in line)
        assert zhang_line.startswith("🔴") and "连续两个季度低于 60 分" in zhang_line
        assert "🔴" not in li_line and "55" in li_line
        assert "诫勉" in (await zhang.wait_reply()).text
        assert "诫勉" not in (await li.wait_reply()).text
        warned = await bot.scalar(
            "SELECT warned FROM point_quarter_scores WHERE quarter = '2026Q1' AND person_id = :p",
            p=zhang_id,
        )
        assert warned
        # Idempotent: running again sends nothing; a closed quarter takes no claims.
        await run_quarter_close(bot.app)
        await sec.expect_no_reply(0.2)
        closes = await bot.scalar("SELECT count(*) FROM point_quarter_closes")
        assert closes == 2
        # System grants are not refused, but the closed quarter's score stays final.
        await grant(bot, zhang_id, "act_no_show", date(2026, 3, 1), "x")
        await zhang.send("/points")
        assert "2026Q1: 40 (最终)" in (await zhang.wait_reply()).text


async def test_overdue_digest_one_message_per_reviewer(pbot: Harness, clock: FrozenClock) -> None:
    users = await setup_branch(pbot)
    sec, zhao = users["sec"], users["zhao"]
    await claim(pbot, users["zhang"], "参与活动", "主题党日", "参加主题党日")
    await claim(pbot, users["li"], "参与活动", "主题党日", "参加主题党日")
    await sec.wait_replies(2)
    await zhao.wait_replies(2)
    await run_overdue_digest(pbot.app)
    await sec.expect_no_reply(0.1)
    clock.advance(timedelta(days=3, hours=1))
    await run_overdue_digest(pbot.app)
    digest = await sec.wait_reply()
    assert "有 2 条积分申报已等待审核超过 3 天" in digest.text
    assert "张三" in digest.text and "李四" in digest.text
    assert "有 2 条" in (await zhao.wait_reply()).text
    await run_overdue_digest(pbot.app)  # same day again: nothing new
    await sec.expect_no_reply(0.2)
    await zhao.expect_no_reply(0.0)
    assert await pbot.scalar("SELECT count(*) FROM point_review_digests") == 2


async def test_ranking_chart_delivered_as_photo(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec = users["sec"]
    await grant(pbot, await person_id(pbot, 2001), "act_free_clinic", date(2026, 5, 1), "1")
    await grant(pbot, await person_id(pbot, 2002), "disc_fee_late", date(2026, 5, 1), "2")
    await users["zhang"].send("/ranking")
    assert "只有支部书记" in (await users["zhang"].wait_reply()).text
    await sec.send("/ranking")
    published = await sec.wait_reply()  # at once; the messages follow once committed
    assert "正在向 4 名党员公示 2026Q2 积分排名" in published.text
    for u in (users["zhang"], users["li"]):
        photo, listing = await u.wait_replies(2)
        assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
        assert "2026Q2 积分排名公示" in photo.text
        assert "1. 张三 — 82" in listing.text and "李四 — 78" in listing.text
    zhang_list = users["zhang"].inbox[-1].text or ""
    assert "您的排名：第 1 名（共 4 人）" in zhang_list
    li_list = users["li"].inbox[-1].text or ""
    assert "您的排名：第 4 名" in li_list
    photo, listing = await sec.wait_replies(2)  # the secretary is a member too
    assert photo.photo is not None and "您的排名" in listing.text
    await pbot.emu.wait_until(lambda: len(pbot.emu.calls("sendPhoto")) == 4)
    uploads = [c for c in pbot.emu.calls("sendPhoto") if c.files]
    assert len(uploads) == 1  # the chart is uploaded once, then sent by file id


async def test_the_bot_answers_while_a_ranking_is_being_published(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec, li = users["sec"], users["li"]
    pbot.emu.inject_fault("sendPhoto", delay=0.8, count=4)  # Telegram pacing a big branch
    await sec.send("/ranking")
    assert "正在向 4 名党员公示" in (await sec.wait_reply()).text
    await li.send("/points")
    while "我的积分" not in (answer := await li.wait_reply(timeout=2.5)).text:
        assert answer.photo is not None or "排名" in answer.text
    photos = sum(1 for u in users.values() for m in u.inbox if m.photo is not None)
    assert photos < 4  # answered in the middle of the publication, not after it
    await pbot.emu.wait_until(
        lambda: sum(1 for u in users.values() for m in u.inbox if m.photo is not None) == 4,
        timeout=10,
    )


async def test_a_ranking_telegram_refused_is_sent_after_a_restart(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> None:
    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            users = await setup_branch(bot, committee=False)
            telegram.inject_fault("sendPhoto", status=502, count=100)  # Telegram down
            await users["sec"].send("/ranking")
            assert "正在向 4 名党员公示" in (await users["sec"].wait_reply()).text
            await telegram.wait_until(lambda: len(telegram.calls("sendPhoto")) >= 4)
            for tid in (2001, 2002):  # the listings went out; the charts did not
                assert "积分排名" in (await bot.user(tid, "").wait_reply()).text
        # The bot stops with the charts undelivered; the outbox has kept them.
        assert await _count_pending(url) == 4
        telegram.clear_faults()
        clock.advance(timedelta(minutes=2))  # past the retry backoff
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            assert await drain(bot.app) == 4
            for tid in (2001, 2002):
                chart = await bot.user(tid, "").wait_reply()
                assert chart.photo is not None and "积分排名公示" in chart.text
            assert await drain(bot.app) == 0  # each once
            assert len([c for c in telegram.calls("sendPhoto") if c.files]) >= 1


async def _count_pending(url: str) -> int:
    from sqlalchemy import text

    from store.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            return int(
                (
                    await session.execute(
                        text("SELECT count(*) FROM deliveries WHERE status <> 'sent'")
                    )
                ).scalar_one()
            )
    finally:
        await db.dispose()


async def test_secretary_sets_the_scheme_in_chat(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec, zhang = users["sec"], users["zhang"]
    await sec.send("/scheme")
    shown = (await sec.wait_reply()).text
    assert "基础分：80 · 特色加分上限：20 · 附加奖励分上限：10" in shown
    assert "每季度结束后 10 天内" in shown and "/scheme special 20" in shown
    await sec.send("/scheme 特色加分 15")
    saved = (await sec.wait_reply()).text
    assert saved.startswith("✅ 已保存") and "特色加分上限：15" in saved
    await sec.send("/scheme window 7.5")
    assert "申报期须为整数天" in (await sec.wait_reply()).text
    await sec.send("/scheme base 120")
    assert "数值须在 0 至 100 之间" in (await sec.wait_reply()).text
    await sec.send("/scheme bonus lots")
    assert "无法识别您的输入" in (await sec.wait_reply()).text
    await zhang.send("/scheme special 50")
    assert "只有支部书记" in (await zhang.wait_reply()).text
    await zhang.send("/points")
    assert "特色加分：0（上限 15）" in (await zhang.wait_reply()).text
    assert await pbot.scalar("SELECT count(*) FROM audit_log WHERE action = 'points.settings'") == 1


async def test_export_points_xlsx(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec = users["sec"]
    zhang_id = await person_id(pbot, 2001)
    await grant(pbot, zhang_id, "ex_honour_city", date(2026, 5, 1), "1")
    await grant(pbot, zhang_id, "disc_fee_late", date(2026, 4, 28), "2")
    await users["zhang"].send("/export points")
    assert "XLSX" not in ((await users["zhang"].wait_reply()).text or "")
    await sec.send("/export points 2026Q2")
    doc = await sec.wait_reply()
    assert doc.document is not None
    name, _, data = doc.document
    assert name == "points-2026Q2.xlsx"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["积分台账", "季度得分", "分指标"]
    ledger = list(wb["积分台账"].iter_rows(values_only=True))
    assert ledger[0][:3] == ("序号", "党员", "日期")
    assert len(ledger) == 3 and {r[1] for r in ledger[1:]} == {"张三"}
    assert sorted(float(r[6]) for r in ledger[1:]) == [-2.0, 5.0]
    scores = {r[1]: r for r in wb["季度得分"].iter_rows(min_row=2, values_only=True)}
    assert float(scores["张三"][6]) == 83 and float(scores["李四"][6]) == 80
    assert scores["张三"][0] == 1
    per = list(wb["分指标"].iter_rows(values_only=True))
    assert per[0][1:] == ("政治学习", "遵章守纪", "参与活动", "岗位履职", "发挥作用")
    zhang_row = next(r for r in per if r[0] == "张三")
    assert float(zhang_row[2]) == -2 and float(zhang_row[5]) == 5


async def test_catalogue_edit_in_chat(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec, zhang = users["sec"], users["zhang"]
    zhang_id = await person_id(pbot, 2001)
    await grant(pbot, zhang_id, "act_theme_party_day", date(2026, 5, 1), "1")
    await sec.send("/catalogue")
    home = await sec.wait_reply()
    await sec.press(home, "参与活动")
    listing = await sec.wait_reply()
    assert "参加主题党日活动 <b>+1</b>" in (listing.raw_text or "")
    await sec.press(listing, "参加主题党日活动")
    detail = await sec.wait_reply()
    await sec.press(detail, "修改分值")
    await sec.wait_reply()
    await sec.send("1.5")
    saved = await sec.wait_reply()
    await pbot.settled()
    assert "已保存" in saved.text and "+1.5" in saved.text
    # Points already granted keep their value.
    assert await pbot.scalar("SELECT points FROM point_ledger") == 1
    await sec.press(saved, "停用")
    await sec.wait_callback_answer()
    await sec.wait_edit(saved)
    assert "已停用" in saved.text
    await zhang.send("/claim")
    msg = await zhang.wait_reply()
    await zhang.press(msg, "参与活动")
    items = await zhang.wait_reply()
    assert not any("主题党日" in b for b in items.button_texts)
    await zhang.send("/cancel")
    await zhang.wait_reply()
    # A member cannot use catalogue buttons.
    await zhang.press_raw(
        msg.message_id, f"cat:{await pbot.scalar('SELECT min(id) FROM point_items')}:ret"
    )
    assert "只有支部书记" in ((await zhang.wait_callback_answer()).text or "")
    # Add an item.
    await sec.press(home, "新增积分项目")
    await sec.wait_callback_answer()
    ask = await sec.wait_reply()
    await sec.press(ask, "岗位履职")
    blocks = await sec.wait_reply()
    await sec.press(blocks, "特色加分")
    await sec.wait_reply()
    await sec.send("带教规培医师")
    await sec.wait_reply()
    await sec.send("1")
    await sec.wait_reply()
    await sec.send("3")
    added = await sec.wait_reply()
    await pbot.settled()
    assert "项目已新增" in added.text and "带教规培医师" in added.text
    cap = await pbot.scalar("SELECT cap_per_quarter FROM point_items WHERE key LIKE 'custom_%'")
    assert Decimal(str(cap)) == 3


async def test_pending_is_paged_oldest_first(pbot: Harness) -> None:
    users = await setup_branch(pbot, committee=False)
    sec = users["sec"]
    zhang_id = await person_id(pbot, 2001)
    item_id = await pbot.scalar("SELECT id FROM point_items WHERE key = 'act_theme_party_day'")
    from store.models.points import ClaimStatus, PointClaim

    async with pbot.runtime.db.session() as session:  # typed columns: portable
        for n in range(7):
            session.add(
                PointClaim(
                    branch_id=1,
                    person_id=zhang_id,
                    item_id=item_id,
                    occurred_on=date(2026, 5, n + 1),
                    quarter="2026Q2",
                    description=f"第{n}次",
                    status=ClaimStatus.PENDING,
                    # inserted newest-first for some
                    created_at=datetime(2026, 5, 14 - n // 4, n, 0, tzinfo=UTC),
                )
            )
        await session.commit()
    order = [
        r for (r,) in (await _rows(pbot, "SELECT id FROM point_claims ORDER BY created_at, id"))
    ]
    await sec.send("/pending")
    page1 = await sec.wait_reply()
    assert "共 7 条" in page1.text and "第 1/2 页" in page1.text
    shown = [int(line.split(" ")[1]) for line in page1.text.splitlines() if line.startswith("第 ")]
    assert shown == order[:5]
    await sec.press(page1, "下一页")
    await sec.wait_callback_answer()
    page2 = await sec.wait_reply()
    shown = [int(line.split(" ")[1]) for line in page2.text.splitlines() if line.startswith("第 ")]
    assert shown == order[5:] and "第 2/2 页" in page2.text


async def _rows(bot: Harness, sql: str) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    async with bot.runtime.db.session() as session:
        return [tuple(r) for r in (await session.execute(text(sql))).all()]
