"""Reminders end to end with a controlled clock: the real Application polling the local
emulator; the dispatcher is called directly with the FrozenClock's time (the automatic
tick is switched off, except in the test that proves the job itself runs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from telegram import InlineKeyboardButton

from domain.clock import FrozenClock
from domain.membership import BranchInfo
from emulator import EmulatedUser
from scheduler import hooks
from scheduler.dispatcher import ReminderConfig, claim, dispatch_due
from tests.harness import Harness, running_bot, start_app, stop_app

pytestmark = pytest.mark.e2e

# Wednesday 20 May 2026; theme Party day and fee day are Friday 22 May (4th Friday).
START = datetime(2026, 5, 20, 0, 0, tzinfo=UTC)
EVE_1800 = datetime(2026, 5, 21, 10, 0, tzinfo=UTC)  # 18:00 Beijing on the 21st
DAY_0900 = datetime(2026, 5, 22, 1, 0, tzinfo=UTC)  # 09:00 Beijing on the 22nd

MEMBERS = [
    (2001, "张三", "member"),
    (2002, "李四", "probationary"),
    (2003, "王五", "activist"),
]


@pytest.fixture(autouse=True)
def no_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def rbot(
    tmp_path: Path, template_db: Path | None, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def execute(bot: Harness, sql: str, **params: object) -> None:
    async with bot.runtime.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def setup_branch(
    bot: Harness, members: list[tuple[int, str, str]] = MEMBERS
) -> tuple[BranchInfo, dict[int, EmulatedUser]]:
    roster = "name,status,telegram_id\n" + "\n".join(f"{n},{s},{t}" for t, n, s in members)
    names = {**{t: n for t, n, _ in members}, 1001: "王书记"}
    return await bot.branch_with_roster(roster, names)


async def dispatch(bot: Harness, clock: FrozenClock, when: datetime | None = None, **cfg: object):  # type: ignore[no-untyped-def]
    if when is not None:
        clock.set(when)
    config = ReminderConfig(**cfg) if cfg else None  # type: ignore[arg-type]
    return await dispatch_due(bot.runtime, bot.app, clock.now(), config=config)


def texts(u: EmulatedUser) -> list[str]:
    return [m.text or "" for m in u.inbox]


async def test_server_in_utc_reminds_at_nine_beijing_time(
    rbot: Harness, clock: FrozenClock
) -> None:
    _, users = await setup_branch(rbot)
    assert (await dispatch(rbot, clock)).queued == 0
    report = await dispatch(rbot, clock, EVE_1800)
    # Theme day to all four; fee day only to Party members (not the activist).
    assert report.sent == 7
    zhang = texts(users[2001])
    assert any("主题党日" in t and "明天" in t and "2026-05-22（星期五）" in t for t in zhang)
    assert any("党费缴纳日" in t and "明天" in t for t in zhang)
    assert not any("党费" in t for t in texts(users[2003]))
    assert (await dispatch(rbot, clock, DAY_0900 - timedelta(minutes=1))).sent == 0
    report = await dispatch(rbot, clock, DAY_0900)
    assert report.sent == 7
    assert any("主题党日" in t and "今天" in t and "14:30" in t for t in texts(users[2002]))
    due = await rbot.scalar(
        "SELECT due_at FROM reminder_occurrences o JOIN reminder_rules r "
        "ON r.id = o.reminder_id WHERE r.days_before = 0 LIMIT 1"
    )
    assert str(due).startswith("2026-05-22 01:00")
    # Once per (reminder, occurrence, recipient): dispatching again sends nothing.
    assert (await dispatch(rbot, clock, DAY_0900 + timedelta(minutes=5))).sent == 0
    assert len(texts(users[2001])) == 4


async def test_catch_up_within_and_beyond_the_grace_window(
    rbot: Harness, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    _, users = await setup_branch(rbot)
    # The bot was down from before the eve reminder until 12:00 Beijing on the day:
    # the 09:00 reminders (3 h late) go out once; the eve ones (18 h late) are skipped.
    with caplog.at_level(logging.WARNING, logger="scheduler.dispatcher"):
        report = await dispatch(rbot, clock, DAY_0900 + timedelta(hours=3))
    assert report.sent == 7 and report.skipped_occurrences == 2
    assert "beyond the grace window" in caplog.text
    zhang = texts(users[2001])
    assert any("今天" in t for t in zhang) and not any("明天" in t for t in zhang)
    skipped = await rbot.scalar(
        "SELECT count(*) FROM reminder_occurrences WHERE status = 'skipped'"
    )
    assert skipped == 2
    assert (await dispatch(rbot, clock, DAY_0900 + timedelta(hours=4))).sent == 0
    assert len(texts(users[2001])) == 2


async def test_restart_in_the_middle_of_a_broadcast(rbot: Harness, clock: FrozenClock) -> None:
    members = [(3000 + i, f"党员{i:02d}", "member") for i in range(30)]
    _, users = await setup_branch(rbot, members)
    clock.set(DAY_0900)
    config = ReminderConfig(rate_per_second=40, batch_size=5)
    # Started by the application (as its job queue does), so stopping waits for the batch
    # in flight; what was not handed to Telegram goes back to the queue.
    task = rbot.app.create_task(dispatch_due(rbot.runtime, rbot.app, clock.now(), config=config))
    await rbot.emu.wait_until(lambda: len(rbot.emu.calls("sendMessage")) >= 15, timeout=10)
    await stop_app(rbot.app)  # a graceful restart: the batch in flight finishes
    first = await task
    assert first.stopped_early and 15 <= first.sent < 62
    assert await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='sending'") == 0
    assert await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='pending'") > 0
    app = await start_app(rbot.runtime)
    try:
        second = await dispatch_due(rbot.runtime, app, clock.now(), config=config)
    finally:
        await stop_app(app)
    assert first.sent + second.sent == 62 and second.recovered_unknown == 0
    for tid, _, _ in members:
        got = texts(users[tid])
        assert len(got) == 2, (tid, got)
        assert sum("主题党日" in t for t in got) == 1 and sum("党费" in t for t in got) == 1
    assert await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='sent'") == 62


async def test_crash_window_is_recorded_as_unknown_and_never_resent(
    rbot: Harness, clock: FrozenClock
) -> None:
    _, users = await setup_branch(rbot)
    clock.set(EVE_1800)
    # Telegram accepts the first message but the answer never comes back.
    rbot.emu.inject_fault("sendMessage", drop_connection=True, after_effect=True)
    report = await dispatch(rbot, clock)
    assert report.unknown == 1 and report.sent == 6
    assert await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='unknown'") == 1
    # A crash after claiming (rows left in "sending"): simulate it, then restart.
    report = await dispatch(rbot, clock, DAY_0900, rate_per_second=1000)
    assert report.sent == 7
    await execute(
        rbot,
        "UPDATE reminder_outbox SET status='pending', claim_token=NULL "
        "WHERE id IN (SELECT id FROM reminder_outbox WHERE status='sent' "
        "ORDER BY id DESC LIMIT 2)",
    )
    claimed = await claim(rbot.runtime, "deadbeef0000-1", clock.now(), 10)
    assert len(claimed) == 2  # …and the process dies here
    sent_before = len(rbot.emu.calls("sendMessage"))
    await stop_app(rbot.app)
    app = await start_app(rbot.runtime)
    try:
        report = await dispatch_due(rbot.runtime, app, clock.now())
        assert report.recovered_unknown == 2 and report.sent == 0
        assert len(rbot.emu.calls("sendMessage")) == sent_before
        assert await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='unknown'") == 3
        # The secretary sees it in /calendar and in /reminders_unknown.
        sec = users[1001]
        sec.skip_pending()
        await sec.send("/calendar")
        msg = await sec.wait_reply()
        assert "3 条提醒可能未送达" in msg.text
        await sec.send("/reminders_unknown")
        listing = await sec.wait_reply()
        assert "不会自动重发" in listing.text and "张三" in listing.text
        await sec.press(listing, "标记为已核实")
        await sec.wait_callback_answer()
        await sec.send("/calendar")
        assert "可能未送达" not in (await sec.wait_reply()).text
        # A member cannot see or clear the list.
        member = users[2001]
        member.skip_pending()
        await member.send("/reminders_unknown")
        assert "只有支部书记" in (await member.wait_reply()).text
    finally:
        await stop_app(app)


async def test_secretary_changes_a_rule_and_it_applies_at_once(
    rbot: Harness, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 5, 10, 2, 0, tzinfo=UTC))
    _, users = await setup_branch(rbot)
    sec = users[1001]
    await sec.send("/calendar")
    cal_msg = await sec.wait_reply()
    assert "2026-05-22（星期五） 14:30 主题党日" in cal_msg.text
    await sec.press(cal_msg, "编辑日历")
    await sec.wait_callback_answer()
    await sec.press(cal_msg, "主题党日")
    await sec.wait_callback_answer()
    assert "每月，第4周的星期五" in cal_msg.text
    await sec.press(cal_msg, "修改日期")
    await sec.wait_callback_answer()
    prompt = await sec.wait_reply()
    assert "4 5 14:30" in prompt.text
    await sec.send("3 5 15:00")  # Friday of week 3 (15 May) at 15:00
    saved = await sec.wait_reply()
    assert "已保存" in saved.text and "第3周的星期五 15:00" in saved.text
    # Reminder times: only on the day at 08:00.
    await sec.press(saved, "提醒时间")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("0 08:00")
    saved = await sec.wait_reply()
    assert "当天 08:00" in saved.text
    # No restart: the next dispatch reads the new rule.
    member = users[2001]
    assert (await dispatch(rbot, clock, datetime(2026, 5, 14, 10, 0, tzinfo=UTC))).sent == 0
    report = await dispatch(rbot, clock, datetime(2026, 5, 15, 0, 0, tzinfo=UTC))
    assert report.sent == 4
    assert any("主题党日" in t and "2026-05-15" in t and "15:00" in t for t in texts(member))
    # Switch the group-meeting reminders off; a member pressing the same button is refused.
    gm_id = await rbot.scalar("SELECT id FROM calendar_rules WHERE kind = 'group_meeting'")
    await member.press_raw(member.inbox[-1].message_id, f"rm:{gm_id}:toggle")
    assert "只有支部书记" in ((await member.wait_callback_answer()).text or "")
    sec.skip_pending()
    await sec.send("/calendar")
    cal_msg = await sec.wait_reply()
    await sec.press(cal_msg, "编辑日历")
    await sec.wait_callback_answer()
    await sec.press(cal_msg, "党小组会")
    await sec.wait_callback_answer()
    await sec.press(cal_msg, "关闭提醒")
    await sec.wait_callback_answer()
    assert "已关闭" in cal_msg.text
    # Group meeting: 3rd Wednesday (20 May) 16:00; its eve reminder would be 19 May 18:00.
    report = await dispatch(rbot, clock, datetime(2026, 5, 19, 10, 0, tzinfo=UTC))
    assert report.queued == 0


async def test_one_off_event_with_its_own_audience(rbot: Harness, clock: FrozenClock) -> None:
    _, users = await setup_branch(rbot)
    sec = users[1001]
    await sec.send("/calendar")
    msg = await sec.wait_reply()
    await sec.press(msg, "添加一次性活动")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("2026-05-27 15:00 <支委>专题学习")
    ask = await sec.wait_reply()
    assert "&lt;" not in ask.text and "<支委>专题学习" in ask.text
    await sec.press(ask, "支部委员会")
    await sec.wait_callback_answer()
    await sec.press(ask, "前一天 18:00")
    await sec.wait_callback_answer()
    assert "已添加" in ask.text
    report = await dispatch(rbot, clock, datetime(2026, 5, 26, 10, 0, tzinfo=UTC))
    assert report.sent == 1
    assert any("<支委>专题学习" in t for t in texts(sec))
    assert not any("专题学习" in t for t in texts(users[2001]))


async def test_mute_and_pause_keep_mandatory_reminders(rbot: Harness, clock: FrozenClock) -> None:
    _, users = await setup_branch(rbot)
    zhang, li = users[2001], users[2002]
    await zhang.send("/mute")
    msg = await zhang.wait_reply()
    assert "你会收到全部提醒" in msg.text
    await zhang.press(msg, "静音可选提醒")
    await zhang.wait_callback_answer()
    assert "可选提醒已静音" in msg.text
    await li.send("/mute")
    msg = await li.wait_reply()
    await li.press(msg, "暂停到某日")
    await li.wait_callback_answer()
    await li.wait_reply()
    await li.send("2026-05-21")
    paused = await li.wait_reply()
    assert "暂停到 2026-05-21" in paused.text
    zhang.skip_pending()
    li.skip_pending()
    await dispatch(rbot, clock, EVE_1800)
    # Fee day (mandatory) arrives; the theme day reminder does not.
    for u in (zhang, li):
        assert any("党费缴纳日" in t and "明天" in t for t in texts(u))
        assert not any("主题党日" in t and "明天" in t for t in texts(u))
    muted = await rbot.scalar("SELECT count(*) FROM reminder_outbox WHERE status='muted'")
    assert muted == 2
    # The pause ended on the 21st: on the 22nd Li gets the theme day again, Zhang does not.
    await dispatch(rbot, clock, DAY_0900)
    assert any("主题党日" in t and "今天" in t for t in texts(li))
    assert not any("主题党日" in t for t in texts(zhang))


async def test_blocked_user_is_marked_and_skipped(rbot: Harness, clock: FrozenClock) -> None:
    _, users = await setup_branch(rbot)
    wang = users[2003]
    wang.block()
    report = await dispatch(rbot, clock, EVE_1800)
    assert report.blocked == 1 and report.sent == 6
    assert await rbot.scalar(
        "SELECT blocked_at IS NOT NULL FROM telegram_accounts WHERE telegram_user_id = 2003"
    )
    attempts = [c for c in rbot.emu.calls("sendMessage") if c.params.get("chat_id") == 2003]
    report = await dispatch(rbot, clock, DAY_0900)
    assert report.sent == 6 and report.blocked == 0
    again = [c for c in rbot.emu.calls("sendMessage") if c.params.get("chat_id") == 2003]
    assert len(again) == len(attempts) == 1  # not retried, not tried again
    assert (
        await rbot.scalar(
            "SELECT status FROM reminder_outbox WHERE telegram_user_id = 2003 "
            "ORDER BY id DESC LIMIT 1"
        )
        == "blocked"
    )


async def test_fee_extra_and_owed_reports_only(rbot: Harness, clock: FrozenClock) -> None:
    async def fee_extra(svc, person_id, day, t):  # type: ignore[no-untyped-def]
        return hooks.ReminderExtra(
            lines=[f"应缴 ¥{person_id}.00"],
            buttons=[[InlineKeyboardButton("已缴", callback_data=f"fee:{person_id}:paid")]],
        )

    async def owed(svc, branch_id, deadline):  # type: ignore[no-untyped-def]
        return set()  # nobody owes the quarter's report

    real_filter = hooks.AUDIENCE_FILTERS.get("report_quarterly")
    real_extras = list(hooks.REMINDER_EXTRAS.get("fee_day", []))
    hooks.REMINDER_EXTRAS["fee_day"] = [fee_extra]  # only the stand-in, for exact texts
    hooks.register_audience("report_quarterly", owed)
    try:
        _, users = await setup_branch(rbot)
        await dispatch(rbot, clock, EVE_1800)
        fee = next(m for m in users[2001].inbox if "党费缴纳日" in (m.text or ""))
        assert "应缴 ¥" in (fee.text or "") and fee.button_texts == ["已缴"]
        # 14 days before 30 June, 09:00 Beijing: report reminders only to those who owe.
        # Nobody owes the quarterly report; the half-yearly one has no filter: the activist.
        report = await dispatch(rbot, clock, datetime(2026, 6, 16, 1, 0, tzinfo=UTC))
        assert report.sent == 1
        assert any("思想汇报截止（入党积极分子" in t for t in texts(users[2003]))
        assert not any("思想汇报" in t for t in texts(users[2002]))
    finally:
        hooks.REMINDER_EXTRAS["fee_day"] = real_extras
        if real_filter is not None:
            hooks.AUDIENCE_FILTERS["report_quarterly"] = real_filter
        else:
            del hooks.AUDIENCE_FILTERS["report_quarterly"]
    report = await dispatch(rbot, clock, datetime(2026, 6, 27, 1, 0, tzinfo=UTC))
    assert report.sent == 2  # 3 days before, no filter: the probationary member and activist
    assert any("思想汇报" in t and "3 天" in t for t in texts(users[2002]))


@pytest.fixture
def fast_tick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0.2")
    yield


async def test_the_job_queue_tick_sends_with_the_frozen_clock(
    fast_tick: None, tmp_path: Path, template_db: Path | None
) -> None:
    clock = FrozenClock(START)
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        _, users = await setup_branch(bot)
        clock.set(EVE_1800)
        msgs = await users[2001].wait_replies(2, timeout=10)
        assert {("主题党日" in m.text) for m in msgs if m.text} == {True, False}
        job = bot.app.job_queue.get_jobs_by_name("reminders.dispatch")[0]  # type: ignore[union-attr]
        assert job.job.misfire_grace_time is None and job.job.coalesce is True
    assert date(2026, 5, 22).weekday() == 4


async def test_many_calendar_entries_are_listed_a_page_at_a_time(
    rbot: Harness, clock: FrozenClock
) -> None:
    from domain.calendar import AUDIENCE_ALL

    _, users = await setup_branch(rbot)
    sec = users[1001]
    async with rbot.uow() as svc:
        viewer = await svc.membership.viewer_of(1001)
        for n in range(40):  # a few years of branch meetings
            await svc.reminders.add_one_off(
                viewer,
                on_date=date(2026, 6, 1) + timedelta(days=n),
                event_time="15:00",
                title=f"支委会{n:02d}",
                audience=AUDIENCE_ALL,
                reminders=[(1, "09:00")],
            )
    await sec.send("/calendar")
    cal_msg = await sec.wait_reply()
    await sec.press(cal_msg, "编辑日历")
    await sec.wait_callback_answer()
    assert len(cal_msg.button_texts) <= 100
    assert "下一页 ▶" in cal_msg.button_texts and "支委会39" not in cal_msg.button_texts
    await sec.press(cal_msg, "下一页 ▶")
    await sec.wait_callback_answer()
    assert "支委会39" in cal_msg.button_texts and "◀ 上一页" in cal_msg.button_texts
    assert any("➕" in t for t in cal_msg.button_texts)  # adding stays on every page
